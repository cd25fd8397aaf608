package limits

import (
	"cmp"
	"slices"
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
	orders   map[orderKey]*tracked // committed orders by venue id
	clients  map[orderKey]*tracked // committed orders by client order id
	pending  map[orderKey]*ticket  // pending tickets by their orders' client ids
	strikes  map[string]*strikes
	kill     KillState
	seq      uint64
}

type orderKey struct{ owner, id string }

func newState() *state {
	return &state{
		counters: map[string]*counter{},
		tickets:  map[Ticket]*ticket{},
		orders:   map[orderKey]*tracked{},
		clients:  map[orderKey]*tracked{},
		pending:  map[orderKey]*ticket{},
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
	filled    units // filled by the orders closed at commit
	closed    units // filled by the tracked orders that closed since
	// refs are the orders a pending ticket may create (Tracked lists
	// them); orders are a committed ticket's open or unknown orders.
	refs   []OrderRef
	orders []*tracked
}

// tracked is one open or unknown order of a committed ticket.
type tracked struct {
	t   *ticket
	ref OrderRef
	// atOnce is what the order filled at once, when the commit said it
	// (a whole-ticket settlement of one order): its close counts at least
	// that much.
	atOnce units
	// Several tickets may hold one order (an edit holds the order it
	// edits): the indexes chain them, newest first.
	nextID, nextCID *tracked
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
	if len(req.Orders) > 0 {
		t.refs = append([]OrderRef(nil), req.Orders...)
		for _, r := range t.refs {
			if r.ClientID != "" {
				s.pending[orderKey{t.owner, r.ClientID}] = t
			}
		}
	}
}

// unpend forgets the pending orders of t.
func (s *state) unpend(t *ticket) {
	for _, r := range t.refs {
		k := orderKey{t.owner, r.ClientID}
		if r.ClientID != "" && s.pending[k] == t {
			delete(s.pending, k)
		}
	}
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
	s.unpend(t)
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
	s.unpend(t)
	filled := unitsOf(st.Filled, true)
	refs, whole := st.Orders, false
	if len(refs) == 0 {
		switch {
		case !st.Open:
			s.finish(t, filled)
			return
		case len(st.OrderIDs) > 0:
			refs, whole = make([]OrderRef, len(st.OrderIDs)), true
			for i, id := range st.OrderIDs {
				refs[i].ID = id
			}
		case len(t.refs) > 0:
			// Open without order ids: the orders are known by the client
			// ids they were reserved with, and their outcome is unknown.
			refs = make([]OrderRef, len(t.refs))
			for i, r := range t.refs {
				r.Unknown = true
				refs[i] = r
			}
		default:
			// Open without order ids: nothing can close it, so the ticket
			// keeps everything it holds (fail closed).
			t.open, t.refs = -1, nil
			return
		}
	}
	t.refs = nil
	n := len(refs)
	t.open = n
	v := unitsOf(decimal.NewFromInt(int64(n)), true)
	for i := range t.parts {
		p := &t.parts[i]
		if !p.rolling() {
			p.c.sum = p.c.sum.sub(p.gauge).add(v)
			p.gauge = v
		}
	}
	t.orders = make([]*tracked, n)
	for i, r := range refs {
		tr := &tracked{t: t, ref: r}
		t.orders[i] = tr
		s.index(tr)
	}
	if whole && n == 1 {
		// One order: what it filled at once is part of its whole fill.
		t.orders[0].atOnce = filled
	} else {
		t.filled = filled
	}
}

// index makes tr findable by its venue id and client id, first of the
// orders that share them.
func (s *state) index(tr *tracked) {
	if tr.ref.ID != "" {
		k := orderKey{tr.t.owner, tr.ref.ID}
		tr.nextID, s.orders[k] = s.orders[k], tr
	}
	if tr.ref.ClientID != "" {
		k := orderKey{tr.t.owner, tr.ref.ClientID}
		tr.nextCID, s.clients[k] = s.clients[k], tr
	}
}

// unindex forgets tr's ids.
func (s *state) unindex(tr *tracked) {
	if tr.ref.ID != "" {
		unlink(s.orders, orderKey{tr.t.owner, tr.ref.ID}, tr, func(t *tracked) **tracked { return &t.nextID })
	}
	if tr.ref.ClientID != "" {
		unlink(s.clients, orderKey{tr.t.owner, tr.ref.ClientID}, tr, func(t *tracked) **tracked { return &t.nextCID })
	}
}

// unlink removes tr from the chain m[k] links through next.
func unlink(m map[orderKey]*tracked, k orderKey, tr *tracked, next func(*tracked) **tracked) {
	if m[k] == tr {
		if n := *next(tr); n != nil {
			m[k] = n
		} else {
			delete(m, k)
		}
		*next(tr) = nil
		return
	}
	for p := m[k]; p != nil; p = *next(p) {
		if np := next(p); *np == tr {
			*np, *next(tr) = *next(tr), nil
			return
		}
	}
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
			if filled.isZero() {
				p.c.drop(p.idx)
				continue
			}
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

// closeOrder records that an open order closed. Every ticket that holds
// it settles; the newest counts the fill.
func (s *state) closeOrder(owner, id string, filled decimal.Decimal) {
	s.closeAll(s.byID(owner, id), unitsOf(filled, true))
}

// byID returns the tracked orders of venue id id, newest first.
func (s *state) byID(owner, id string) []*tracked {
	var out []*tracked
	for p := s.orders[orderKey{owner, id}]; p != nil; p = p.nextID {
		out = append(out, p)
	}
	return out
}

// closeAll closes trs; the first counts the fill.
func (s *state) closeAll(trs []*tracked, filled units) {
	for i, tr := range trs {
		if i > 0 {
			filled = units{}
		}
		s.closeTracked(tr, filled)
	}
}

// closeTracked records that a tracked order closed having filled filled
// in all.
func (s *state) closeTracked(tr *tracked, filled units) {
	t := tr.t
	s.unindex(tr)
	if i := slices.Index(t.orders, tr); i >= 0 {
		t.orders = slices.Delete(t.orders, i, i+1)
	}
	if filled.cmp(tr.atOnce) < 0 {
		filled = tr.atOnce
	}
	t.closed = t.closed.add(filled)
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
		s.finish(t, t.filled.add(t.closed))
	}
}

// targets returns the tracked orders u names: those of venue id u.ID,
// else those of client id u.ClientID that have no venue id or u.ID. A
// pending ticket that holds u.ClientID is committed first when commit is
// true; otherwise pending reports it.
func (s *state) targets(owner string, u *OrderUpdate, commit bool) (trs []*tracked, pending bool) {
	if u.ID != "" {
		for _, tr := range s.byID(owner, u.ID) {
			if u.Symbol == "" || tr.ref.Symbol == "" || tr.ref.Symbol == u.Symbol {
				trs = append(trs, tr)
			}
		}
		if len(trs) > 0 {
			return trs, false
		}
	}
	if u.ClientID == "" {
		return nil, false
	}
	k := orderKey{owner, u.ClientID}
	if t := s.pending[k]; t != nil && s.clients[k] == nil {
		if !commit {
			return nil, true
		}
		s.commit(t, Settlement{Open: true})
	}
	for p := s.clients[k]; p != nil; p = p.nextCID {
		if p.ref.ID == "" || p.ref.ID == u.ID {
			trs = append(trs, p)
		}
	}
	return trs, false
}

// updates reports whether UpdateOrder(owner, u) changes anything.
func (s *state) updates(owner string, u *OrderUpdate) bool {
	trs, pending := s.targets(owner, u, false)
	if pending {
		return true
	}
	for _, tr := range trs {
		if u.Closed || tr.ref.Unknown || u.ID != "" && tr.ref.ID == "" {
			return true
		}
	}
	return false
}

// updateOrder applies what a look-up found of a tracked order.
func (s *state) updateOrder(owner string, u OrderUpdate) {
	trs, _ := s.targets(owner, &u, true)
	if u.Closed {
		s.closeAll(trs, unitsOf(u.Filled, true))
		return
	}
	for _, tr := range trs {
		tr.ref.Unknown = false
		if u.ID != "" && tr.ref.ID == "" {
			s.unindex(tr)
			tr.ref.ID = u.ID
			s.index(tr)
		}
	}
}

// trackedOrders lists owner's open and unknown orders, oldest first.
func (s *state) trackedOrders(owner string) []TrackedOrder {
	var out []TrackedOrder
	for _, t := range s.tickets {
		if t.owner != owner {
			continue
		}
		if !t.committed {
			for _, r := range t.refs {
				r.Unknown = true
				out = append(out, TrackedOrder{OrderRef: r, Owner: owner, At: fromNanos(t.at), Pending: true})
			}
		}
	}
	// Committed tickets of the fast path are not in s.tickets: their
	// orders are found through the indexes.
	seen := map[*tracked]bool{}
	add := func(tr *tracked) {
		if !seen[tr] {
			seen[tr] = true
			out = append(out, TrackedOrder{OrderRef: tr.ref, Owner: owner, At: fromNanos(tr.t.at)})
		}
	}
	for k, tr := range s.orders {
		for p := tr; k.owner == owner && p != nil; p = p.nextID {
			add(p)
		}
	}
	for k, tr := range s.clients {
		for p := tr; k.owner == owner && p != nil; p = p.nextCID {
			add(p)
		}
	}
	sortTracked(out)
	return out
}

// sortTracked sorts tracked orders oldest first.
func sortTracked(out []TrackedOrder) {
	slices.SortFunc(out, func(a, b TrackedOrder) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ClientID, b.ClientID), cmp.Compare(a.ID, b.ID))
	})
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
