package limits

import (
	"context"
	"time"
)

// fastStore is the optional fast path of the stores of this package that
// keep their state in this process (MemoryStore). A Guard detects such a
// store by its concrete type when it is created and then reserves on counters it resolved
// once, with amounts already in units, into a ticket that lives inside the
// reservation it returns, so an allowed order allocates only that
// reservation. The contract is the Store contract: fastReserve checks
// every limit and records all of them, or none, atomically with respect
// to every other method of the store. Stores that do not implement it (a
// networked store, say) are driven through Store alone.
type fastStore interface {
	Store
	// fastCounter returns the counter key, creating it with window when
	// new. The counter stays valid as long as the store.
	fastCounter(key string, window time.Duration) *counter
	// fastTripped reports whether the kill switch is tripped, without
	// locking; the caller reads KillSwitch for the details.
	fastTripped() bool
	// fastReserve checks lims at now and, unless dryRun, records them in
	// t. When limit i would exceed its cap it returns i and the counter's
	// usage before the request, and records nothing; otherwise -1.
	fastReserve(ctx context.Context, owner string, now int64, lims []fastLimit, dryRun bool, t *ticket) (int, units, error)
	// fastCommit settles t as Commit does, then clears the strike counter
	// clear when it is not empty.
	fastCommit(ctx context.Context, t *ticket, s Settlement, clear string) error
	// fastRelease releases t as Release does.
	fastRelease(ctx context.Context, t *ticket) error
}

// fastLimit is a Limit resolved to its counter, in units.
type fastLimit struct {
	c      *counter
	amount units
	cap    units
}

var _ fastStore = (*MemoryStore)(nil)

func (m *MemoryStore) fastCounter(key string, window time.Duration) *counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s.counter(key, int64(window))
}

func (m *MemoryStore) fastTripped() bool { return m.tripped.Load() }

func (m *MemoryStore) fastReserve(ctx context.Context, owner string, now int64, lims []fastLimit, dryRun bool, t *ticket) (int, units, error) {
	if err := ctx.Err(); err != nil {
		return -1, units{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, used := m.s.fastCheck(now, lims); i >= 0 {
		return i, used, nil
	}
	if !dryRun {
		m.s.fastRecord(owner, now, lims, t)
	}
	return -1, units{}, nil
}

func (m *MemoryStore) fastCommit(ctx context.Context, t *ticket, st Settlement, clear string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.committed || t.parts == nil {
		return ErrUnknownTicket
	}
	m.s.commit(t, st)
	if clear != "" {
		m.s.clearStrikes(clear)
	}
	return nil
}

func (m *MemoryStore) fastRelease(ctx context.Context, t *ticket) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.committed || t.parts == nil {
		return ErrUnknownTicket
	}
	m.s.release(t)
	t.parts = nil
	return nil
}

// fastCheck is check for resolved limits: it advances each counter to now
// and returns the index of the first limit that would exceed its cap and
// the usage it found, or -1.
func (s *state) fastCheck(now int64, lims []fastLimit) (int, units) {
	for i := range lims {
		l := &lims[i]
		l.c.advance(now)
		used := l.c.sum
		// Several limits of one request may share a counter.
		for j := 0; j < i; j++ {
			if lims[j].c == l.c {
				used = used.add(lims[j].amount)
			}
		}
		if used.add(l.amount).cmp(l.cap) > 0 {
			return i, used
		}
	}
	return -1, units{}
}

// fastRecord is reserve for checked, resolved limits. The ticket has no
// id and is not in s.tickets: only its holder can settle it.
func (s *state) fastRecord(owner string, now int64, lims []fastLimit, t *ticket) {
	t.owner, t.at = owner, now
	if len(lims) <= len(t.inline) {
		t.parts = t.inline[:len(lims)]
	} else {
		t.parts = make([]part, len(lims))
	}
	for i := range lims {
		l := &lims[i]
		c := l.c
		c.sum = c.sum.add(l.amount)
		if c.window == 0 {
			t.parts[i] = part{c: c, gauge: l.amount}
			continue
		}
		t.parts[i] = part{c: c, idx: c.push(entry{at: now, amount: l.amount})}
	}
}
