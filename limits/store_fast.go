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
// and records nothing; otherwise -1. A recorded reservation r (nil for a
// dry run) gets its entry indices and joins the pending list, under the
// same lock.
func (m *MemoryStore) fastReserve(ctx context.Context, now int64, lims []fastLimit, r *fastReservation) (int, units, error) {
	if err := ctx.Err(); err != nil {
		return -1, units{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, used := m.s.fastCheck(now, lims); i >= 0 {
		return i, used, nil
	}
	if r != nil {
		fastRecord(now, lims)
		for i := range lims {
			switch lims[i].c {
			case r.sg.symC:
				r.idx[0] = lims[i].idx
			case r.sg.quoteC:
				r.idx[1] = lims[i].idx
			}
		}
		m.link(r)
	}
	return -1, units{}, nil
}

// link adds r to the pending list. The caller holds m.mu.
func (m *MemoryStore) link(r *fastReservation) {
	r.prev, r.next = nil, m.pend
	if m.pend != nil {
		m.pend.prev = r
	}
	m.pend = r
}

// unlink removes r from the pending list. The caller holds m.mu.
func (m *MemoryStore) unlink(r *fastReservation) {
	switch {
	case r.prev != nil:
		r.prev.next = r.next
	case m.pend == r:
		m.pend = r.next
	default:
		return // not linked
	}
	if r.next != nil {
		r.next.prev = r.prev
	}
	r.prev, r.next = nil, nil
}

// fastCommit settles a fast reservation as Commit settles a ticket, then
// clears the strike counter clear when it is not empty.
func (m *MemoryStore) fastCommit(r *fastReservation, st Settlement, clear string) {
	var filled units
	var t *ticket
	var buf [3]part
	ps := r.parts(buf[:0])
	if len(st.Orders) > 0 || st.Open && len(st.OrderIDs) > 0 {
		// Its orders close it later: the ticket outlives the reservation.
		t = &ticket{owner: r.sg.cg.name, at: r.at}
		t.parts = append(t.inline[:0], ps...)
	} else if !st.Open && st.Filled.Sign() != 0 {
		filled = unitsOf(st.Filled, true)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unlink(r)
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

// fastRelease releases a fast reservation as Release releases a ticket.
func (m *MemoryStore) fastRelease(r *fastReservation) {
	var buf [3]part
	ps := r.parts(buf[:0])
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unlink(r)
	releaseParts(ps)
}

// pendingFast appends to dst the orders of owner's pending fast
// reservations, as Tracked lists a pending ticket's. The caller holds
// m.mu.
func (m *MemoryStore) pendingFast(dst []TrackedOrder, owner string) []TrackedOrder {
	for r := m.pend; r != nil; r = r.next {
		if r.sg.cg.name == owner {
			dst = append(dst, TrackedOrder{OrderRef: r.ref(), Owner: owner, At: fromNanos(r.at), Pending: true})
		}
	}
	return dst
}

// takeFast commits the pending fast reservation of owner that u names by
// its client order id, as of unknown outcome, as UpdateOrder commits a
// pending ticket before it applies u; the reservation's own Commit or
// Release then finds it settled. A reservation its owner is settling at
// this moment is left to its owner. The caller holds m.mu.
func (m *MemoryStore) takeFast(owner string, u *OrderUpdate) {
	if m.pend == nil || u.ClientID == "" || m.s.clients[orderKey{owner, u.ClientID}] != nil {
		return
	}
	if u.ID != "" {
		for _, tr := range m.s.byID(owner, u.ID) {
			if u.Symbol == "" || tr.ref.Symbol == "" || tr.ref.Symbol == u.Symbol {
				return // u settles the committed order of that venue id
			}
		}
	}
	for r := m.pend; r != nil; r = r.next {
		if r.cid != u.ClientID || r.sg.cg.name != owner || u.Symbol != "" && r.sg.symbol != u.Symbol {
			continue
		}
		if !r.settled.CompareAndSwap(false, true) {
			return
		}
		m.unlink(r)
		t := &ticket{owner: owner, at: r.at}
		t.parts = r.parts(t.inline[:0])
		m.s.commit(t, Settlement{Orders: []OrderRef{r.ref()}})
		return
	}
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
