package audit_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/audit"
)

// Attack: the audit log deleted while the bot runs. The next Append must
// fail, not write into the deleted file.
func TestAppendFailsAfterLogDeleted(t *testing.T) {
	path, l := openLog(t, audit.WithLogger(slog.New(slog.DiscardHandler)))
	appendN(t, l, 0, 2)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	err := l.Append(context.Background(), record(2))
	if !errors.Is(err, audit.ErrReplaced) || !errors.Is(err, audit.ErrWrite) {
		t.Fatalf("Append after deletion = %v, want ErrReplaced and ErrWrite", err)
	}
	var we *audit.WriteError
	if !errors.As(err, &we) {
		t.Fatalf("Append after deletion: %T, want *WriteError", err)
	}
	if !strings.Contains(err.Error(), "find out what removed or replaced the log file") {
		t.Errorf("error %q does not say what to do", err)
	}
	// It stays refused.
	if err := l.Append(context.Background(), record(3)); !errors.Is(err, audit.ErrReplaced) {
		t.Fatalf("second Append after deletion = %v, want ErrReplaced", err)
	}
}

// A log file replaced by another while open fails the next Append too.
func TestAppendFailsAfterLogReplaced(t *testing.T) {
	path, l := openLog(t, audit.WithLogger(slog.New(slog.DiscardHandler)))
	appendN(t, l, 0, 2)
	other := path + ".copy"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(context.Background(), record(2)); !errors.Is(err, audit.ErrReplaced) {
		t.Fatalf("Append after replacement = %v, want ErrReplaced", err)
	}
}

// A second Log through a symbolic link meets the same lock.
func TestOpenLockedThroughSymlink(t *testing.T) {
	path, _ := openLog(t)
	link := filepath.Join(filepath.Dir(path), "link.jsonl")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Open(context.Background(), link); !errors.Is(err, audit.ErrLocked) {
		t.Fatalf("Open through a symlink = %v, want ErrLocked", err)
	}
}

// The lock is on the log file itself: removing a side lock file admits no
// second writer.
func TestOpenLockedAfterLockFileRemoved(t *testing.T) {
	path, _ := openLog(t)
	os.Remove(path + ".lock")
	if _, err := audit.Open(context.Background(), path); !errors.Is(err, audit.ErrLocked) {
		t.Fatalf("second Open after removing the lock file = %v, want ErrLocked", err)
	}
}

// After a rotation the new active file is locked as well.
func TestOpenLockedAfterRotation(t *testing.T) {
	path, l := openLog(t, audit.WithMaxSize(1500))
	appendN(t, l, 0, 10)
	if _, err := os.Stat(path + ".000001"); err != nil {
		t.Fatalf("no rotation happened: %v", err)
	}
	if _, err := audit.Open(context.Background(), path); !errors.Is(err, audit.ErrLocked) {
		t.Fatalf("Open after rotation = %v, want ErrLocked", err)
	}
	appendN(t, l, 10, 2)
	if _, err := audit.VerifyFiles(context.Background(), mustFiles(t, path)...); err != nil {
		t.Fatal(err)
	}
}

func mustFiles(t *testing.T, path string) []string {
	t.Helper()
	files, err := audit.Files(path)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Since reports the records after an anchor, and refuses one the log does
// not hold.
func TestSince(t *testing.T) {
	_, l := openLog(t, audit.WithMaxSize(1500))
	appendN(t, l, 0, 4)
	mid := l.Head()
	appendN(t, l, 4, 6)
	ctx := context.Background()
	var seqs []uint64
	if err := l.Since(ctx, mid, func(r *audit.Record) error { seqs = append(seqs, r.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 6 || seqs[0] != 5 || seqs[5] != 10 {
		t.Fatalf("Since(seq 4) = %v, want 5..10", seqs)
	}
	n := 0
	if err := l.Since(ctx, audit.Anchor{}, func(*audit.Record) error { n++; return nil }); err != nil || n != 10 {
		t.Fatalf("Since(zero) = %d records, %v; want 10", n, err)
	}
	wrong := mid
	wrong.Hash[0] ^= 1
	if err := l.Since(ctx, wrong, func(*audit.Record) error { return nil }); !errors.Is(err, audit.ErrNoAnchor) {
		t.Fatalf("Since(wrong hash) = %v, want ErrNoAnchor", err)
	}
	if err := l.Since(ctx, audit.Anchor{Seq: 11, Hash: mid.Hash}, func(*audit.Record) error { return nil }); !errors.Is(err, audit.ErrNoAnchor) {
		t.Fatalf("Since(past the end) = %v, want ErrNoAnchor", err)
	}
}
