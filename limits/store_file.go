package limits

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/internal/lockedfile"
	"github.com/shopspring/decimal"
)

// ErrStoreLocked: another process has the FileStore open.
var ErrStoreLocked = errors.New("limits: store file is in use by another process")

// DefaultCompactEvery is how many journal records a FileStore appends
// before it rewrites the journal as one snapshot.
const DefaultCompactEvery = 4096

// FileStore is a crash-safe Store in one file: an append-only journal of
// JSON lines, one per state change, each written and fsynced before the
// change takes effect or the caller hears of it. The journal's first line
// is a snapshot of the whole state (its header). Every CompactEvery
// records, and when the store is opened, the journal is rewritten as a
// single snapshot line (temp file, fsync, rename, fsync of the directory).
//
// After a crash (even kill -9 mid-write) the store opens with every change
// that was acknowledged: a torn last line is ignored and cut off; any other
// unreadable line, and a journal that does not start with its snapshot (an
// empty or truncated file), makes OpenFileStore fail with ErrStateCorrupt
// rather than lose state.
//
// The file is locked (flock) on itself, after symbolic links in its path
// are resolved, so a second process fails with ErrStoreLocked whatever
// path it uses. Before every write the store checks that its open file is
// still the one at the path; a file deleted or replaced while open fails
// every later change with ErrStateReplaced (fail closed).
//
// Tied to an audit log (WithAuditLog), the journal records the log's head
// with its writes, and OpenFileStore refuses a state that is missing while
// the log holds allowed orders (ErrStateMissing) or that is older than the
// log (ErrStateStale, ErrStateMismatch): a deleted or restored state file
// cannot reset the caps or the kill switch. CheckGeneration ties it to the
// keystore's generation in the same way.
type FileStore struct {
	mu           sync.Mutex
	s            *state
	path         string           // symbolic links resolved
	f            *lockedfile.File // the journal, locked
	size         int64            // bytes of acknowledged records in f
	records      int              // since the last snapshot
	compactEvery int
	broken       error // a failed write that could not be undone
	buf          bytes.Buffer

	ledger   AuditLog
	rebuild  bool
	existing bool              // ExistingState
	mark     audit.Anchor      // the audit head the journal last recorded
	gens     map[string]uint64 // generations of outside files (the keystore)

	// DeferSync: records are written without an fsync; SyncThrough
	// makes them durable, one fsync for concurrent callers.
	deferSync       bool
	cond            *sync.Cond // on mu: the end of a SyncThrough fsync
	syncing         bool       // a SyncThrough fsync is in flight
	written, synced uint64     // records appended, and known on disk

	// Read without mu, so that a request's kill-switch check does not
	// wait behind another's write: appended mirrors written, view the
	// kill switch and broken. Both are stored under mu after each change.
	appended atomic.Uint64
	view     atomic.Pointer[storeView]
}

// storeView is what KillSwitch reads: the kill switch and why the store
// refuses writes.
type storeView struct {
	kill   KillState
	broken error
}

// publish stores the kill switch and broken for KillSwitch; mu is held.
func (fs *FileStore) publish() {
	fs.view.Store(&storeView{kill: fs.s.kill, broken: fs.broken})
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

// DeferSync makes the store write each record to its file without an
// fsync: a killed process loses nothing, a crashed machine the records
// written since the last SyncThrough. It is meant for a caller that must
// not answer before its records are durable and overlaps their fsync with
// other work (the gateway syncs while the venue answers).
func DeferSync() FileStoreOption {
	return func(fs *FileStore) { fs.deferSync = true }
}

// Appended returns how many records were written: with SyncThrough, a
// caller waits for its own records and no later ones.
func (fs *FileStore) Appended() uint64 {
	return fs.appended.Load()
}

// SyncThrough returns once the first n records written (Appended) are on
// disk; concurrent callers share one fsync (group commit). Without
// DeferSync every record is on disk before its change takes effect, and
// it returns at once.
func (fs *FileStore) SyncThrough(n uint64) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for fs.synced < n {
		if fs.broken != nil {
			return fs.broken
		}
		if fs.syncing {
			fs.cond.Wait()
			continue
		}
		if fs.f == nil {
			return errors.New("limits: store closed")
		}
		fs.syncing = true
		f, target := fs.f, fs.written
		fs.mu.Unlock()
		err := f.Sync()
		fs.mu.Lock()
		fs.syncing = false
		fs.cond.Broadcast()
		if err != nil {
			fs.broken = fmt.Errorf("limits: store %s is unusable after a failed fsync (%v); restart to reload it", fs.path, err)
			fs.publish()
			return fs.broken
		}
		fs.synced = max(fs.synced, target)
	}
	return nil
}

