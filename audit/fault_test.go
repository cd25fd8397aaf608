package audit

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// faultyFile wraps the log's file to fail on demand.
type faultyFile struct {
	file
	mu          sync.Mutex // the background syncer reads the fields
	writeErr    error      // returned by Write after writing half the bytes
	syncErr     error
	truncateErr error
	synced      chan struct{} // receives after every Sync, if set
	wrote       chan struct{} // receives after every Write, if set
	entered     chan struct{} // receives when Sync starts, if set
	gate        chan error    // Sync waits for its result here, if set
}

// set changes the faults under the lock.
func (f *faultyFile) set(change func(f *faultyFile)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *faultyFile) Write(b []byte) (int, error) {
	f.mu.Lock()
	werr := f.writeErr
	f.mu.Unlock()
	if werr != nil {
		n, _ := f.file.Write(b[:len(b)/2])
		return n, werr
	}
	n, err := f.file.Write(b)
	if f.wrote != nil {
		f.wrote <- struct{}{}
	}
	return n, err
}

func (f *faultyFile) Sync() error {
	f.mu.Lock()
	serr, synced := f.syncErr, f.synced
	f.mu.Unlock()
	if f.gate != nil {
		f.entered <- struct{}{}
		serr = <-f.gate
	}
	if serr != nil {
		return serr
	}
	err := f.file.Sync()
	if synced != nil {
		synced <- struct{}{}
	}
	return err
}

func (f *faultyFile) Truncate(n int64) error {
	f.mu.Lock()
	terr := f.truncateErr
	f.mu.Unlock()
	if terr != nil {
		return terr
	}
	return f.file.Truncate(n)
}

func faultyLog(t *testing.T, opts ...Option) (string, *Log, *faultyFile) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	ff := &faultyFile{}
	opts = append(opts, WithLogger(slog.New(slog.DiscardHandler)), func(c *config) {
		c.wrap = func(f file) file { ff.file = f; return ff }
	})
	l, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return path, l, ff
}

