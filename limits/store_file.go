package limits

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// ErrStoreLocked: another process has the FileStore open.
var ErrStoreLocked = errors.New("limits: store file is in use by another process")

// DefaultCompactEvery is how many journal records a FileStore appends
// before it rewrites the journal as one snapshot.
const DefaultCompactEvery = 4096

// FileStore is a crash-safe Store in one file: an append-only journal of
// JSON lines, one per state change, each written and fsynced before the
// change takes effect or the caller hears of it. Every CompactEvery records,
// and when the store is opened, the journal is rewritten as a single
// snapshot line (temp file, fsync, rename, fsync of the directory).
//
// After a crash (even kill -9 mid-write) the store opens with every change
// that was acknowledged: a torn last line is ignored and cut off; any other
// unreadable line makes OpenFileStore fail rather than lose state. A
// lock file (PATH.lock) keeps a second process from opening the same store.
type FileStore struct {
	mu           sync.Mutex
	s            *state
	path         string
	f            *os.File // journal, opened for appending
	size         int64    // bytes of acknowledged records in f
	lock         *os.File
	records      int // since the last snapshot
	compactEvery int
	broken       error // a failed write that could not be undone
	buf          bytes.Buffer
}

var _ Store = (*FileStore)(nil)

// FileStoreOption configures a FileStore.
type FileStoreOption func(*FileStore)

// CompactEvery sets how many records are appended between snapshots
// (DefaultCompactEvery by default).
func CompactEvery(n int) FileStoreOption {
	return func(fs *FileStore) {
		if n > 0 {
			fs.compactEvery = n
		}
	}
}

// OpenFileStore opens or creates the store at path. Close it when done.
func OpenFileStore(path string, opts ...FileStoreOption) (*FileStore, error) {
	fs := &FileStore{s: newState(), path: path, compactEvery: DefaultCompactEvery}
	for _, o := range opts {
		o(fs)
	}
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("limits: opening store lock: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("limits: locking store %s: %w", path, err)
	}
	fs.lock = lock
	if err := fs.load(); err != nil {
		lock.Close()
		return nil, err
	}
	if err := fs.compact(); err != nil {
		lock.Close()
		return nil, err
	}
	return fs, nil
}

// Close closes the store.
func (fs *FileStore) Close() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var err error
	if fs.f != nil {
		err = fs.f.Close()
		fs.f = nil
	}
	if fs.lock != nil {
		err = errors.Join(err, fs.lock.Close())
		fs.lock = nil
	}
	if fs.broken == nil {
		fs.broken = errors.New("limits: store closed")
	}
	return err
}

// load replays the journal.
func (fs *FileStore) load() error {
	b, err := os.ReadFile(fs.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("limits: reading store: %w", err)
	}
	line := 0
	for len(b) > 0 {
		line++
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil // torn last line: never acknowledged
		}
		var r record
		if err := json.Unmarshal(b[:i], &r); err != nil {
			if len(bytes.TrimSpace(b[i+1:])) == 0 {
				return nil // torn last line
			}
			return fmt.Errorf("limits: store %s line %d is corrupt (%v); restore it from a backup or move it away to start afresh", fs.path, line, err)
		}
		if err := fs.replay(&r); err != nil {
			return fmt.Errorf("limits: store %s line %d: %w", fs.path, line, err)
		}
		b = b[i+1:]
	}
	return nil
}

// record is one journal line.
type record struct {
	Op     string           `json:"op"`
	ID     Ticket           `json:"id,omitempty"`
	Owner  string           `json:"owner,omitempty"`
	Order  string           `json:"order,omitempty"`
	T      int64            `json:"t,omitempty"` // unix nanoseconds
	W      int64            `json:"w,omitempty"` // window, nanoseconds
	Key    string           `json:"key,omitempty"`
	Limits []recordLimit    `json:"limits,omitempty"`
	Open   bool             `json:"open,omitempty"`
	Orders []string         `json:"orders,omitempty"`
	Filled *decimal.Decimal `json:"filled,omitempty"`
	Reason string           `json:"reason,omitempty"`
	Seq    uint64           `json:"seq,omitempty"`
	Snap   *snapshot        `json:"snap,omitempty"`
	Refs   []OrderRef       `json:"refs,omitempty"`   // reserve: the orders; commit: Settlement.Orders
	Client string           `json:"client,omitempty"` // update: the client order id
	Closed bool             `json:"closed,omitempty"` // update: the order closed
}