// waitSync waits for a SyncThrough fsync in flight, before the file is
// replaced or closed. Called with mu held.
func (fs *FileStore) waitSync() {
	for fs.syncing {
		fs.cond.Wait()
	}
}

// AuditLog is the audit log a FileStore ties its state to. *audit.Log
// implements it.
type AuditLog interface {
	// DurableHead returns the newest record known to be on disk.
	DurableHead() audit.Anchor
	// Since calls fn for every record after the record at after (all
	// records for the zero Anchor), in order. It fails when the log holds
	// no record at after.Seq with after.Hash.
	Since(ctx context.Context, after audit.Anchor, fn func(*audit.Record) error) error
}

// WithAuditLog ties the state to log: every journal record carries the
// log's durable head when it moved, and OpenFileStore refuses a missing
// state while the log records allowed orders (ErrStateMissing), a state
// whose recorded head is not in the log (ErrStateMismatch), and a state
// older than the log: one that misses allowed orders the log records after
// its head, beyond the reservations it holds unsettled (ErrStateStale).
// Close records the final head.
func WithAuditLog(log AuditLog) FileStoreOption {
	return func(fs *FileStore) { fs.ledger = log }
}

// RebuildState accepts a state that WithAuditLog would refuse as missing,
// stale or from another log: the store opens with the state found (an
// empty one if the file is missing), tied to the log's current head, and
// with the kill switch tripped, so that nothing trades until the orders
// the log records were reconciled with the venue and the switch is reset
// by the operator.
func RebuildState() FileStoreOption {
	return func(fs *FileStore) { fs.rebuild = true }
}

// ExistingState makes OpenFileStore fail with ErrStateNotFound when there
// is no state file at the path, instead of creating one: tools that read
// or change the state of a guard that runs elsewhere (the kill switch, a
// reconciliation) must not create a new, empty state at a mistyped path
// and report on it.
func ExistingState() FileStoreOption {
	return func(fs *FileStore) { fs.existing = true }
}

// OpenFileStore opens or creates the store at path. Close it when done.
func OpenFileStore(path string, opts ...FileStoreOption) (*FileStore, error) {
	return OpenFileStoreContext(context.Background(), path, opts...)
}

