package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/keyfence/keyfence/limits"
)

// The settlement of tickets: Commit, CloseOrder and UpdateOrder lock the
// tickets they settle (in id order) and then those tickets' counters (in
// key order), settle in Go on the locked rows, and write the result with
// COMMIT in one batch. A rolling counter changes only by SQL relative to
// its entries (trimEntries); a gauge only by the absolute sums computed
// here, so the two never overwrite each other.

// ticket is a locked ticket row.
type ticket struct {
	id        int64
	owner     string
	at        int64
	committed bool
	open      int32
	filled    decimal.Decimal
	closed    decimal.Decimal
	keys      []string
	windows   []int64
	gauges    []decimal.Decimal
	refs      []limits.OrderRef // a pending ticket's orders
	// What settling did to it.
	finished, dirty bool
}

// scanTicket reads a row of lockTickets.
func scanTicket(row pgx.Row) (*ticket, error) {
	t := &ticket{}
	var filled, closed string
	var owner []byte
	var keys, rid, rcid, rsym [][]byte
	var gauges []string
	err := row.Scan(&t.id, &owner, &t.at, &t.committed, &t.open, &filled, &closed, &keys, &t.windows, &gauges, &rid, &rcid, &rsym)
	if err != nil {
		return nil, err
	}
	t.owner = string(owner)
	t.keys = make([]string, len(keys))
	for i, k := range keys {
		t.keys[i] = string(k)
	}
	if t.filled, err = decimal.NewFromString(filled); err != nil {
		return nil, err
	}
	if t.closed, err = decimal.NewFromString(closed); err != nil {
		return nil, err
	}
	t.gauges = make([]decimal.Decimal, len(gauges))
	for i, g := range gauges {
		if t.gauges[i], err = decimal.NewFromString(g); err != nil {
			return nil, err
		}
	}
	if len(t.keys) != len(t.windows) || len(t.keys) != len(t.gauges) || len(rid) != len(rcid) || len(rid) != len(rsym) {
		return nil, fmt.Errorf("ticket %d has parts of different lengths", t.id)
	}
	for i := range rid {
		t.refs = append(t.refs, limits.OrderRef{ID: string(rid[i]), ClientID: string(rcid[i]), Symbol: string(rsym[i])})
	}
	return t, nil
}

// tracked is a locked row of the tracked orders.
type tracked struct {
	seq    int64
	ticket int64
	id     string // "" while the venue has not said it
	cid    string
	symbol string
	atOnce decimal.Decimal
}

func scanTracked(rows pgx.Rows) ([]*tracked, error) {
	var out []*tracked
	for rows.Next() {
		tr := &tracked{}
		var id, cid, sym []byte
		var atOnce string
		if err := rows.Scan(&tr.seq, &tr.ticket, &id, &cid, &sym, &atOnce); err != nil {
			return nil, err
		}
		tr.id, tr.cid, tr.symbol = string(id), string(cid), string(sym)
		d, err := decimal.NewFromString(atOnce)
		if err != nil {
			return nil, err
		}
		tr.atOnce = d
		out = append(out, tr)
	}
	return out, rows.Err()
}

// settler settles tickets locked in one transaction.
type settler struct {
	s        *Store
	tickets  map[int64]*ticket
	counters map[string]*counter
	gauge    map[string]decimal.Decimal // change of each gauge counter
	b        *pgx.Batch                 // the writes, sent with COMMIT
}

// begin opens a transaction and locks tickets ids, then their counters,
// in one round trip.
func (s *Store) begin(ctx context.Context, c *pgx.Conn, ids []int64) (*settler, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	st := &settler{s: s, tickets: map[int64]*ticket{}, counters: map[string]*counter{}, gauge: map[string]decimal.Decimal{}, b: &pgx.Batch{}}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(s.q.lockTickets, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			t, err := scanTicket(rows)
			if err != nil {
				return err
			}
			st.tickets[t.id] = t
		}
		return rows.Err()
	})
	b.Queue(s.q.lockTicketCounters, ids).Query(func(rows pgx.Rows) error { return scanCounters(rows, st.counters) })
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return st, nil
}