func testRecord(intent string) *Record {
	return &Record{Credential: "bot", Venue: "binance", Class: "trade", Intent: intent, Decision: Allow}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func verifyCount(t *testing.T, path string, want int) {
	t.Helper()
	rep, err := VerifyFiles(context.Background(), path)
	if err != nil || rep.Records != want {
		t.Errorf("VerifyFiles = %+v, %v; want %d records", rep, err, want)
	}
}

func TestPartialWriteIsTruncated(t *testing.T) {
	ctx := context.Background()
	path, l, ff := faultyLog(t)
	if err := l.Append(ctx, testRecord("one")); err != nil {
		t.Fatal(err)
	}
	head, size := l.Head(), fileSize(t, path)

	ff.set(func(f *faultyFile) { f.writeErr = errors.New("disk full") })
	r := testRecord("two")
	err := l.Append(ctx, r)
	var we *WriteError
	if !errors.Is(err, ErrWrite) || !errors.As(err, &we) || we.Op != "write" {
		t.Fatalf("Append = %v, want a write *WriteError", err)
	}
	if l.Head() != head || r.Seq != 0 || !r.Hash.IsZero() {
		t.Errorf("failed Append advanced state: head %+v record %+v", l.Head(), r)
	}
	if got := fileSize(t, path); got != size {
		t.Errorf("file is %d bytes after a failed write, want %d", got, size)
	}

	ff.set(func(f *faultyFile) { f.writeErr = nil })
	if err := l.Append(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.Seq != 2 {
		t.Errorf("Seq = %d, want 2", r.Seq)
	}
	l.Close()
	verifyCount(t, path, 2)
}

func TestUntruncatablePartialWriteStopsLog(t *testing.T) {
	ctx := context.Background()
	_, l, ff := faultyLog(t)
	ff.set(func(f *faultyFile) { f.writeErr = errors.New("disk full") })
	ff.set(func(f *faultyFile) { f.truncateErr = errors.New("read-only file system") })
	if err := l.Append(ctx, testRecord("one")); !errors.Is(err, ErrWrite) {
		t.Fatalf("Append = %v, want ErrWrite", err)
	}
	ff.set(func(f *faultyFile) { f.writeErr, f.truncateErr = nil, nil })
	if err := l.Append(ctx, testRecord("two")); !errors.Is(err, ErrWrite) {
		t.Errorf("Append after a partial record = %v, want ErrWrite: appending would break the chain", err)
	}
	if l.Head().Seq != 0 {
		t.Errorf("head advanced: %+v", l.Head())
	}
}

func TestSyncFailure(t *testing.T) {
	ctx := context.Background()
	path, l, ff := faultyLog(t)
	if err := l.Append(ctx, testRecord("one")); err != nil {
		t.Fatal(err)
	}
	head, size := l.Head(), fileSize(t, path)
	ff.set(func(f *faultyFile) { f.syncErr = errors.New("EIO") })
	var we *WriteError
	if err := l.Append(ctx, testRecord("two")); !errors.As(err, &we) || we.Op != "sync" {
		t.Fatalf("Append = %v, want a sync *WriteError", err)
	}
	if l.Head() != head || fileSize(t, path) != size {
		t.Errorf("after a failed fsync: head %+v size %d, want %+v %d", l.Head(), fileSize(t, path), head, size)
	}
	ff.set(func(f *faultyFile) { f.syncErr = nil })
	if err := l.Append(ctx, testRecord("three")); !errors.Is(err, ErrWrite) {
		t.Errorf("Append after a failed fsync = %v, want ErrWrite until reopened", err)
	}
	l.Close()
	verifyCount(t, path, 1)

	l2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.Append(ctx, testRecord("four")); err != nil {
		t.Errorf("Append after reopen: %v", err)
	}
	l2.Close()
	verifyCount(t, path, 2)
}

func TestClosedFileDescriptor(t *testing.T) {
	ctx := context.Background()
	path, l, ff := faultyLog(t)
	if err := l.Append(ctx, testRecord("one")); err != nil {
		t.Fatal(err)
	}
	head := l.Head()
	if err := ff.file.(*os.File).Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, testRecord("two")); !errors.Is(err, ErrWrite) || !errors.Is(err, os.ErrClosed) {
		t.Errorf("Append to a closed fd = %v, want ErrWrite wrapping os.ErrClosed", err)
	}
	if l.Head() != head {
		t.Errorf("head advanced: %+v", l.Head())
	}
	verifyCount(t, path, 1)
}

func TestReadOnlyDescriptor(t *testing.T) {
	ctx := context.Background()
	path, l, ff := faultyLog(t)
	ro, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	real := ff.file
	ff.file = ro
	t.Cleanup(func() { real.Close() })
	if err := l.Append(ctx, testRecord("one")); !errors.Is(err, ErrWrite) {
		t.Errorf("Append on a read-only fd = %v, want ErrWrite", err)
	}
	if l.Head().Seq != 0 {
		t.Errorf("head advanced: %+v", l.Head())
	}
}

func TestRotationFailure(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l, err := Open(ctx, path, WithMaxSize(300))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append(ctx, testRecord("one")); err != nil {
		t.Fatal(err)
	}
	// Occupy the name the next rotation needs.
	blocker := rotatedName(path, 1)
	if err := os.Mkdir(blocker, 0o700); err != nil {
		t.Fatal(err)
	}
	head := l.Head()
	if err := l.Append(ctx, testRecord("two")); !errors.Is(err, ErrWrite) {
		t.Fatalf("Append with rotation blocked = %v, want ErrWrite", err)
	}
	if l.Head() != head {
		t.Errorf("head advanced: %+v", l.Head())
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, testRecord("three")); err != nil {
		t.Fatalf("Append after unblocking: %v", err)
	}
	l.Close()
	files, err := Files(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := VerifyFiles(ctx, files...)
	if err != nil || rep.Records != 2 || len(files) != 2 {
		t.Errorf("VerifyFiles(%v) = %+v, %v; want 2 records in 2 files", files, rep, err)
	}
}

func TestSyncIntervalTicks(t *testing.T) {
	ctx := context.Background()
	tick := make(chan time.Time)
	synced := make(chan struct{}, 1)
	_, l, ff := faultyLog(t, SyncInterval(time.Hour), func(c *config) { c.tick = tick })
	ff.set(func(f *faultyFile) { f.synced = synced })

	if err := l.Append(ctx, testRecord("one")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-synced:
		t.Fatal("SyncInterval synced inside Append")
	default:
	}
	tick <- time.Now()
	<-synced // the background syncer flushed the record

	// A tick with nothing new to flush does not sync.
	tick <- time.Now()
	tick <- time.Now() // the loop has handled the previous tick
	select {
	case <-synced:
		t.Error("synced a clean file")
	default:
	}

	// A failing background fsync stops the syncer and further appends.
	ff.set(func(f *faultyFile) { f.syncErr = errors.New("EIO") })
	if err := l.Append(ctx, testRecord("two")); err != nil {
		t.Fatal(err)
	}
	select {
	case tick <- time.Now():
	case <-l.done: // the tick in flight already failed
	}
	<-l.done
	if err := l.Append(ctx, testRecord("three")); !errors.Is(err, ErrWrite) {
		t.Errorf("Append after a failed background fsync = %v, want ErrWrite", err)
	}
}

// gatedLog returns a SyncEvery log whose fsyncs wait for the test.
func gatedLog(t *testing.T) (string, *Log, *faultyFile) {
	path, l, ff := faultyLog(t)
	ff.wrote = make(chan struct{})
	ff.entered = make(chan struct{})
	ff.gate = make(chan error)
	return path, l, ff
}

func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	path, l, ff := gatedLog(t)
	errs := make(chan error, 3)
	appendAsync := func(intent string) {
		go func() { errs <- l.Append(ctx, testRecord(intent)) }()
	}

	appendAsync("a")
	<-ff.wrote
	<-ff.entered // a is fsyncing without the lock
	appendAsync("b")
	<-ff.wrote
	appendAsync("c")
	<-ff.wrote
	ff.gate <- nil // a's fsync covers a only
	<-ff.entered   // one fsync for both b and c
	ff.gate <- nil
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-ff.entered:
		t.Fatal("a third fsync for three appends")
	default:
	}
	if l.Head().Seq != 3 {
		t.Errorf("head = %+v, want seq 3", l.Head())
	}
	ff.gate = nil
	l.Close()
	verifyCount(t, path, 3)
}

func TestGroupCommitFailure(t *testing.T) {
	ctx := context.Background()
	path, l, ff := gatedLog(t)
	errs := make(chan error, 2)

	go func() { errs <- l.Append(ctx, testRecord("a")) }()
	<-ff.wrote
	<-ff.entered
	ff.gate <- nil
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	head, size := l.Head(), fileSize(t, path)

	go func() { errs <- l.Append(ctx, testRecord("b")) }()
	<-ff.wrote
	<-ff.entered // b is fsyncing
	go func() { errs <- l.Append(ctx, testRecord("c")) }()
	<-ff.wrote // c is written and waits for b's fsync
	ff.gate <- errors.New("EIO")
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrWrite) {
			t.Errorf("Append = %v, want ErrWrite", err)
		}
	}
	if l.Head() != head || fileSize(t, path) != size {
		t.Errorf("after a failed group fsync: head %+v, %d bytes; want %+v, %d bytes", l.Head(), fileSize(t, path), head, size)
	}
	ff.gate = nil
	l.Close()
	verifyCount(t, path, 1)
}