// OpenFileStoreContext is OpenFileStore with a context for reading the
// audit log it is tied to.
func OpenFileStoreContext(ctx context.Context, path string, opts ...FileStoreOption) (*FileStore, error) {
	fs := &FileStore{s: newState(), compactEvery: DefaultCompactEvery, gens: map[string]uint64{}}
	fs.cond = sync.NewCond(&fs.mu)
	for _, o := range opts {
		o(fs)
	}
	rp, err := lockedfile.Resolve(path)
	if err != nil {
		return nil, fmt.Errorf("limits: resolving store path %s: %w", path, err)
	}
	fs.path = rp
	f, err := lockedfile.Open(rp, os.O_RDWR)
	switch {
	case errors.Is(err, lockedfile.ErrLocked):
		return nil, fmt.Errorf("%w: %s; stop the other process first", ErrStoreLocked, rp)
	case errors.Is(err, iofs.ErrNotExist) && fs.existing:
		return nil, &StateError{Path: rp, Err: ErrStateNotFound, Detail: "the file does not exist"}
	case errors.Is(err, iofs.ErrNotExist):
		if err := fs.checkMissing(ctx); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("limits: opening store: %w", err)
	default:
		fs.f = f
		if err := fs.load(); err != nil {
			f.Close()
			return nil, err
		}
		if err := fs.checkLedger(ctx); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := fs.compact(); err != nil {
		if fs.f != nil {
			fs.f.Close()
		}
		return nil, err
	}
	fs.publish()
	return fs, nil
}

// checkMissing decides whether a missing state file may start afresh.
func (fs *FileStore) checkMissing(ctx context.Context) error {
	if fs.ledger == nil {
		return nil
	}
	n, err := fs.allowsSince(ctx, audit.Anchor{})
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if fs.rebuild {
		return fs.rebuilt("the state file was missing")
	}
	return &StateError{Path: fs.path, Err: ErrStateMissing,
		Detail: fmt.Sprintf("the file is missing but the audit log records %d allowed orders", n)}
}

// checkLedger refuses a state older than the audit log it is tied to.
func (fs *FileStore) checkLedger(ctx context.Context) error {
	if fs.ledger == nil {
		return nil
	}
	n, err := fs.allowsSince(ctx, fs.mark)
	var se *StateError
	if errors.As(err, &se) && fs.rebuild {
		return fs.rebuilt("the state was from another audit log")
	}
	if err != nil {
		return err
	}
	pending := 0
	for _, t := range fs.s.tickets {
		if !t.committed {
			pending++
		}
	}
	if n <= pending {
		return nil
	}
	if fs.rebuild {
		return fs.rebuilt("the state was older than the audit log")
	}
	return &StateError{Path: fs.path, Err: ErrStateStale,
		Detail: fmt.Sprintf("the audit log records %d allowed orders after the state's head (seq %d) and the state holds %d unsettled", n, fs.mark.Seq, pending)}
}

// allowsSince counts the allowed orders the audit log records after a.
func (fs *FileStore) allowsSince(ctx context.Context, a audit.Anchor) (int, error) {
	n := 0
	err := fs.ledger.Since(ctx, a, func(r *audit.Record) error {
		if r.Decision == audit.Allow && r.Class == string(exchange.ClassTrade) {
			n++
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		return 0, &StateError{Path: fs.path, Err: ErrStateMismatch,
			Detail: fmt.Sprintf("its audit head (seq %d) is not in the audit log (%v)", a.Seq, err)}
	}
	return n, nil
}

// rebuilt ties the state to the audit log's head and trips the kill switch.
func (fs *FileStore) rebuilt(why string) error {
	fs.mark = fs.ledger.DurableHead()
	fs.s.trip(KillState{Reason: "limits state rebuilt (" + why + "): reconcile with the venue, then reset the kill switch", At: time.Now()})
	return nil
}

// Close records the audit log's head and closes the store.
func (fs *FileStore) Close() error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var err error
	fs.waitSync()
	if fs.f != nil && fs.broken == nil && fs.ledger != nil && fs.ledger.DurableHead() != fs.mark {
		err = fs.append(&record{Op: opMark})
	}
	if fs.f != nil && fs.synced < fs.written {
		err = errors.Join(err, fs.f.Sync())
	}
	if fs.f != nil {
		err = errors.Join(err, fs.f.Close())
		fs.f = nil
	}
	if fs.broken == nil {
		fs.broken = errors.New("limits: store closed")
		fs.publish()
	}
	return err
}

// CheckGeneration ties the state to the generation of an outside file
// named name, such as the keystore's (keystore.Keystore.Generation): it
// records gen and refuses, with a *StateError wrapping ErrRollback, a
// generation lower than one recorded before, which means the file was
// replaced by an older copy.
func (fs *FileStore) CheckGeneration(ctx context.Context, name string, gen uint64) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return err
	}
	have := fs.gens[name]
	switch {
	case gen < have:
		return &StateError{Path: fs.path, Err: ErrRollback,
			Detail: fmt.Sprintf("%s is at generation %d but generation %d was seen before", name, gen, have)}
	case gen == have:
		return nil
	}
	if err := fs.append(&record{Op: opGen, Key: name, Seq: gen}); err != nil {
		return err
	}
	fs.gens[name] = gen
	fs.afterWrite()
	return nil
}

