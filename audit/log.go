package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/internal/lockedfile"
)

// file is what a Log writes to; *os.File implements it. Tests wrap it to
// inject failures.
type file interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Anchor names one record of a chain by its sequence number and hash.
// Keep the Log's Head somewhere the log's writer cannot change, and pass it
// to a Verifier as a Checkpoint to detect records cut from the end.
type Anchor struct {
	Seq  uint64 `json:"seq"`
	Hash Digest `json:"hash"` // zero with Seq 0: the start of a chain
}

// Log appends records to a hash-chained JSON Lines file. It is safe for
// concurrent use. Create it with Open.
type Log struct {
	path string // symbolic links resolved
	cfg  config
	lf   *lockedfile.File // the active file, locked; nil after a failed rotation

	mu      sync.Mutex
	cond    *sync.Cond // on mu: signals the end of an fsync
	f       file       // nil after a failed rotation: reopened by the next Append
	size    int64
	head    Anchor
	nextRot uint64 // number of the next rotated file
	broken  error  // sticky: set when the file may hold a record it should not
	closed  bool

	// Group commit. written counts lines written, synced those known to
	// be on disk; syncedSize and syncedHead describe the file at synced.
	// syncing is set while an Append fsyncs without holding mu; the file
	// is not closed meanwhile.
	written    uint64
	appended   atomic.Uint64 // written, read without mu (Appended)
	synced     uint64
	syncedSize int64
	syncedHead Anchor
	syncing    bool

	// buf holds the line being written; reused across Appends under mu.
	buf []byte
	mac macScratch // MAC input and output, under mu

	stop     chan struct{} // closes the background syncer
	done     chan struct{}
	stopOnce sync.Once
}

// Open opens the log at path for appending, creating it if needed. It
// resumes the chain from the last record of the log's files (see Files),
// after checking that record's hash (and, WithMACKey, its MAC); a torn or
// corrupt tail fails with a *ChainError rather than starting a new chain.
//
// Only one Log may have a path open at a time: Open locks the active file
// itself (flock), after following symbolic links in path, and fails with
// ErrLocked if another holds it. Before every write the Log checks that
// the file it holds is still the one at path; a log file deleted or
// replaced while open fails the Append with ErrReplaced.
func Open(ctx context.Context, path string, opts ...Option) (*Log, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	rp, err := lockedfile.Resolve(path)
	if err != nil {
		return nil, fmt.Errorf("audit: resolve %s: %w", path, err)
	}
	l := &Log{path: rp, cfg: cfg}
	l.cond = sync.NewCond(&l.mu)
	lf, err := l.lockActive()
	if err != nil {
		return nil, err
	}
	l.lf = lf
	if err := l.resume(ctx); err != nil {
		lf.Close()
		return nil, err
	}
	if err := l.openActive(); err != nil {
		l.lf.Close()
		return nil, err
	}
	if cfg.sync == syncInterval {
		tick := cfg.tick
		var ticker *time.Ticker
		if tick == nil {
			ticker = time.NewTicker(cfg.interval)
			tick = ticker.C
		}
		l.stop, l.done = make(chan struct{}), make(chan struct{})
		go l.syncLoop(tick, ticker)
	}
	return l, nil
}

// lockActive opens and locks the active file, creating it if it is
// missing.
func (l *Log) lockActive() (*lockedfile.File, error) {
	for range 4 {
		lf, err := lockedfile.Open(l.path, os.O_RDONLY)
		if errors.Is(err, fs.ErrNotExist) {
			lf, err = lockedfile.Create(l.path, nil)
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			if err == nil {
				if err := syncDir(filepath.Dir(l.path)); err != nil {
					lf.Close()
					return nil, &WriteError{Op: "open", Path: l.path, Err: err}
				}
			}
		}
		if errors.Is(err, lockedfile.ErrLocked) {
			return nil, fmt.Errorf("%w: %s is open in another Log or process; close that first", ErrLocked, l.path)
		}
		if err != nil {
			return nil, &WriteError{Op: "open", Path: l.path, Err: err}
		}
		return lf, nil
	}
	return nil, fmt.Errorf("%w: %s is being created by another process", ErrLocked, l.path)
}

