package limits

import (
	"time"

	"github.com/shopspring/decimal"
)

// state is the store state machine shared by MemoryStore and FileStore.
// It is not safe for concurrent use; the stores lock around it. Its
// mutating methods never fail once their arguments were checked, so a
// FileStore can journal an operation and then apply it.
type state struct {
	counters map[string]*counter
	tickets  map[Ticket]*ticket
	orders   map[orderKey]*ticket
	strikes  map[string]*strikes
	kill     KillState
	seq      uint64
}

type orderKey struct{ owner, id string }

func newState() *state {
	return &state{
		counters: map[string]*counter{},
		tickets:  map[Ticket]*ticket{},
		orders:   map[orderKey]*ticket{},
		strikes:  map[string]*strikes{},
	}
}

// counter is a rolling sum (window > 0) or a gauge (window 0).
type counter struct {
	key     string
	window  time.Duration
	sum     decimal.Decimal
	entries []*entry // windowed: in reservation order; entries[head:] are live
	head    int
}

type entry struct {
	at      time.Time
	amount  decimal.Decimal
	expired bool
}

// advance drops the entries that left the window at now.
func (c *counter) advance(now time.Time) {
	if c.window == 0 {
		return
	}
	for c.head < len(c.entries) {
		e := c.entries[c.head]
		if now.Before(e.at.Add(c.window)) {
			break
		}
		if !e.amount.IsZero() {
			c.sum = c.sum.Sub(e.amount)
		}
		e.expired = true
		c.entries[c.head] = nil
		c.head++
	}
	if c.head > 64 && c.head*2 > len(c.entries) {
		n := copy(c.entries, c.entries[c.head:])
		clear(c.entries[n:])
		c.entries = c.entries[:n]
		c.head = 0
	}
	if c.head == len(c.entries) {
		c.entries, c.head = c.entries[:0], 0
		c.sum = decimal.Decimal{}
	}
}

// ticket is a reservation: one part per limit.
type ticket struct {
	id        Ticket
	owner     string
	at        time.Time
	parts     []part
	committed bool
	open      int // orders open (after commit)
	filled    decimal.Decimal
}

type part struct {
	c     *counter
	e     *entry          // windowed counters
	gauge decimal.Decimal // gauge counters: amount held
}

func (s *state) counter(key string, window time.Duration) *counter {
	c := s.counters[key]
	if c == nil {
		c = &counter{key: key, window: window}
		s.counters[key] = c
	}
	return c
}

// check returns an *ExceededError when a limit of req would exceed its cap.
func (s *state) check(req *ReserveRequest) error {
	for i := range req.Limits {
		l := &req.Limits[i]
		used := decimal.Decimal{}
		if c := s.counters[l.Key]; c != nil {
			c.advance(req.Now)
			used = c.sum
		}
		// Several limits of one request may share a key.
		for j := 0; j < i; j++ {
			if req.Limits[j].Key == l.Key {
				used = used.Add(req.Limits[j].Amount)
			}
		}
		if used.Add(l.Amount).Cmp(l.Cap) > 0 {
			return &ExceededError{Index: i, Key: l.Key, Used: used, Cap: l.Cap}
		}
	}
	return nil
}

// reserve records req under id; req was checked.
func (s *state) reserve(req *ReserveRequest, id Ticket) {
	t := &ticket{id: id, owner: req.Owner, at: req.Now, parts: make([]part, len(req.Limits))}
	for i := range req.Limits {
		l := &req.Limits[i]
		c := s.counter(l.Key, l.Window)
		c.advance(req.Now)
		c.sum = c.sum.Add(l.Amount)
		if c.window == 0 {
			t.parts[i] = part{c: c, gauge: l.Amount}
			continue
		}
		e := &entry{at: req.Now, amount: l.Amount}
		c.entries = append(c.entries, e)
		t.parts[i] = part{c: c, e: e}
	}
	s.tickets[id] = t
}

func (s *state) ticket(id Ticket) (*ticket, bool) {
	t, ok := s.tickets[id]
	if !ok || t.committed {
		return nil, false
	}
	return t, true
}

// release returns all of a pending ticket's amounts.
func (s *state) release(t *ticket) {
	for i := range t.parts {
		p := &t.parts[i]
		if p.e != nil {
			s.setEntry(p.c, p.e, decimal.Decimal{})
		} else {
			p.c.sum = p.c.sum.Sub(p.gauge)
			p.gauge = decimal.Decimal{}
		}
	}
	delete(s.tickets, t.id)
}

func (s *state) setEntry(c *counter, e *entry, v decimal.Decimal) {
	if !e.expired {
		c.sum = c.sum.Sub(e.amount).Add(v)
	}
	e.amount = v
}

// commit settles a pending ticket.
func (s *state) commit(t *ticket, st Settlement) {
	t.committed = true
	if st.Open {
		if n := len(st.OrderIDs); n > 0 {
			t.open = n
			for i := range t.parts {
				p := &t.parts[i]
				if p.e == nil {
					v := decimal.NewFromInt(int64(n))
					p.c.sum = p.c.sum.Sub(p.gauge).Add(v)
					p.gauge = v
				}
			}
			for _, oid := range st.OrderIDs {
				s.orders[orderKey{t.owner, oid}] = t
			}
			t.filled = st.Filled
			return
		}
		// Open without order ids: nothing can close it, so the ticket keeps
		// everything it holds (fail closed).
		t.open = -1
		return
	}
	s.finish(t, st.Filled)
}

// finish releases a ticket's gauges and trims its windowed amounts to
// filled, then forgets the ticket; its entries age out of their windows.
func (s *state) finish(t *ticket, filled decimal.Decimal) {
	if filled.IsNegative() {
		filled = decimal.Decimal{}
	}
	for i := range t.parts {
		p := &t.parts[i]
		if p.e != nil {
			if filled.LessThan(p.e.amount) {
				s.setEntry(p.c, p.e, filled)
			}
			continue
		}
		p.c.sum = p.c.sum.Sub(p.gauge)
		p.gauge = decimal.Decimal{}
	}
	delete(s.tickets, t.id)
}

// closeOrder records that an open order closed.
func (s *state) closeOrder(owner, id string, filled decimal.Decimal) {
	k := orderKey{owner, id}
	t, ok := s.orders[k]
	if !ok {
		return
	}
	delete(s.orders, k)
	if filled.IsPositive() {
		t.filled = t.filled.Add(filled)
	}
	t.open--
	one := decimal.NewFromInt(1)
	for i := range t.parts {
		p := &t.parts[i]
		if p.e == nil && p.gauge.IsPositive() {
			dec := decimal.Min(one, p.gauge)
			p.c.sum = p.c.sum.Sub(dec)
			p.gauge = p.gauge.Sub(dec)
		}
	}
	if t.open <= 0 {
		s.finish(t, t.filled)
	}
}

type strikes struct {
	n     int
	times []time.Time // windowed counters
}

func (s *state) strike(key string, now time.Time, window time.Duration) int {
	st := s.strikes[key]
	if st == nil {
		st = &strikes{}
		s.strikes[key] = st
	}
	if window <= 0 {
		st.n++
		return st.n
	}
	keep := st.times[:0]
	for _, t := range st.times {
		if now.Before(t.Add(window)) {
			keep = append(keep, t)
		}
	}
	st.times = append(keep, now)
	st.n = len(st.times)
	return st.n
}

func (s *state) clearStrikes(key string) { delete(s.strikes, key) }

func (s *state) trip(k KillState) {
	if s.kill.Tripped {
		return
	}
	k.Tripped = true
	s.kill = k
}

func (s *state) reset() { s.kill = KillState{} }