// load replays the journal.
func (fs *FileStore) load() error {
	b, err := io.ReadAll(io.NewSectionReader(fs.f, 0, 1<<62))
	if err != nil {
		return fmt.Errorf("limits: reading store: %w", err)
	}
	corrupt := func(line int, why string) error {
		return &StateError{Path: fs.path, Err: ErrStateCorrupt, Detail: fmt.Sprintf("line %d %s", line, why)}
	}
	if len(b) == 0 {
		return &StateError{Path: fs.path, Err: ErrStateCorrupt, Detail: "the file is empty: it was truncated"}
	}
	line := 0
	for len(b) > 0 {
		line++
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if line == 1 {
				return corrupt(line, "is incomplete: the header snapshot was truncated")
			}
			return nil // torn last line: never acknowledged
		}
		var r record
		if err := json.Unmarshal(b[:i], &r); err != nil {
			if line > 1 && len(bytes.TrimSpace(b[i+1:])) == 0 {
				return nil // torn last line
			}
			return corrupt(line, fmt.Sprintf("is not a record (%v)", err))
		}
		if line == 1 && r.Op != opSnapshot {
			return corrupt(line, "is not the snapshot every state file starts with: the file was truncated or edited")
		}
		if err := fs.replay(&r); err != nil {
			return corrupt(line, err.Error())
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
	Mark   *audit.Anchor    `json:"mark,omitempty"`   // the audit log's head, when it moved
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
	opMark     = "mark" // the audit log's head only
	opGen      = "gen"  // Key reached generation Seq
	opUpdate   = "update"
)

func (fs *FileStore) replay(r *record) error {
	if r.Mark != nil {
		fs.mark = *r.Mark
	}
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
		fs.gens = map[string]uint64{}
		for _, g := range r.Snap.Gens {
			fs.gens[g.Name] = g.Gen
		}
		if r.Snap.Mark != nil {
			fs.mark = *r.Snap.Mark
		}
	case opMark:
	case opGen:
		if r.Seq > fs.gens[r.Key] {
			fs.gens[r.Key] = r.Seq
		}
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
		s.updateOrder(r.Owner, OrderUpdate{ID: r.Order, ClientID: r.Client, Symbol: r.Key, Closed: r.Closed, Filled: decOrZero(r.Filled)})
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
	if err := fs.f.Check(); err != nil {
		fs.broken = &StateError{Path: fs.path, Err: ErrStateReplaced, Detail: "the file was deleted or replaced while open (" + err.Error() + ")"}
		fs.publish()
		return fs.broken
	}
	var mark audit.Anchor
	if fs.ledger != nil {
		if mark = fs.ledger.DurableHead(); mark != fs.mark {
			r.Mark = &mark
		}
	}
	fs.buf.Reset()
	enc := json.NewEncoder(&fs.buf)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("limits: encoding store record: %w", err)
	}
	_, err := fs.f.WriteAt(fs.buf.Bytes(), fs.size)
	if err == nil && !fs.deferSync {
		err = fs.f.Sync()
	}
	if err != nil {
		if terr := fs.f.Truncate(fs.size); terr != nil {
			fs.broken = fmt.Errorf("limits: store %s is unusable after a failed write (%v); restart to reload it", fs.path, err)
			fs.publish()
		}
		return fmt.Errorf("limits: writing store %s: %w", fs.path, err)
	}
	fs.size += int64(fs.buf.Len())
	fs.records++
	fs.written++
	fs.appended.Store(fs.written)
	if !fs.deferSync {
		fs.synced = fs.written
	}
	if r.Mark != nil {
		fs.mark = mark
	}
	return nil
}

// afterWrite compacts the journal when it is due. A failed compaction
// leaves the journal as it was and is retried after the next record.
func (fs *FileStore) afterWrite() {
	if fs.records >= fs.compactEvery {
		_ = fs.compact()
	}
}