// resume finds the chain head in the log's files.
func (l *Log) resume(ctx context.Context) error {
	names, nums, err := rotated(l.path)
	if err != nil {
		return err
	}
	if len(nums) > 0 {
		l.nextRot = nums[len(nums)-1] + 1
	} else {
		l.nextRot = 1
	}
	if l.cfg.verify {
		all, err := Files(l.path)
		if err != nil {
			return err
		}
		// Older files may have been archived: the chain must start at
		// record 1 only if the first rotated file is still here.
		v := Verifier{AnyStart: len(nums) > 0 && nums[0] != 1, Key: l.cfg.mac}
		if _, err := v.VerifyFiles(ctx, all...); err != nil {
			return err
		}
	}
	l.head = Anchor{}
	tail, found, err := readTail(ctx, l.path, l.cfg.repair, l.cfg)
	if err != nil {
		return err
	}
	if found {
		l.head = tail
		return nil
	}
	// The active file is empty or missing: the chain continues from the
	// newest rotated file, which is never empty.
	if len(names) > 0 {
		last := names[len(names)-1]
		tail, found, err := readTail(ctx, last, false, l.cfg)
		if err != nil {
			return err
		}
		if !found {
			return &ChainError{File: last, Line: 1, Reason: "rotated file is empty"}
		}
		l.head = tail
	}
	return nil
}

