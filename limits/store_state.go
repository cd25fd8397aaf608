package limits

import (
	"time"

	"github.com/shopspring/decimal"
)

// state is the store state machine shared by MemoryStore and FileStore.
// It is not safe for concurrent use; the stores lock around it. Its
// mutating methods never fail once their arguments were checked, so a
// FileStore can journal an operation and then apply it. Amounts are kept in
// units (see units).
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
	key    string
	window int64 // nanoseconds
	sum    units
	// The entries of a rolling sum, in reservation order, live in blocks
	// of blockSize so that appending never copies old entries. The live
	// entries are those from absolute index base+head to base+n-1, where n
	// counts the entries in blocks.
	blocks [][]entry
	head   int
	base   uint64
	n      int
	// The last cap seen and its units: callers pass the same cap value
	// each time, so comparing the decimal (pointer and exponent) saves
	// converting it again.
	lastCap  decimal.Decimal
	lastCapU units
}

func (c *counter) capUnits(d decimal.Decimal) units {
	if d != c.lastCap {
		c.lastCap, c.lastCapU = d, unitsOf(d, false)
	}
	return c.lastCapU
}

const blockSize = 512

// entry is one reservation's amount in a rolling sum. It holds no
// pointers, so long windows cost the garbage collector nothing.
type entry struct {
	at     int64 // unix nanoseconds
	amount units
}

func (c *counter) live() int { return c.n - c.head }

func (c *counter) at(off int) *entry { return &c.blocks[off/blockSize][off%blockSize] }

// push appends an entry and returns its absolute index.
func (c *counter) push(e entry) uint64 {
	if len(c.blocks) == 0 || len(c.blocks[len(c.blocks)-1]) == blockSize {
		c.blocks = append(c.blocks, make([]entry, 0, blockSize))
	}
	last := &c.blocks[len(c.blocks)-1]
	*last = append(*last, e)
	c.n++
	return c.base + uint64(c.n-1)
}

// advance drops the entries that left the window at now.
func (c *counter) advance(now int64) {
	if c.window == 0 {
		return
	}
	for c.head < c.n {
		e := c.at(c.head)
		if now < e.at+c.window {
			break
		}
		c.sum = c.sum.sub(e.amount)
		c.head++
		if c.head == blockSize {
			c.blocks[0] = nil
			c.blocks = c.blocks[1:]
			c.head, c.n, c.base = 0, c.n-blockSize, c.base+blockSize
		}
	}
	if c.head == c.n {
		c.sum = units{}
	}
}

// entry returns the live entry at absolute index i, or nil when it left
// the window.
func (c *counter) entry(i uint64) *entry {
	if i < c.base+uint64(c.head) || i >= c.base+uint64(c.n) {
		return nil
	}
	return c.at(int(i - c.base))
}

// setEntry changes the amount of entry i, if it is still live.
func (c *counter) setEntry(i uint64, v units) {
	if e := c.entry(i); e != nil {
		c.sum = c.sum.sub(e.amount).add(v)
		e.amount = v
	}
}

// drop returns the amount of entry i, if it is still live: the newest
// entry is removed, so that a reservation released before the next one
// leaves nothing in the window, and an older one is set to zero.
func (c *counter) drop(i uint64) {
	e := c.entry(i)
	if e == nil {
		return
	}
	c.sum = c.sum.sub(e.amount)
	// Every block but the last is full, so a last block that is not empty
	// ends with the newest entry.
	last := &c.blocks[len(c.blocks)-1]
	if i == c.base+uint64(c.n-1) && len(*last) > 0 {
		*last = (*last)[:len(*last)-1]
		c.n--
		return
	}
	e.amount = units{}
}

// ticket is a reservation: one part per limit.
type ticket struct {
	id        Ticket
	owner     string
	at        int64
	parts     []part
	inline    [3]part
	committed bool
	open      int   // orders open after commit; -1: open without order ids
	filled    units // filled at once, from the commit
	closed    units // filled, from the closes of its orders
}

type part struct {
	c     *counter
	idx   uint64 // rolling sums: absolute entry index
	gauge units  // gauges: amount held
}

func (p *part) rolling() bool { return p.c.window != 0 }

func (s *state) counter(key string, window int64) *counter {
	c := s.counters[key]
	if c == nil {
		c = &counter{key: key, window: window}
		s.counters[key] = c
	}
	return c
}

// prepared is a Limit converted to units.
type prepared struct {
	c      *counter // nil when the counter does not exist yet
	amount units
	cap    units
}

// check converts req's limits into ps (len(req.Limits)) and returns an
// *ExceededError when one would exceed its cap.
func (s *state) check(req *ReserveRequest, ps []prepared) error {
	now := nanos(req.Now)
	for i := range req.Limits {
		l := &req.Limits[i]
		p := &ps[i]
		p.amount = unitsOf(l.Amount, true)
		used := units{}
		if p.c = s.counters[l.Key]; p.c != nil {
			p.c.advance(now)
			used = p.c.sum
			p.cap = p.c.capUnits(l.Cap)
		} else {
			p.cap = unitsOf(l.Cap, false)
		}
		// Several limits of one request may share a key.
		for j := 0; j < i; j++ {
			if req.Limits[j].Key == l.Key {
				used = used.add(ps[j].amount)
			}
		}
		if used.add(p.amount).cmp(p.cap) > 0 {
			return &ExceededError{Index: i, Key: l.Key, Used: used.decimal(), Cap: l.Cap}
		}
	}
	return nil
}