// compact rewrites the journal as one snapshot line: a new file, locked
// before it has its name, written, fsynced and renamed over the journal
// (or, when there is none, linked to its path, which fails if another
// process created one meanwhile).
func (fs *FileStore) compact() error {
	fs.waitSync()
	if fs.ledger != nil && fs.f == nil && fs.mark == (audit.Anchor{}) {
		fs.mark = fs.ledger.DurableHead()
	}
	var buf bytes.Buffer
	sn := takeSnapshot(fs.s)
	if fs.mark != (audit.Anchor{}) {
		m := fs.mark
		sn.Mark = &m
	}
	for _, name := range sortedKeys(fs.gens) {
		sn.Gens = append(sn.Gens, snapGen{Name: name, Gen: fs.gens[name]})
	}
	if err := json.NewEncoder(&buf).Encode(&record{Op: opSnapshot, Snap: sn}); err != nil {
		return fmt.Errorf("limits: encoding store snapshot: %w", err)
	}
	dir := filepath.Dir(fs.path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(fs.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("limits: writing store snapshot: %w", err)
	}
	tmp := f.Name()
	named := false
	defer func() {
		if !named {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := lockedfile.Lock(f); err != nil {
		return fmt.Errorf("limits: locking store snapshot: %w", err)
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return fmt.Errorf("limits: writing store snapshot: %w", err)
	}
	if fs.f == nil {
		if err := os.Link(tmp, fs.path); err != nil {
			if errors.Is(err, iofs.ErrExist) {
				return fmt.Errorf("%w: %s was created by another process meanwhile", ErrStoreLocked, fs.path)
			}
			return fmt.Errorf("limits: creating store: %w", err)
		}
		os.Remove(tmp)
	} else {
		if err := fs.f.Check(); err != nil {
			fs.broken = &StateError{Path: fs.path, Err: ErrStateReplaced, Detail: "the file was deleted or replaced while open (" + err.Error() + ")"}
			fs.publish()
			return fs.broken
		}
		if err := os.Rename(tmp, fs.path); err != nil {
			return fmt.Errorf("limits: writing store snapshot: %w", err)
		}
	}
	named = true
	nf, err := lockedfile.Adopt(f, fs.path)
	if err != nil {
		f.Close()
		fs.broken = &StateError{Path: fs.path, Err: ErrStateReplaced, Detail: "the snapshot was replaced as it was written (" + err.Error() + ")"}
		fs.publish()
		return fs.broken
	}
	if fs.f != nil {
		fs.f.Close()
	}
	fs.f, fs.size, fs.records = nf, int64(buf.Len()), 0
	fs.synced = fs.written // the snapshot holds every record, fsynced
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("limits: syncing store directory: %w", err)
	}
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
	fs.publish()
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
	fs.publish()
	fs.afterWrite()
	return nil
}

// KillSwitch implements Store.
func (fs *FileStore) KillSwitch(ctx context.Context) (KillState, error) {
	if err := ctx.Err(); err != nil {
		return KillState{}, err
	}
	v := fs.view.Load()
	if v.broken != nil {
		return KillState{}, v.broken
	}
	return v.kill, nil
}

var _ io.Closer = (*FileStore)(nil)

// Refusals of a FileStore's file. Each comes as a *StateError; test for
// them with errors.Is.
var (
	// ErrStateCorrupt: the journal does not start with its snapshot or
	// holds a line that is not a record.
	ErrStateCorrupt = errors.New("limits: state file is corrupt")
	// ErrStateReplaced: the file was deleted or replaced while the store
	// had it open; the store refuses every further change.
	ErrStateReplaced = errors.New("limits: state file was deleted or replaced")
	// ErrStateMissing: there is no state file but the audit log records
	// allowed orders.
	ErrStateMissing = errors.New("limits: state file is missing")
	// ErrStateNotFound: ExistingState was asked for and there is no state
	// file at the path (a mistyped path creates nothing).
	ErrStateNotFound = errors.New("limits: no state file at this path")
	// ErrStateStale: the state is older than the audit log.
	ErrStateStale = errors.New("limits: state file is older than the audit log")
	// ErrStateMismatch: the audit head the state recorded is not in the
	// audit log (another log, or one cut short).
	ErrStateMismatch = errors.New("limits: state file does not match the audit log")
	// ErrRollback: an outside file (the keystore) is at an older generation
	// than the state has seen.
	ErrRollback = errors.New("limits: older generation than the state has seen")
)

// StateError is a refusal of a FileStore's file: which file, what is wrong
// (Err is one of the sentinels above) and, in its message, what to do.
type StateError struct {
	Path   string
	Err    error
	Detail string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("%v: %s: %s; %s", e.Err, e.Path, e.Detail, e.fix())
}

// Unwrap returns the sentinel.
func (e *StateError) Unwrap() error { return e.Err }

func (e *StateError) fix() string {
	switch e.Err {
	case ErrStateReplaced:
		return "stop the process, find out who changed the file, and restart"
	case ErrStateMissing, ErrStateStale, ErrStateMismatch:
		return "restore the current state file, or rebuild it from the audit log with `keyfence state rebuild --state FILE --audit LOG` (it trips the kill switch), run `keyfence reconcile`, then reset the kill switch"
	case ErrRollback:
		return "restore the newest copy of that file; an older copy may hold keys that were removed"
	case ErrStateNotFound:
		return "check the path (the guard's --state); state is created only by the guard's first use"
	}
	return "restore the file from a backup, or rebuild it with `keyfence state rebuild`"
}

// StateAuditHead returns the audit log head the state file at path last
// recorded (the zero Anchor if it records none), without opening the
// store: it takes no lock, so it works while a process has the store open.
// Pass it to an audit.Verifier as a Checkpoint: a log cut below it no
// longer verifies.
func StateAuditHead(path string) (audit.Anchor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return audit.Anchor{}, fmt.Errorf("limits: reading store: %w", err)
	}
	var head audit.Anchor
	for line := 1; len(b) > 0; line++ {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		var r struct {
			Op   string        `json:"op"`
			Mark *audit.Anchor `json:"mark"`
			Snap *struct {
				Mark *audit.Anchor `json:"mark"`
			} `json:"snap"`
		}
		if err := json.Unmarshal(b[:i], &r); err != nil || (line == 1 && r.Op != opSnapshot) {
			return audit.Anchor{}, &StateError{Path: path, Err: ErrStateCorrupt, Detail: fmt.Sprintf("line %d is not a record of a state file", line)}
		}
		switch {
		case r.Mark != nil:
			head = *r.Mark
		case r.Snap != nil && r.Snap.Mark != nil:
			head = *r.Snap.Mark
		}
		b = b[i+1:]
	}
	return head, nil
}