// openActive opens the locked active file for appending (locking it
// first when a rotation left none).
func (l *Log) openActive() error {
	if l.lf == nil {
		lf, err := l.lockActive()
		if err != nil {
			return err
		}
		l.lf = lf
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		err = l.lf.Same(f)
		if err != nil {
			f.Close()
			err = ErrReplaced
		}
	}
	if err != nil {
		return &WriteError{Op: "open", Path: l.path, Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return &WriteError{Op: "open", Path: l.path, Err: err}
	}
	l.f, l.size = f, fi.Size()
	l.synced, l.syncedSize, l.syncedHead = l.written, l.size, l.head
	if l.cfg.wrap != nil {
		l.f = l.cfg.wrap(f)
	}
	return nil
}

// DurableHead returns the newest record known to be on disk: the head as
// of the last fsync (with NoSync, the head). limits.FileStore records it.
func (l *Log) DurableHead() Anchor {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.sync == syncNone {
		return l.head
	}
	return l.syncedHead
}

// Head returns the last record appended (Seq 0 and the zero Hash for an
// empty log). Record it outside the log to detect later removal of records.
func (l *Log) Head() Anchor {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head
}

// Path returns the path of the active file.
func (l *Log) Path() string { return l.path }

// Append sets r's Seq, Prev and Hash (and Time, if zero, from the Log's
// clock; Time is stored in UTC) and writes r as one line. It returns only
// after the record is written and, with SyncEvery, on disk. On error r is
// unchanged and the chain head does not advance: what was written of the
// record is cut from the file, and if that is impossible the Log refuses
// every further Append, so the chain never forks. An error wrapping
// ErrWrite means the request being recorded must be refused.
func (l *Log) Append(ctx context.Context, r *Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := *r
	if rec.Time.IsZero() {
		rec.Time = l.cfg.now()
	}
	if err := rec.normalize(); err != nil {
		return err
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	var line []byte
	var hash Digest
	for {
		if l.closed {
			return &WriteError{Op: "append", Path: l.path, Err: ErrClosed}
		}
		if l.broken != nil {
			return &WriteError{Op: "append", Path: l.path, Err: l.broken}
		}
		if l.f == nil {
			if err := l.openActive(); err != nil {
				return err
			}
		}
		var err error
		rec.Seq, rec.Prev = l.head.Seq+1, l.head.Hash
		rec.MAC = Digest{}
		if l.cfg.mac == nil {
			line, hash, err = appendLine(l.buf[:0], &rec, nil)
		} else {
			if hash, err = hashRecord(&rec); err == nil {
				rec.MAC, err = l.cfg.mac.sum(ctx, &hash, &l.mac)
			}
			if err == nil {
				line, hash, err = appendLineHashed(l.buf[:0], &rec, &hash, &rec.MAC)
			}
		}
		if err != nil {
			return err
		}
		line = append(line, '\n')
		if cap(line) <= maxReusedBuf {
			l.buf = line[:0]
		}
		if len(line) > MaxLineBytes {
			return fmt.Errorf("%w: record encodes to %d bytes, more than %d; shorten Intent or Reason", ErrInvalidRecord, len(line), MaxLineBytes)
		}
		if l.cfg.maxSize > 0 && l.size > 0 && l.size+int64(len(line)) > l.cfg.maxSize {
			if l.syncing {
				// Rotation closes the file: wait for the fsync in
				// flight, then start over as the head may have moved.
				l.cond.Wait()
				continue
			}
			if err := l.rotate(); err != nil {
				return err
			}
		}
		break
	}
	if err := l.lf.Check(); err != nil {
		l.broken = fmt.Errorf("%w (%v)", ErrReplaced, err)
		l.cfg.logger.Error("audit: log file deleted or replaced while open; appends refused",
			slog.String("path", l.path))
		return &WriteError{Op: "write", Path: l.path, Err: l.broken}
	}
	n, err := l.f.Write(line)
	if err == nil && n != len(line) {
		err = io.ErrShortWrite
	}
	if err != nil {
		if n > 0 {
			l.truncateBack()
		}
		return &WriteError{Op: "write", Path: l.path, Err: err}
	}
	l.size += int64(n)
	rec.Hash = hash
	l.head = Anchor{Seq: rec.Seq, Hash: hash}
	l.written++
	l.appended.Store(l.written)
	if l.cfg.sync == syncEvery {
		if err := l.waitSynced(l.written); err != nil {
			return err
		}
	}
	*r = rec
	return nil
}

// maxReusedBuf bounds the line buffer a Log keeps between Appends.
const maxReusedBuf = 4 << 10

// waitSynced returns once line number gen is on disk. Appends arriving
// during an fsync wait for it and share the next one (group commit). If an
// fsync fails, every line not known to be on disk is cut from the file,
// the head goes back to the last synced record, and their appenders get
// the error. Called with l.mu held.
func (l *Log) waitSynced(gen uint64) error {
	for {
		if l.synced >= gen {
			return nil
		}
		if l.broken != nil {
			return &WriteError{Op: "sync", Path: l.path, Err: l.broken}
		}
		if l.syncing {
			l.cond.Wait()
			continue
		}
		l.syncing = true
		f, target, size, head := l.f, l.written, l.size, l.head
		l.mu.Unlock()
		err := f.Sync()
		l.mu.Lock()
		l.syncing = false
		if err != nil {
			return l.failSync(err)
		}
		l.markSynced(target, size, head)
	}
}

func (l *Log) markSynced(gen uint64, size int64, head Anchor) {
	if gen > l.synced {
		l.synced, l.syncedSize, l.syncedHead = gen, size, head
	}
	l.cond.Broadcast()
}

// failSync makes the Log refuse further appends after a failed fsync.
// With SyncEvery no record past the last good fsync was acknowledged, so
// those records are cut from the file. Called with l.mu held.
func (l *Log) failSync(err error) error {
	l.broken = fmt.Errorf("fsync failed earlier: %w", err)
	if l.cfg.sync == syncEvery && l.synced < l.written && l.f != nil {
		if terr := l.f.Truncate(l.syncedSize); terr == nil {
			l.size, l.head, l.written = l.syncedSize, l.syncedHead, l.synced
			l.appended.Store(l.written)
		}
	}
	l.cond.Broadcast()
	return &WriteError{Op: "sync", Path: l.path, Err: err}
}

// truncateBack cuts a partly written record from the file. If that fails
// the Log refuses further appends: a record written after the fragment
// would break the chain.
func (l *Log) truncateBack() {
	if err := l.f.Truncate(l.size); err != nil {
		l.broken = fmt.Errorf("a partial record could not be removed: %w", err)
		l.cfg.logger.Error("audit: partial record left in log; appends refused until repaired",
			slog.String("path", l.path), slog.Int64("offset", l.size), slog.Any("err", err))
	}
}

// rotate syncs and closes the active file, renames it to the next rotated
// name and creates a new active file, locked before it has its name. The
// old file's lock is held until then. It is called with l.mu held and no
// fsync in flight.
func (l *Log) rotate() error {
	if err := l.syncLocked(); err != nil {
		return err
	}
	if err := l.lf.Check(); err != nil {
		l.broken = fmt.Errorf("%w (%v)", ErrReplaced, err)
		return &WriteError{Op: "rotate", Path: l.path, Err: l.broken}
	}
	err := l.f.Close()
	l.f = nil
	old := l.lf
	defer old.Close()
	l.lf = nil
	if err != nil {
		return &WriteError{Op: "rotate", Path: l.path, Err: err}
	}
	dst := rotatedName(l.path, l.nextRot)
	if _, err := os.Lstat(dst); err == nil {
		return &WriteError{Op: "rotate", Path: l.path, Err: fmt.Errorf("%s already exists", dst)}
	}
	if err := os.Rename(l.path, dst); err != nil {
		return &WriteError{Op: "rotate", Path: l.path, Err: err}
	}
	l.nextRot++
	if err := syncDir(filepath.Dir(l.path)); err != nil {
		return &WriteError{Op: "rotate", Path: l.path, Err: err}
	}
	return l.openActive()
}

// Appended returns how many records were appended: with SyncThrough, a
// caller waits for the records it appended and no later ones.
func (l *Log) Appended() uint64 {
	return l.appended.Load()
}

// SyncThrough returns once the first n records appended (Appended) are on
// disk. Concurrent callers share one fsync, and so do Appends under
// SyncEvery (group commit); unlike Sync it does not hold the log while it
// waits. A caller of a NoSync log that must not act on a record before it
// is durable (the gateway answering a bot) overlaps the fsync with other
// work this way.
func (l *Log) SyncThrough(n uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.synced >= n {
		return nil
	}
	if l.f == nil {
		return ErrClosed
	}
	return l.waitSynced(n)
}

// Sync flushes appended records to disk.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.syncLocked()
}

// syncLocked fsyncs the active file while holding l.mu.
func (l *Log) syncLocked() error {
	if l.broken != nil {
		return &WriteError{Op: "sync", Path: l.path, Err: l.broken}
	}
	if l.f == nil || l.synced >= l.written {
		return nil
	}
	if err := l.f.Sync(); err != nil {
		return l.failSync(err)
	}
	l.markSynced(l.written, l.size, l.head)
	return nil
}

func (l *Log) syncLoop(tick <-chan time.Time, ticker *time.Ticker) {
	defer close(l.done)
	if ticker != nil {
		defer ticker.Stop()
	}
	for {
		select {
		case <-l.stop:
			return
		case <-tick:
			if err := l.Sync(); err != nil {
				l.cfg.logger.Error("audit: background fsync failed; appends refused until reopened",
					slog.String("path", l.path), slog.Any("err", err))
				return
			}
		}
	}
}

// Close flushes the log to disk and closes it. Further Appends fail with
// ErrClosed. Close is idempotent.
func (l *Log) Close() error {
	if l.stop != nil {
		l.stopOnce.Do(func() {
			close(l.stop)
			<-l.done
		})
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	for l.syncing {
		l.cond.Wait()
	}
	l.closed = true
	var errs []error
	if l.f != nil {
		if l.broken == nil {
			errs = append(errs, l.syncLocked())
		}
		// A broken Log already reported its error to Append.
		if err := l.f.Close(); err != nil {
			errs = append(errs, &WriteError{Op: "close", Path: l.path, Err: err})
		}
		l.f = nil
	}
	if l.lf != nil {
		errs = append(errs, l.lf.Close())
		l.lf = nil
	}
	return errors.Join(errs...)
}