type recordLimit struct {
	Key    string          `json:"k"`
	Amount decimal.Decimal `json:"a"`
	W      int64           `json:"w,omitempty"`
}

// Journal operations.
const (
	opSnapshot = "snapshot"
	opReserve  = "reserve"
	opCommit   = "commit"
	opRelease  = "release"
	opClose    = "close"
	opStrike   = "strike"
	opClear    = "clear"
	opTrip     = "trip"
	opReset    = "reset"
	opUpdate   = "update"
)

func (fs *FileStore) replay(r *record) error {
	s := fs.s
	switch r.Op {
	case opSnapshot:
		if r.Snap == nil {
			return errors.New("snapshot without state")
		}
		ns, err := r.Snap.restore()
		if err != nil {
			return err
		}
		fs.s = ns
	case opReserve:
		req := &ReserveRequest{Owner: r.Owner, Now: fromNanos(r.T), Limits: make([]Limit, len(r.Limits)), Orders: r.Refs}
		for i, l := range r.Limits {
			req.Limits[i] = Limit{Key: l.Key, Amount: l.Amount, Window: time.Duration(l.W)}
		}
		s.reserve(req, prepare(req), r.ID)
		if r.Seq > s.seq {
			s.seq = r.Seq
		}
	case opCommit:
		if t, ok := s.ticket(r.ID); ok {
			s.commit(t, Settlement{Open: r.Open, OrderIDs: r.Orders, Filled: decOrZero(r.Filled), Orders: r.Refs})
		}
	case opRelease:
		if t, ok := s.ticket(r.ID); ok {
			s.release(t)
		}
	case opClose:
		s.closeOrder(r.Owner, r.Order, decOrZero(r.Filled))
	case opUpdate:
		s.updateOrder(r.Owner, OrderUpdate{ID: r.Order, ClientID: r.Client, Closed: r.Closed, Filled: decOrZero(r.Filled)})
	case opStrike:
		s.strike(r.Key, fromNanos(r.T), time.Duration(r.W))
	case opClear:
		s.clearStrikes(r.Key)
	case opTrip:
		s.trip(KillState{Reason: r.Reason, At: fromNanos(r.T)})
	case opReset:
		s.reset()
	default:
		return fmt.Errorf("unknown operation %q", r.Op)
	}
	return nil
}

func decOrZero(d *decimal.Decimal) decimal.Decimal {
	if d == nil {
		return decimal.Decimal{}
	}
	return *d
}

// usable returns an error when the store cannot take writes.
func (fs *FileStore) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return fs.broken
}

// append writes and fsyncs one record. On failure the journal is cut back
// to its last acknowledged record, or the store refuses all further writes.
func (fs *FileStore) append(r *record) error {
	fs.buf.Reset()
	enc := json.NewEncoder(&fs.buf)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("limits: encoding store record: %w", err)
	}
	_, err := fs.f.Write(fs.buf.Bytes())
	if err == nil {
		err = fs.f.Sync()
	}
	if err != nil {
		if terr := fs.f.Truncate(fs.size); terr != nil {
			fs.broken = fmt.Errorf("limits: store %s is unusable after a failed write (%v); restart to reload it", fs.path, err)
		}
		return fmt.Errorf("limits: writing store %s: %w", fs.path, err)
	}
	fs.size += int64(fs.buf.Len())
	fs.records++
	return nil
}

// afterWrite compacts the journal when it is due. A failed compaction
// leaves the journal as it was and is retried after the next record.
func (fs *FileStore) afterWrite() {
	if fs.records >= fs.compactEvery {
		_ = fs.compact()
	}
}

// compact rewrites the journal as one snapshot line.
func (fs *FileStore) compact() error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(&record{Op: opSnapshot, Snap: takeSnapshot(fs.s)}); err != nil {
		return fmt.Errorf("limits: encoding store snapshot: %w", err)
	}
	tmp := fs.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("limits: writing store snapshot: %w", err)
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, fs.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("limits: writing store snapshot: %w", err)
	}
	if err := syncDir(filepath.Dir(fs.path)); err != nil {
		return fmt.Errorf("limits: syncing store directory: %w", err)
	}
	nf, err := os.OpenFile(fs.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fs.broken = fmt.Errorf("limits: reopening store %s: %w", fs.path, err)
		return fs.broken
	}
	if fs.f != nil {
		fs.f.Close()
	}
	fs.f, fs.size, fs.records = nf, int64(buf.Len()), 0
	return nil
}