// commit settles pending ticket t as Store.Commit does.
func (st *settler) commit(t *ticket, s limits.Settlement) {
	q := &st.s.q
	t.committed, t.dirty = true, true
	st.b.Queue(q.unpend, t.id)
	filled := nonNegative(s.Filled)
	refs, whole := s.Orders, false
	if len(refs) == 0 {
		switch {
		case !s.Open:
			st.finish(t, filled)
			return
		case len(s.OrderIDs) > 0:
			refs, whole = make([]limits.OrderRef, len(s.OrderIDs)), true
			for i, id := range s.OrderIDs {
				refs[i].ID = id
			}
		case len(t.refs) > 0:
			// Open without order ids: the orders are known by the client
			// ids they were reserved with, and their outcome is unknown.
			refs = make([]limits.OrderRef, len(t.refs))
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
	t.open = int32(n)
	v := decimal.NewFromInt(int64(n))
	for i, w := range t.windows {
		if w == 0 {
			st.gauge[t.keys[i]] = st.gauge[t.keys[i]].Add(v.Sub(t.gauges[i]))
			t.gauges[i] = v
		}
	}
	ids, cids, syms := make([][]byte, n), make([][]byte, n), make([][]byte, n)
	unknown, atOnce := make([]bool, n), make([]string, n)
	for i, r := range refs {
		ids[i], cids[i], syms[i], unknown[i], atOnce[i] = []byte(r.ID), []byte(r.ClientID), []byte(r.Symbol), r.Unknown, "0"
	}
	if whole && n == 1 {
		// One order: what it filled at once is part of its whole fill.
		atOnce[0] = filled.String()
	} else {
		t.filled = filled
	}
	st.b.Queue(q.insertTracked, t.id, []byte(t.owner), ids, cids, syms, unknown, atOnce)
}

// finish releases a ticket's gauges and trims its rolling amounts to
// filled, then forgets it; its entries stay until their windows roll.
func (st *settler) finish(t *ticket, filled decimal.Decimal) {
	for i, w := range t.windows {
		if w == 0 && !t.gauges[i].IsZero() {
			st.gauge[t.keys[i]] = st.gauge[t.keys[i]].Sub(t.gauges[i])
			t.gauges[i] = decimal.Zero
		}
	}
	st.b.Queue(st.s.q.trimEntries, t.id, filled.String())
	st.b.Queue(st.s.q.deleteTicket, t.id)
	t.finished = true
}

// close settles tracked order tr, which closed having filled filled in
// all.
func (st *settler) close(tr *tracked, filled decimal.Decimal) {
	t := st.tickets[tr.ticket]
	if t == nil || t.finished {
		return
	}
	st.b.Queue(st.s.q.deleteTracked, tr.seq)
	t.closed = t.closed.Add(decimal.Max(filled, tr.atOnce))
	t.open--
	t.dirty = true
	for i, w := range t.windows {
		if w == 0 && t.gauges[i].IsPositive() {
			d := decimal.Min(one, t.gauges[i])
			t.gauges[i] = t.gauges[i].Sub(d)
			st.gauge[t.keys[i]] = st.gauge[t.keys[i]].Sub(d)
		}
	}
	if t.open <= 0 {
		st.finish(t, t.filled.Add(t.closed))
	}
}

// closeAll closes trs, newest first: the first counts the fill.
func (st *settler) closeAll(trs []*tracked, filled decimal.Decimal) {
	for i, tr := range trs {
		if i > 0 {
			filled = decimal.Zero
		}
		st.close(tr, filled)
	}
}

// send writes what the settlement changed and commits.
func (st *settler) send(ctx context.Context, c *pgx.Conn) error {
	q := &st.s.q
	if len(st.gauge) > 0 {
		var keys, sums []string
		for k, d := range st.gauge {
			cn := st.counters[k]
			if cn == nil || d.IsZero() {
				continue
			}
			v := cn.sum.Add(d)
			if v.IsNegative() {
				v = decimal.Zero
			}
			keys, sums = append(keys, k), append(sums, v.String())
		}
		if len(keys) > 0 {
			st.b.Queue(q.setSums, bs(keys), sums)
		}
	}
	for _, t := range st.tickets {
		if t.dirty && !t.finished {
			st.b.Queue(q.updateTicket, t.id, t.committed, t.open, t.filled.String(), t.closed.String(), texts(t.gauges))
		}
	}
	st.b.Queue("COMMIT")
	return c.SendBatch(ctx, st.b).Close()
}

// pending opens a transaction and locks the uncommitted ticket named by t
// and its counters, or returns limits.ErrUnknownTicket as an outcome.
func (s *Store) pending(ctx context.Context, c *pgx.Conn, t limits.Ticket) (*settler, *ticket, error) {
	id, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil || id <= 0 {
		return nil, nil, &outcome{err: limits.ErrUnknownTicket}
	}
	st, err := s.begin(ctx, c, []int64{id})
	if err != nil {
		return nil, nil, err
	}
	tk := st.tickets[id]
	if tk == nil || tk.committed {
		return nil, nil, &outcome{err: limits.ErrUnknownTicket}
	}
	return st, tk, nil
}

// Commit implements limits.Store.
func (s *Store) Commit(ctx context.Context, t limits.Ticket, settlement limits.Settlement) error {
	unlock, err := s.lockTicketKeys(ctx, t)
	if err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	defer unlock()
	return s.run(ctx, "commit", func(c *pgx.Conn) error {
		st, tk, err := s.pending(ctx, c, t)
		if err != nil {
			return err
		}
		st.commit(tk, settlement)
		return st.send(ctx, c)
	})
}

// Release implements limits.Store.
func (s *Store) Release(ctx context.Context, t limits.Ticket) error {
	unlock, err := s.lockTicketKeys(ctx, t)
	if err != nil {
		return fmt.Errorf("pgstore: release: %w", err)
	}
	defer unlock()
	return s.run(ctx, "release", func(c *pgx.Conn) error {
		_, tk, err := s.pending(ctx, c, t)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(s.q.dropEntries, tk.id)
		b.Queue(s.q.dropGauges, bs(tk.keys), texts(tk.gauges))
		b.Queue(s.q.deleteTicket, tk.id)
		b.Queue("COMMIT")
		return c.SendBatch(ctx, b).Close()
	})
}

var one = decimal.NewFromInt(1)

// ticketsOf returns the tickets of trs.
func ticketsOf(trs []*tracked) []int64 {
	ids := make([]int64, len(trs))
	for i, tr := range trs {
		ids[i] = tr.ticket
	}
	return ids
}

// lockedOnly keeps the tracked orders whose tickets st holds: an order
// tracked by a ticket committed after the first look was not locked, and
// stays held for the next look-up (fail closed).
func (st *settler) lockedOnly(trs []*tracked) []*tracked {
	return slices.DeleteFunc(trs, func(tr *tracked) bool { return st.tickets[tr.ticket] == nil })
}

func (s *Store) queryTracked(ctx context.Context, c *pgx.Conn, sql string, args ...any) ([]*tracked, error) {
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanTracked(rows)
}

// CloseOrder implements limits.Store: every ticket that holds the order
// settles; the newest counts the fill.
func (s *Store) CloseOrder(ctx context.Context, owner, orderID string, filledQuote decimal.Decimal) error {
	filled := nonNegative(filledQuote)
	return s.run(ctx, "closing an order", func(c *pgx.Conn) error {
		trs, err := s.queryTracked(ctx, c, s.q.trackedByID, []byte(owner), []byte(orderID))
		if err != nil || len(trs) == 0 {
			return err
		}
		st, err := s.begin(ctx, c, ticketsOf(trs))
		if err != nil {
			return err
		}
		// Again, under the locks.
		if trs, err = s.queryTracked(ctx, c, s.q.trackedByID, []byte(owner), []byte(orderID)); err != nil {
			return err
		}
		if trs = st.lockedOnly(trs); len(trs) == 0 {
			return nil
		}
		st.closeAll(trs, filled)
		return st.send(ctx, c)
	})
}

// targets returns the tracked orders u names, as the limits package's
// stores find them: those of venue id u.ID (of symbol u.Symbol, when both
// say one), else those of client id u.ClientID that have no venue id or
// u.ID. pend is the pending ticket that holds u.ClientID when no committed
// order does, or 0.
func (s *Store) targets(ctx context.Context, c *pgx.Conn, owner string, u *limits.OrderUpdate) (trs []*tracked, pend int64, err error) {
	if u.ID != "" {
		if trs, err = s.queryTracked(ctx, c, s.q.trackedByID, []byte(owner), []byte(u.ID)); err != nil {
			return nil, 0, err
		}
		trs = slices.DeleteFunc(trs, func(tr *tracked) bool { return u.Symbol != "" && tr.symbol != "" && tr.symbol != u.Symbol })
		if len(trs) > 0 {
			return trs, 0, nil
		}
	}
	if u.ClientID == "" {
		return nil, 0, nil
	}
	var id *[]byte
	if u.ID != "" {
		b := []byte(u.ID)
		id = &b
	}
	if trs, err = s.queryTracked(ctx, c, s.q.trackedByCID, []byte(owner), []byte(u.ClientID), id); err != nil {
		return nil, 0, err
	}
	var anyTracked bool
	var p *int64
	if err := c.QueryRow(ctx, s.q.pendingByCID, []byte(owner), []byte(u.ClientID)).Scan(&anyTracked, &p); err != nil {
		return nil, 0, err
	}
	if !anyTracked && p != nil {
		pend = *p
	}
	return trs, pend, nil
}

// UpdateOrder implements limits.Store.
func (s *Store) UpdateOrder(ctx context.Context, owner string, u limits.OrderUpdate) error {
	filled := nonNegative(u.Filled)
	return s.run(ctx, "recording an order look-up", func(c *pgx.Conn) error {
		trs, pend, err := s.targets(ctx, c, owner, &u)
		if err != nil || len(trs) == 0 && pend == 0 {
			return err
		}
		ids := ticketsOf(trs)
		if pend != 0 {
			ids = append(ids, pend)
		}
		st, err := s.begin(ctx, c, ids)
		if err != nil {
			return err
		}
		// Again, under the locks.
		if trs, pend, err = s.targets(ctx, c, owner, &u); err != nil {
			return err
		}
		if pend != 0 {
			t := st.tickets[pend]
			if t == nil || t.committed {
				return nil // not locked: the next look-up settles it
			}
			// Its orders become tracked, of unknown outcome; then they
			// are found by client id.
			st.commit(t, limits.Settlement{Open: true})
			if err := c.SendBatch(ctx, st.b).Close(); err != nil {
				return err
			}
			st.b = &pgx.Batch{}
			if trs, _, err = s.targets(ctx, c, owner, &u); err != nil {
				return err
			}
		}
		trs = st.lockedOnly(trs)
		if u.Closed {
			st.closeAll(trs, filled)
			return st.send(ctx, c)
		}
		for _, tr := range trs {
			if u.ID != "" && tr.id == "" {
				st.b.Queue(s.q.knownWithID, tr.seq, []byte(u.ID))
			} else {
				st.b.Queue(s.q.known, tr.seq)
			}
		}
		return st.send(ctx, c)
	})
}

// Tracked implements limits.Store. At is the database's time of the
// reservation (see the package doc).
func (s *Store) Tracked(ctx context.Context, owner string) ([]limits.TrackedOrder, error) {
	var out []limits.TrackedOrder
	err := s.run(ctx, "listing tracked orders", func(c *pgx.Conn) error {
		out = nil
		// One snapshot for both reads.
		b := &pgx.Batch{}
		b.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
		b.Queue(s.q.pendingRefs, []byte(owner)).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var at int64
				var rid, rcid, rsym [][]byte
				if err := rows.Scan(&at, &rid, &rcid, &rsym); err != nil {
					return err
				}
				if len(rid) != len(rcid) || len(rid) != len(rsym) {
					return errors.New("a ticket's orders have fields of different lengths")
				}
				for i := range rid {
					out = append(out, limits.TrackedOrder{OrderRef: limits.OrderRef{ID: string(rid[i]), ClientID: string(rcid[i]), Symbol: string(rsym[i]), Unknown: true},
						Owner: owner, At: fromNanos(at), Pending: true})
				}
			}
			return rows.Err()
		})
		b.Queue(s.q.trackedOf, []byte(owner)).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var at int64
				var id, cid, sym []byte
				var unknown bool
				if err := rows.Scan(&at, &id, &cid, &sym, &unknown); err != nil {
					return err
				}
				out = append(out, limits.TrackedOrder{OrderRef: limits.OrderRef{ID: string(id), ClientID: string(cid), Symbol: string(sym), Unknown: unknown},
					Owner: owner, At: fromNanos(at)})
			}
			return rows.Err()
		})
		b.Queue("COMMIT")
		return c.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b limits.TrackedOrder) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if a.ClientID != b.ClientID {
			if a.ClientID < b.ClientID {
				return -1
			}
			return 1
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, nil
}

// ReservedOrder implements limits.SharedOrders: the newest order of owner
// with client id clientID that a reservation named within the retention
// (WithOrderRetention), whichever process made it.
func (s *Store) ReservedOrder(ctx context.Context, owner, clientID string) (limits.OrderRef, bool, error) {
	var sym []byte
	err := s.pool.QueryRow(ctx, s.q.reservedOrder, []byte(owner), []byte(clientID)).Scan(&sym)
	if errors.Is(err, pgx.ErrNoRows) {
		return limits.OrderRef{}, false, nil
	}
	if err != nil {
		return limits.OrderRef{}, false, s.fail(ctx, "looking up a reserved order", err)
	}
	return limits.OrderRef{ClientID: clientID, Symbol: string(sym)}, true, nil
}
