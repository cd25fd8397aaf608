package lockedfile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOpenLocksTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	f, err := Create(path, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Open(path, os.O_RDONLY); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	rp, err := Resolve(link)
	if err != nil || rp != path {
		t.Fatalf("Resolve(link) = %q, %v; want %q", rp, err, path)
	}
	if _, err := Open(link, os.O_RDONLY); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open through a link = %v, want ErrLocked", err)
	}
	if _, err := Create(path, nil); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over a file = %v, want ErrExist", err)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	f, err := Create(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Check(); err != nil {
		t.Fatalf("Check of an intact file: %v", err)
	}
	other := filepath.Join(dir, "g")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(); !errors.Is(err, ErrReplaced) {
		t.Fatalf("Check after replacement = %v, want ErrReplaced", err)
	}
	g, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := f.Same(g); !errors.Is(err, ErrReplaced) {
		t.Fatalf("Same(another file) = %v, want ErrReplaced", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(); !errors.Is(err, ErrReplaced) {
		t.Fatalf("Check after deletion = %v, want ErrReplaced", err)
	}
}

func TestResolveDanglingLink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "missing"), link); err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(link); err == nil {
		t.Fatal("Resolve of a dangling link succeeded: a file created there would bypass the link's lock")
	}
}

// OpenWait waits for the holder; a renamed-over file is opened afresh.
func TestOpenWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := Create(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := OpenWait(ctx, path, os.O_RDONLY); !errors.Is(err, ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("OpenWait on a held lock = %v, want ErrLocked and the deadline", err)
	}
	done := make(chan error, 1)
	go func() {
		g, err := OpenWait(context.Background(), path, os.O_RDONLY)
		if err == nil {
			g.Close()
		}
		done <- err
	}()
	f.Close()
	if err := <-done; err != nil {
		t.Fatalf("OpenWait after release: %v", err)
	}
}