// Reserve implements Store.
func (fs *FileStore) Reserve(ctx context.Context, req *ReserveRequest) (Ticket, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return "", err
	}
	ps := make([]prepared, len(req.Limits))
	if err := fs.s.check(req, ps); err != nil {
		return "", err
	}
	if req.DryRun {
		return "", nil
	}
	seq := fs.s.seq + 1
	id := Ticket(strconv.FormatUint(seq, 36))
	r := &record{Op: opReserve, ID: id, Seq: seq, Owner: req.Owner, T: nanos(req.Now), Limits: make([]recordLimit, len(req.Limits)), Refs: req.Orders}
	for i, l := range req.Limits {
		r.Limits[i] = recordLimit{Key: l.Key, Amount: l.Amount, W: int64(l.Window)}
	}
	if err := fs.append(r); err != nil {
		return "", err
	}
	fs.s.seq = seq
	fs.s.reserve(req, ps, id)
	fs.afterWrite()
	return id, nil
}

// Commit implements Store.
func (fs *FileStore) Commit(ctx context.Context, id Ticket, st Settlement) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return err
	}
	t, ok := fs.s.ticket(id)
	if !ok {
		return ErrUnknownTicket
	}
	filled := st.Filled
	if err := fs.append(&record{Op: opCommit, ID: id, Open: st.Open, Orders: st.OrderIDs, Filled: &filled, Refs: st.Orders}); err != nil {
		return err
	}
	fs.s.commit(t, st)
	fs.afterWrite()
	return nil
}

// Release implements Store.
func (fs *FileStore) Release(ctx context.Context, id Ticket) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return err
	}
	t, ok := fs.s.ticket(id)
	if !ok {
		return ErrUnknownTicket
	}
	if err := fs.append(&record{Op: opRelease, ID: id}); err != nil {
		return err
	}
	fs.s.release(t)
	fs.afterWrite()
	return nil
}

// CloseOrder implements Store.
func (fs *FileStore) CloseOrder(ctx context.Context, owner, orderID string, filledQuote decimal.Decimal) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return err
	}
	if fs.s.orders[orderKey{owner, orderID}] == nil {
		return nil
	}
	if err := fs.append(&record{Op: opClose, Owner: owner, Order: orderID, Filled: &filledQuote}); err != nil {
		return err
	}
	fs.s.closeOrder(owner, orderID, filledQuote)
	fs.afterWrite()
	return nil
}

// Strike implements Store.
func (fs *FileStore) Strike(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return 0, err
	}
	if err := fs.append(&record{Op: opStrike, Key: key, T: nanos(now), W: int64(window)}); err != nil {
		return 0, err
	}
	n := fs.s.strike(key, now, window)
	fs.afterWrite()
	return n, nil
}

// ClearStrikes implements Store.
func (fs *FileStore) ClearStrikes(ctx context.Context, key string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return err
	}
	if _, ok := fs.s.strikes[key]; !ok {
		return nil
	}
	if err := fs.append(&record{Op: opClear, Key: key}); err != nil {
		return err
	}
	fs.s.clearStrikes(key)
	fs.afterWrite()
	return nil
}

// Trip implements Store.
func (fs *FileStore) Trip(ctx context.Context, k KillState) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return err
	}
	if fs.s.kill.Tripped {
		return nil
	}
	if err := fs.append(&record{Op: opTrip, Reason: k.Reason, T: nanos(k.At)}); err != nil {
		return err
	}
	fs.s.trip(k)
	fs.afterWrite()
	return nil
}

// Reset implements Store.
func (fs *FileStore) Reset(ctx context.Context) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return err
	}
	if !fs.s.kill.Tripped {
		return nil
	}
	if err := fs.append(&record{Op: opReset}); err != nil {
		return err
	}
	fs.s.reset()
	fs.afterWrite()
	return nil
}

// KillSwitch implements Store.
func (fs *FileStore) KillSwitch(ctx context.Context) (KillState, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return KillState{}, err
	}
	return fs.s.kill, nil
}

var _ io.Closer = (*FileStore)(nil)
