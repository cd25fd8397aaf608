package limits

import (
	"context"
	"time"
)

// The fast path of MemoryStore. A Guard on a *MemoryStore (the concrete
// type, never a type that embeds one) resolves its counters once when it
// is created and then reserves on them with amounts already in units. A
// fast reservation is not a ticket of the store: it lives in the
// reservation the guard returns, as the counters and entry indices it
// holds, so an allowed order allocates only that small reservation. The
// contract is the Store contract: fastReserve checks every limit and
// records all of them, or none, atomically with respect to every other
// method of the store. Other stores are driven through Store alone.

// fastLimit is a Limit resolved to its counter, in units. fastReserve
// sets idx to the entry it pushed on a rolling counter.
type fastLimit struct {
	c      *counter
	amount units
	cap    units
	idx    uint64
}

// fastCounter returns the counter key, creating it with window when new.
// The counter stays valid as long as the store.
func (m *MemoryStore) fastCounter(key string, window time.Duration) *counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s.counter(key, int64(window))
}

// fastTripped reports whether the kill switch is tripped, without
// locking; the caller reads KillSwitch for the details.
func (m *MemoryStore) fastTripped() bool { return m.tripped.Load() }

// fastReserve checks lims at now and, unless dryRun, records them,
// setting the idx of each limit on a rolling counter. When limit i would
// exceed its cap it returns i and the counter's usage before the request,
// and records nothing; otherwise -1.
func (m *MemoryStore) fastReserve(ctx context.Context, now int64, lims []fastLimit, dryRun bool) (int, units, error) {
	if err := ctx.Err(); err != nil {
		return -1, units{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, used := m.s.fastCheck(now, lims); i >= 0 {
		return i, used, nil
	}
	if !dryRun {
		fastRecord(now, lims)
	}
	return -1, units{}, nil
}

// fastCommit settles the parts of a fast reservation of owner, reserved
// at (unix nanoseconds), as Commit settles a ticket, then clears the
// strike counter clear when it is not empty.
func (m *MemoryStore) fastCommit(owner string, at int64, ps []part, st Settlement, clear string) {
	var filled units
	var t *ticket
	if len(st.Orders) > 0 || st.Open && len(st.OrderIDs) > 0 {
		// Its orders close it later: the ticket outlives the reservation.
		t = &ticket{owner: owner, at: at}
		t.parts = append(t.inline[:0], ps...)
	} else if !st.Open && st.Filled.Sign() != 0 {
		filled = unitsOf(st.Filled, true)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case t != nil:
		m.s.commit(t, st)
	case !st.Open && len(st.Orders) == 0:
		finishParts(ps, filled)
	}
	// Open without order ids: nothing can close it, so its parts stay
	// held, as commit keeps such a ticket (fail closed).
	if clear != "" {
		m.s.clearStrikes(clear)
	}
}

// fastRelease releases the parts of a fast reservation as Release
// releases a ticket.
func (m *MemoryStore) fastRelease(ps []part) {
	m.mu.Lock()
	defer m.mu.Unlock()
	releaseParts(ps)
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

// fastRecord is reserve for checked, resolved limits.
func fastRecord(now int64, lims []fastLimit) {
	for i := range lims {
		l := &lims[i]
		c := l.c
		c.sum = c.sum.add(l.amount)
		if c.window != 0 {
			l.idx = c.push(entry{at: now, amount: l.amount})
		}
	}
}