// reserve records req, checked into ps, under id.
func (s *state) reserve(req *ReserveRequest, ps []prepared, id Ticket) {
	now := nanos(req.Now)
	t := &ticket{id: id, owner: req.Owner, at: now}
	if len(req.Limits) <= len(t.inline) {
		t.parts = t.inline[:len(req.Limits)]
	} else {
		t.parts = make([]part, len(req.Limits))
	}
	for i := range req.Limits {
		l := &req.Limits[i]
		c := ps[i].c // advanced to now by check
		if c == nil {
			c = s.counter(l.Key, int64(l.Window))
			c.advance(now)
		}
		c.sum = c.sum.add(ps[i].amount)
		if c.window == 0 {
			t.parts[i] = part{c: c, gauge: ps[i].amount}
			continue
		}
		t.parts[i] = part{c: c, idx: c.push(entry{at: now, amount: ps[i].amount})}
	}
	s.tickets[id] = t
}

// prepare converts limits for replay, where nothing is checked.
func prepare(req *ReserveRequest) []prepared {
	ps := make([]prepared, len(req.Limits))
	for i, l := range req.Limits {
		ps[i] = prepared{amount: unitsOf(l.Amount, true), cap: unitsOf(l.Cap, false)}
	}
	return ps
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
	releaseParts(t.parts)
	delete(s.tickets, t.id)
}

// releaseParts returns the amounts of a pending reservation's parts.
func releaseParts(ps []part) {
	for i := range ps {
		p := &ps[i]
		if p.rolling() {
			p.c.drop(p.idx)
		} else {
			p.c.sum = p.c.sum.sub(p.gauge)
			p.gauge = units{}
		}
	}
}

// commit settles a pending ticket.
func (s *state) commit(t *ticket, st Settlement) {
	t.committed = true
	filled := unitsOf(st.Filled, true)
	if !st.Open {
		s.finish(t, filled)
		return
	}
	n := len(st.OrderIDs)
	if n == 0 {
		// Open without order ids: nothing can close it, so the ticket keeps
		// everything it holds (fail closed).
		t.open = -1
		return
	}
	t.open = n
	v := unitsOf(decimal.NewFromInt(int64(n)), true)
	for i := range t.parts {
		p := &t.parts[i]
		if !p.rolling() {
			p.c.sum = p.c.sum.sub(p.gauge).add(v)
			p.gauge = v
		}
	}
	for _, oid := range st.OrderIDs {
		s.orders[orderKey{t.owner, oid}] = t
	}
	t.filled = filled
}

// finish releases a ticket's gauges and trims its windowed amounts to
// filled, then forgets the ticket; its entries age out of their windows.
func (s *state) finish(t *ticket, filled units) {
	finishParts(t.parts, filled)
	delete(s.tickets, t.id)
}

// finishParts releases the gauges of a reservation's parts and trims its
// windowed amounts to filled.
func finishParts(ps []part, filled units) {
	for i := range ps {
		p := &ps[i]
		if p.rolling() {
			if e := p.c.entry(p.idx); e != nil && filled.cmp(e.amount) < 0 {
				p.c.setEntry(p.idx, filled)
			}
			continue
		}
		p.c.sum = p.c.sum.sub(p.gauge)
		p.gauge = units{}
	}
}

var oneUnit = units{lo: pow10u64[unitScale]}

// closeOrder records that an open order closed.
func (s *state) closeOrder(owner, id string, filled decimal.Decimal) {
	k := orderKey{owner, id}
	t, ok := s.orders[k]
	if !ok {
		return
	}
	delete(s.orders, k)
	t.closed = t.closed.add(unitsOf(filled, true))
	t.open--
	for i := range t.parts {
		p := &t.parts[i]
		if !p.rolling() && !p.gauge.isZero() {
			d := minUnits(oneUnit, p.gauge)
			p.c.sum = p.c.sum.sub(d)
			p.gauge = p.gauge.sub(d)
		}
	}
	if t.open <= 0 {
		// A close reports the order's whole fill, which includes what
		// filled at once.
		if t.closed.cmp(t.filled) > 0 {
			s.finish(t, t.closed)
		} else {
			s.finish(t, t.filled)
		}
	}
}

type strikes struct {
	n     int
	times []int64 // windowed counters
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
	n, w := nanos(now), int64(window)
	keep := st.times[:0]
	for _, t := range st.times {
		if n < t+w {
			keep = append(keep, t)
		}
	}
	st.times = append(keep, n)
	st.n = len(st.times)
	return st.n
}

func (s *state) clearStrikes(key string) {
	if len(s.strikes) > 0 {
		delete(s.strikes, key)
	}
}

func (s *state) trip(k KillState) {
	if s.kill.Tripped {
		return
	}
	k.Tripped = true
	s.kill = k
}

func (s *state) reset() { s.kill = KillState{} }
