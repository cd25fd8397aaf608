package limits

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
)

// MemoryStore is a Store in memory: for tests, and for bots that accept
// that a restart resets the limits (it does not survive one; use FileStore
// for that). The zero value is not usable; call NewMemoryStore.
//
// What a restart forgets: the fills in the daily windows, the strike
// counts, the kill switch, and the orders of unknown outcome. What it does
// not: a venue client's reconciliation at start adopts the orders that
// still rest at the venue and that the audit log accounts for
// (Guard.AdoptOrder), so they hold their value and their open-order slots
// again until they are seen closed.
//
// A Guard on a *MemoryStore resolves its counters once and reserves
// through an internal fast path with the same atomicity; a type that
// embeds a MemoryStore is driven through the Store methods alone. A fast
// reservation dropped without Commit or Release is listed by Tracked as
// pending and settled by UpdateOrder, as a ticket is.
type MemoryStore struct {
	mu sync.Mutex
	s  *state
	// tripped mirrors s.kill.Tripped for lock-free reads.
	tripped atomic.Bool
	// pend lists the guard's fast reservations that are neither committed
	// nor released (see store_fast.go).
	pend *fastReservation
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{s: newState()} }

// Reserve implements Store.
func (m *MemoryStore) Reserve(ctx context.Context, req *ReserveRequest) (Ticket, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var buf [4]prepared
	ps := buf[:0]
	if len(req.Limits) > len(buf) {
		ps = make([]prepared, 0, len(req.Limits))
	}
	ps = ps[:len(req.Limits)]
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.s.check(req, ps); err != nil {
		return "", err
	}
	if req.DryRun {
		return "", nil
	}
	m.s.seq++
	id := Ticket(strconv.FormatUint(m.s.seq, 36))
	m.s.reserve(req, ps, id)
	return id, nil
}

// Commit implements Store.
func (m *MemoryStore) Commit(ctx context.Context, id Ticket, st Settlement) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.s.ticket(id)
	if !ok {
		return ErrUnknownTicket
	}
	m.s.commit(t, st)
	return nil
}

// Release implements Store.
func (m *MemoryStore) Release(ctx context.Context, id Ticket) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.s.ticket(id)
	if !ok {
		return ErrUnknownTicket
	}
	m.s.release(t)
	return nil
}

// CloseOrder implements Store.
func (m *MemoryStore) CloseOrder(ctx context.Context, owner, orderID string, filledQuote decimal.Decimal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s.closeOrder(owner, orderID, filledQuote)
	return nil
}

// Strike implements Store.
func (m *MemoryStore) Strike(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s.strike(key, now, window), nil
}

// ClearStrikes implements Store.
func (m *MemoryStore) ClearStrikes(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s.clearStrikes(key)
	return nil
}

// Trip implements Store.
func (m *MemoryStore) Trip(ctx context.Context, k KillState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s.trip(k)
	m.tripped.Store(true)
	return nil
}

// Reset implements Store.
func (m *MemoryStore) Reset(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s.reset()
	m.tripped.Store(false)
	return nil
}

// KillSwitch implements Store.
func (m *MemoryStore) KillSwitch(ctx context.Context) (KillState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s.kill, nil
}

// Tracked implements Store.
func (m *MemoryStore) Tracked(ctx context.Context, owner string) ([]TrackedOrder, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.s.trackedOrders(owner)
	if m.pend == nil {
		return out, nil
	}
	out = m.pendingFast(out, owner)
	sortTracked(out)
	return out, nil
}

// UpdateOrder implements Store.
func (m *MemoryStore) UpdateOrder(ctx context.Context, owner string, u OrderUpdate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.takeFast(owner, &u)
	m.s.updateOrder(owner, u)
	return nil
}
