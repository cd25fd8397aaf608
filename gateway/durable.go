package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

// Durable is a journal that writes records at once and makes them durable
// in groups: an audit.Log opened with audit.NoSync, a limits.FileStore
// opened with limits.DeferSync. (Opened to fsync every record, they
// implement it too, and SyncThrough returns at once.)
type Durable interface {
	// Appended returns how many records were written.
	Appended() uint64
	// SyncThrough returns once the first n records are on disk.
	SyncThrough(n uint64) error
}

// When the audit log or the limit store is a Durable, the gateway overlaps
// their fsyncs with the venue's round trip: the decision record and the
// reservation are written before the request is signed, a background
// syncer starts their fsync at once (one fsync for every request written
// meanwhile: group commit), and the answer waits until both are on disk.
// The settlement written after the answer (commit, release) is made
// durable by the next fsync: lost in a machine crash, it leaves the budget
// reserved, never freed. A store that is not a Durable (PostgreSQL) has
// committed the reservation when Reserve returns, before the request is
// signed; the answer then waits only for the audit log.

// pending is what one request wrote: the counts to sync through.
type pending struct {
	audit, store uint64
}

type pendingKey struct{}

func pendingOf(ctx context.Context) *pending {
	p, _ := ctx.Value(pendingKey{}).(*pending)
	return p
}

// syncer fsyncs a Durable in the background whenever kicked.
type syncer struct {
	d    Durable
	kick chan struct{}
	done chan struct{}
	once sync.Once
	// syncs counts the group commits the syncer ran and records the
	// records they covered (group commit's batch size is their ratio).
	syncs, records atomic.Uint64
}

func newSyncer(d Durable) *syncer {
	s := &syncer{d: d, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		var synced uint64
		for {
			select {
			case <-s.kick:
				n := s.d.Appended()
				if s.d.SyncThrough(n) == nil && n > synced { // a failure is seen by the waiters
					s.syncs.Add(1)
					s.records.Add(n - synced)
					synced = n
				}
			case <-s.done:
				return
			}
		}
	}()
	return s
}

// start asks for an fsync soon, without waiting for it.
func (s *syncer) start() {
	select {
	case s.kick <- struct{}{}:
	default: // one is due already
	}
}

func (s *syncer) stop() { s.once.Do(func() { close(s.done) }) }

// durableAudit notes the records a request appends and starts their fsync.
type durableAudit struct {
	exchange.Auditor
	d Durable
	s *syncer
}

func (a *durableAudit) Append(ctx context.Context, r *audit.Record) error {
	if err := a.Auditor.Append(ctx, r); err != nil {
		return err
	}
	if p := pendingOf(ctx); p != nil {
		p.audit = a.d.Appended()
	}
	a.s.start()
	return nil
}

// durableStore notes the reservations a request writes and starts their
// fsync.
type durableStore struct {
	limits.Store
	d Durable
	s *syncer
}

func (st *durableStore) Reserve(ctx context.Context, req *limits.ReserveRequest) (limits.Ticket, error) {
	t, err := st.Store.Reserve(ctx, req)
	if err == nil && !req.DryRun {
		if p := pendingOf(ctx); p != nil {
			p.store = st.d.Appended()
		}
		st.s.start()
	}
	return t, err
}

// wait returns once what p notes is on disk.
func (g *Gateway) wait(p *pending) error {
	var errs []error
	if p.audit > 0 && g.auditDur != nil {
		errs = append(errs, g.auditDur.SyncThrough(p.audit))
	}
	if p.store > 0 && g.storeDur != nil {
		errs = append(errs, g.storeDur.SyncThrough(p.store))
	}
	return errors.Join(errs...)
}
