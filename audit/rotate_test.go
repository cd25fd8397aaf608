package audit_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/keyfence/keyfence/audit"
)

// rotatedLog writes n records to a log that rotates every maxSize bytes
// and returns its files in order.
func rotatedLog(t *testing.T, n int, maxSize int64) (string, []string) {
	t.Helper()
	path, l := openLog(t, audit.WithMaxSize(maxSize))
	appendN(t, l, 0, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := audit.Files(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, files
}

func TestRotationKeepsChain(t *testing.T) {
	const maxSize = 1200
	path, files := rotatedLog(t, 20, maxSize)
	if len(files) < 4 {
		t.Fatalf("files = %v, want several", files)
	}
	want := []string{path + ".000001", path + ".000002", path + ".000003"}
	if !slices.Equal(files[:3], want) || files[len(files)-1] != path {
		t.Errorf("files = %v, want %v ... then %s", files, want, path)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > maxSize {
			t.Errorf("%s has %d bytes, more than %d", f, fi.Size(), maxSize)
		}
	}
	rep, err := audit.VerifyFiles(context.Background(), files...)
	if err != nil || rep.Records != 20 || rep.Files != len(files) {
		t.Errorf("VerifyFiles = %+v, %v", rep, err)
	}

	// Each rotated file alone verifies when anchored to its predecessor.
	prev, err := audit.VerifyFiles(context.Background(), files[0])
	if err != nil {
		t.Fatal(err)
	}
	v := audit.Verifier{After: &prev.Last}
	if _, err := v.VerifyFiles(context.Background(), files[1]); err != nil {
		t.Errorf("second file after the first's head: %v", err)
	}
}

func TestRotationBreaks(t *testing.T) {
	_, files := rotatedLog(t, 20, 1200)
	tests := []struct {
		name  string
		files []string
		file  string // where the break must be reported, at line 1
	}{
		{"missing middle file", slices.Delete(slices.Clone(files), 1, 2), files[2]},
		{"missing first file", files[1:], files[1]},
		{"files swapped", append([]string{files[1], files[0]}, files[2:]...), files[1]},
		{"file repeated", append([]string{files[0], files[0]}, files[1:]...), files[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := audit.VerifyFiles(context.Background(), tt.files...)
			var ce *audit.ChainError
			if !errors.As(err, &ce) || ce.File != tt.file || ce.Line != 1 {
				t.Errorf("VerifyFiles = %v, want a ChainError at %s:1", err, tt.file)
			}
		})
	}

	if _, err := audit.VerifyFiles(context.Background(), files[0], filepath.Join(t.TempDir(), "nope")); err == nil || errors.Is(err, audit.ErrBroken) {
		t.Errorf("VerifyFiles with a nonexistent file = %v, want an open error", err)
	}
}

func TestReopenAfterRotation(t *testing.T) {
	path, files := rotatedLog(t, 10, 1200)
	n := len(files)
	l, err := audit.Open(context.Background(), path, audit.WithMaxSize(1200))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 10, 10)
	l.Close()
	files, err = audit.Files(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) <= n {
		t.Errorf("no rotation after reopen: %v", files)
	}
	if rep, err := audit.VerifyFiles(context.Background(), files...); err != nil || rep.Records != 20 {
		t.Errorf("VerifyFiles = %+v, %v", rep, err)
	}
}

func TestResumeFromRotatedFile(t *testing.T) {
	// A crash between renaming the full file and creating the next one
	// leaves no active file: Open continues from the newest rotated file.
	path, files := rotatedLog(t, 10, 1200)
	last, err := audit.VerifyFiles(context.Background(), files...)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".000099"); err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Head() != last.Last {
		t.Errorf("head = %+v, want %+v", l.Head(), last.Last)
	}
	appendN(t, l, 10, 2)
	l.Close()
	files, _ = audit.Files(path)
	if rep, err := audit.VerifyFiles(context.Background(), files...); err != nil || rep.Records != 12 {
		t.Errorf("VerifyFiles = %+v, %v", rep, err)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	for _, name := range []string{
		"audit.jsonl", "audit.jsonl.lock", "audit.jsonl.1", "audit.jsonl.000001x",
		"audit.jsonl.000010", "audit.jsonl.000002", "audit.jsonl.1000000", "other.jsonl.000003",
	} {
		writeFile(t, filepath.Join(dir, name), "")
	}
	if err := os.Mkdir(filepath.Join(dir, "audit.jsonl.000005"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := audit.Files(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{path + ".000002", path + ".000010", path + ".1000000", path}
	if !slices.Equal(got, want) {
		t.Errorf("Files = %v, want %v", got, want)
	}

	empty, err := audit.Files(filepath.Join(t.TempDir(), "audit.jsonl"))
	if err != nil || len(empty) != 0 {
		t.Errorf("Files of a new log = %v, %v", empty, err)
	}
}
