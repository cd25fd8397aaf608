package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/keyfence/keyfence/limits"
)

// scale is the number of decimal places the store keeps, as the limits
// package's stores do: amounts round up to it and caps down, so a value
// finer than 10^-18 can only make a check stricter.
const scale = 18

// clockNS is the database's clock in unix nanoseconds (microsecond
// resolution).
const clockNS = `((extract(epoch FROM clock_timestamp()) * 1000000)::bigint * 1000)`

// queries holds the statements with the schema filled in.
type queries struct {
	lockCounters, createCounters, expire, record, setSums string
	lockTicket, commitOpen, commitNoIDs, insertOrders     string
	trimEntries, dropEntries, dropGauges, deleteTicket    string
	findOrder, deleteOrder, closeOpen                     string
	strike, strikeWindow, clearStrikes                    string
	trip, reset, killSwitch                               string
}

func newQueries(ident string) queries {
	r := strings.NewReplacer("{S}", ident, "{clock}", clockNS)
	q := queries{
		lockCounters:   `SELECT key, window_ns, sum::text FROM {S}.counters WHERE key = ANY($1::bytea[]) ORDER BY key FOR UPDATE`,
		createCounters: `INSERT INTO {S}.counters (key, window_ns) SELECT k, w FROM unnest($1::bytea[], $2::bigint[]) AS u(k, w) ORDER BY k ON CONFLICT (key) DO NOTHING`,
		// The clock is read once the counters are locked; the entries
		// that left their windows at that time go, and their sums are
		// returned so that the caller sets the counters' new sums.
		expire: `WITH now AS MATERIALIZED (SELECT {clock} AS ns),
gone AS (DELETE FROM {S}.entries e USING unnest($1::bytea[], $2::bigint[]) AS c(key, w), now
	WHERE c.w > 0 AND e.key = c.key AND e.at_ns <= now.ns - c.w RETURNING e.key, e.amount)
SELECT now.ns, g.key, g.total::text FROM now LEFT JOIN (SELECT key, sum(amount) AS total FROM gone GROUP BY key) g ON true`,
		record: `WITH t AS (INSERT INTO {S}.tickets (id, owner, at_ns, keys, windows, gauges)
	VALUES (nextval('{S}.ticket_ids'), $1::bytea, $2, $3::bytea[], $4::bigint[], $5::text[]::numeric[]) RETURNING id),
e AS (INSERT INTO {S}.entries (ticket, part, key, at_ns, amount)
	SELECT t.id, p.i, p.key, $2, p.amount FROM t, unnest($3::bytea[], $4::bigint[], $6::text[]::numeric[]) WITH ORDINALITY AS p(key, w, amount, i) WHERE p.w > 0)
SELECT id FROM t`,
		setSums:      `UPDATE {S}.counters c SET sum = v.sum FROM unnest($1::bytea[], $2::text[]::numeric[]) AS v(key, sum) WHERE c.key = v.key`,
		lockTicket:   `SELECT owner, committed, open, filled::text, closed::text, keys, windows, gauges::text[] FROM {S}.tickets WHERE id = $1 FOR UPDATE`,
		commitOpen:   `UPDATE {S}.tickets SET committed = true, open = $2, filled = $3::text::numeric, gauges = $4::text[]::numeric[] WHERE id = $1`,
		commitNoIDs:  `UPDATE {S}.tickets SET committed = true, open = -1 WHERE id = $1`,
		insertOrders: `INSERT INTO {S}.orders (owner, order_id, ticket) SELECT $1::bytea, o, $2 FROM unnest($3::bytea[]) AS o ON CONFLICT (owner, order_id) DO UPDATE SET ticket = excluded.ticket`,
		// A rolling part keeps at most what filled.
		trimEntries: `WITH old AS (SELECT part, key, amount FROM {S}.entries WHERE ticket = $1 AND amount > $2::text::numeric FOR UPDATE),
upd AS (UPDATE {S}.entries e SET amount = $2::text::numeric FROM old WHERE e.ticket = $1 AND e.part = old.part),
d AS (SELECT key, sum(amount - $2::text::numeric) AS delta FROM old GROUP BY key)
UPDATE {S}.counters c SET sum = c.sum - d.delta FROM d WHERE c.key = d.key`,
		dropEntries: `WITH d AS (DELETE FROM {S}.entries WHERE ticket = $1 RETURNING key, amount),
x AS (SELECT key, sum(amount) AS amount FROM d GROUP BY key)
UPDATE {S}.counters c SET sum = c.sum - x.amount FROM x WHERE c.key = x.key`,
		dropGauges: `UPDATE {S}.counters c SET sum = greatest(c.sum - g.amount, 0)
FROM (SELECT key, sum(amount) AS amount FROM unnest($1::bytea[], $2::text[]::numeric[]) AS u(key, amount) WHERE amount > 0 GROUP BY key) g
WHERE c.key = g.key`,
		deleteTicket: `DELETE FROM {S}.tickets WHERE id = $1`,
		findOrder:    `SELECT ticket FROM {S}.orders WHERE owner = $1::bytea AND order_id = $2::bytea`,
		deleteOrder:  `DELETE FROM {S}.orders WHERE owner = $1::bytea AND order_id = $2::bytea AND ticket = $3`,
		closeOpen:    `UPDATE {S}.tickets SET open = $2, closed = $3::text::numeric, gauges = $4::text[]::numeric[] WHERE id = $1`,
		strike:       `INSERT INTO {S}.strikes AS s (key, n) VALUES ($1::bytea, 1) ON CONFLICT (key) DO UPDATE SET n = s.n + 1 RETURNING n`,
		strikeWindow: `WITH now AS MATERIALIZED (SELECT {clock} AS ns)
INSERT INTO {S}.strikes AS s (key, n, times) SELECT $1::bytea, 1, ARRAY[now.ns] FROM now
ON CONFLICT (key) DO UPDATE SET
	times = ARRAY(SELECT t FROM unnest(s.times) AS t WHERE t > excluded.times[1] - $2) || excluded.times[1],
	n = cardinality(ARRAY(SELECT t FROM unnest(s.times) AS t WHERE t > excluded.times[1] - $2)) + 1
RETURNING n`,
		clearStrikes: `DELETE FROM {S}.strikes WHERE key = $1::bytea`,
		trip: `INSERT INTO {S}.kill_switch AS k (id, tripped, reason, at_ns) VALUES (1, true, $1::bytea, $2)
ON CONFLICT (id) DO UPDATE SET tripped = true, reason = excluded.reason, at_ns = excluded.at_ns WHERE NOT k.tripped`,
		reset:      `UPDATE {S}.kill_switch SET tripped = false, reason = '', at_ns = 0`,
		killSwitch: `SELECT tripped, reason, at_ns FROM {S}.kill_switch WHERE id = 1`,
	}
	for _, p := range []*string{&q.lockCounters, &q.createCounters, &q.expire, &q.record, &q.setSums,
		&q.lockTicket, &q.commitOpen, &q.commitNoIDs, &q.insertOrders, &q.trimEntries, &q.dropEntries,
		&q.dropGauges, &q.deleteTicket, &q.findOrder, &q.deleteOrder, &q.closeOpen, &q.strike,
		&q.strikeWindow, &q.clearStrikes, &q.trip, &q.reset, &q.killSwitch} {
		*p = r.Replace(*p)
	}
	return q
}

// counter is a locked counter row.
type counter struct {
	window int64
	sum    decimal.Decimal
}

// lockCounters locks the counters keys (sorted, distinct) in key order,
// creating those that do not exist with windows, and returns them.
func (s *Store) lockCounters(ctx context.Context, tx pgx.Tx, keys []string, windows []int64) (map[string]*counter, error) {
	cs, err := s.readCounters(ctx, tx, keys)
	if err != nil || len(cs) == len(keys) {
		return cs, err
	}
	if _, err := tx.Exec(ctx, s.q.createCounters, bs(keys), windows); err != nil {
		return nil, err
	}
	cs, err = s.readCounters(ctx, tx, keys)
	if err == nil && len(cs) != len(keys) {
		err = errors.New("counters missing after creation")
	}
	return cs, err
}

func (s *Store) readCounters(ctx context.Context, tx pgx.Tx, keys []string) (map[string]*counter, error) {
	rows, err := tx.Query(ctx, s.q.lockCounters, bs(keys))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cs := make(map[string]*counter, len(keys))
	for rows.Next() {
		var key []byte
		var sum string
		c := &counter{}
		if err := rows.Scan(&key, &c.window, &sum); err != nil {
			return nil, err
		}
		if c.sum, err = decimal.NewFromString(sum); err != nil {
			return nil, err
		}
		cs[string(key)] = c
	}
	return cs, rows.Err()
}

// lockOnly locks the counters keys in key order.
func (s *Store) lockOnly(ctx context.Context, tx pgx.Tx, keys []string) error {
	_, err := s.readCounters(ctx, tx, distinct(keys))
	return err
}

// bs converts keys to the bytea[] they are stored as.
func bs(keys []string) [][]byte {
	b := make([][]byte, len(keys))
	for i, k := range keys {
		b[i] = []byte(k)
	}
	return b
}

func distinct(keys []string) []string {
	d := slices.Clone(keys)
	slices.Sort(d)
	return slices.Compact(d)
}

// Reserve implements limits.Store: it locks the counters of the request
// (so reservations on one credential take turns), reads the database's
// clock, drops expired entries, checks every limit and records the
// reservation, in one transaction. req.Now is not used; see the package
// doc.
func (s *Store) Reserve(ctx context.Context, req *limits.ReserveRequest) (limits.Ticket, error) {
	n := len(req.Limits)
	amounts := make([]decimal.Decimal, n)
	caps := make([]decimal.Decimal, n)
	var keys []string
	first := map[string]int64{}
	for i, l := range req.Limits {
		if l.Amount.IsNegative() {
			return "", fmt.Errorf("pgstore: limit %q has a negative amount %s", l.Key, l.Amount)
		}
		amounts[i] = l.Amount.RoundCeil(scale)
		caps[i] = l.Cap.RoundFloor(scale)
		if _, ok := first[l.Key]; !ok {
			first[l.Key] = int64(l.Window)
			keys = append(keys, l.Key)
		}
	}
	slices.Sort(keys)
	windows := make([]int64, len(keys))
	for i, k := range keys {
		windows[i] = first[k]
	}
	unlock, err := s.locks.lock(ctx, keys)
	if err != nil {
		return "", fmt.Errorf("pgstore: reserve: %w", err)
	}
	defer unlock()
	var id int64
	err = s.tx(ctx, "reserve", func(tx pgx.Tx) error {
		cs, err := s.lockCounters(ctx, tx, keys, windows)
		if err != nil {
			return err
		}
		// The counters' own windows decide, as a counter keeps the
		// window it was created with.
		cw := make([]int64, len(keys))
		for i, k := range keys {
			cw[i] = cs[k].window
		}
		rows, err := tx.Query(ctx, s.q.expire, bs(keys), cw)
		if err != nil {
			return err
		}
		var now int64
		gone := map[string]decimal.Decimal{}
		for rows.Next() {
			var key []byte
			var total *string
			if err := rows.Scan(&now, &key, &total); err != nil {
				rows.Close()
				return err
			}
			if key != nil && total != nil {
				d, err := decimal.NewFromString(*total)
				if err != nil {
					rows.Close()
					return err
				}
				gone[string(key)] = d
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		sums := make(map[string]decimal.Decimal, len(keys))
		for _, k := range keys {
			sums[k] = cs[k].sum.Sub(gone[k])
		}
		for i, l := range req.Limits {
			used := sums[l.Key]
			if used.Add(amounts[i]).GreaterThan(caps[i]) {
				return &outcome{err: &limits.ExceededError{Index: i, Key: l.Key, Used: used, Cap: l.Cap}}
			}
			sums[l.Key] = used.Add(amounts[i])
		}
		if req.DryRun {
			return &outcome{}
		}
		pk := make([]string, n)
		pw := make([]int64, n)
		pg := make([]string, n)
		pa := make([]string, n)
		for i, l := range req.Limits {
			pk[i], pw[i], pa[i], pg[i] = l.Key, cs[l.Key].window, amounts[i].String(), "0"
			if pw[i] == 0 {
				pg[i] = pa[i]
			}
		}
		ss := make([]string, len(keys))
		for i, k := range keys {
			ss[i] = sums[k].String()
		}
		b := &pgx.Batch{}
		b.Queue(s.q.record, []byte(req.Owner), now, bs(pk), pw, pg, pa).QueryRow(func(r pgx.Row) error { return r.Scan(&id) })
		b.Queue(s.q.setSums, bs(keys), ss)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil || id == 0 {
		return "", err
	}
	t := limits.Ticket(strconv.FormatInt(id, 10))
	s.keys.Store(t, keys)
	return t, nil
}

// lockTicketKeys queues, in process, on the counters of a ticket this
// store reserved (see keyLocks); for another ticket it does nothing.
func (s *Store) lockTicketKeys(ctx context.Context, t limits.Ticket) (func(), error) {
	v, ok := s.keys.LoadAndDelete(t)
	if !ok {
		return func() {}, nil
	}
	return s.locks.lock(ctx, v.([]string))
}

// ticket is a locked ticket row.
type ticket struct {
	id        int64
	owner     string
	committed bool
	open      int32
	filled    decimal.Decimal
	closed    decimal.Decimal
	keys      []string
	windows   []int64
	gauges    []decimal.Decimal
}

// lockTicket locks ticket id; it returns nil when there is none.
func (s *Store) lockTicket(ctx context.Context, tx pgx.Tx, id int64) (*ticket, error) {
	t := &ticket{id: id}
	var filled, closed string
	var owner []byte
	var keys [][]byte
	var gauges []string
	err := tx.QueryRow(ctx, s.q.lockTicket, id).Scan(&owner, &t.committed, &t.open, &filled, &closed, &keys, &t.windows, &gauges)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
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
	if len(t.keys) != len(t.windows) || len(t.keys) != len(t.gauges) {
		return nil, fmt.Errorf("ticket %d has parts of different lengths", id)
	}
	return t, nil
}

// pending locks the uncommitted ticket named by t, or returns
// limits.ErrUnknownTicket as an outcome.
func (s *Store) pending(ctx context.Context, tx pgx.Tx, t limits.Ticket) (*ticket, error) {
	id, err := strconv.ParseInt(string(t), 10, 64)
	if err != nil || id <= 0 {
		return nil, &outcome{err: limits.ErrUnknownTicket}
	}
	tk, err := s.lockTicket(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if tk == nil || tk.committed {
		return nil, &outcome{err: limits.ErrUnknownTicket}
	}
	return tk, nil
}

func texts(ds []decimal.Decimal) []string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
	}
	return s
}

func nonNegative(d decimal.Decimal) decimal.Decimal {
	if d.IsNegative() {
		return decimal.Zero
	}
	return d.RoundCeil(scale)
}

// Commit implements limits.Store.
func (s *Store) Commit(ctx context.Context, t limits.Ticket, st limits.Settlement) error {
	filled := nonNegative(st.Filled)
	unlock, err := s.lockTicketKeys(ctx, t)
	if err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	defer unlock()
	return s.tx(ctx, "commit", func(tx pgx.Tx) error {
		tk, err := s.pending(ctx, tx, t)
		if err != nil {
			return err
		}
		if !st.Open {
			return s.finish(ctx, tx, tk, filled)
		}
		if len(st.OrderIDs) == 0 {
			// Nothing can close it: it keeps all it holds (fail closed).
			_, err := tx.Exec(ctx, s.q.commitNoIDs, tk.id)
			return err
		}
		if _, err := tx.Exec(ctx, s.q.insertOrders, []byte(tk.owner), tk.id, bs(distinct(st.OrderIDs))); err != nil {
			return err
		}
		// Each gauge part now holds one unit per order.
		n := decimal.NewFromInt(int64(len(st.OrderIDs)))
		delta := map[string]decimal.Decimal{}
		var gk []string
		for i, w := range tk.windows {
			if w == 0 {
				k := tk.keys[i]
				delta[k] = delta[k].Add(n.Sub(tk.gauges[i]))
				tk.gauges[i] = n
				gk = append(gk, k)
			}
		}
		b := &pgx.Batch{}
		if len(gk) > 0 {
			if err := s.addSums(ctx, tx, b, delta); err != nil {
				return err
			}
		}
		b.Queue(s.q.commitOpen, tk.id, len(st.OrderIDs), filled.String(), texts(tk.gauges))
		return tx.SendBatch(ctx, b).Close()
	})
}

// addSums locks the counters of delta and queues setting each sum to its
// sum plus delta (at least zero).
func (s *Store) addSums(ctx context.Context, tx pgx.Tx, b *pgx.Batch, delta map[string]decimal.Decimal) error {
	keys := make([]string, 0, len(delta))
	for k := range delta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	cs, err := s.readCounters(ctx, tx, keys)
	if err != nil {
		return err
	}
	sums := make([]string, 0, len(keys))
	ks := keys[:0:0]
	for _, k := range keys {
		c := cs[k]
		if c == nil {
			continue // a ticket's counters are never deleted
		}
		v := c.sum.Add(delta[k])
		if v.IsNegative() {
			v = decimal.Zero
		}
		ks = append(ks, k)
		sums = append(sums, v.String())
	}
	b.Queue(s.q.setSums, bs(ks), sums)
	return nil
}

// finish releases a ticket's gauges and trims its rolling amounts to
// filled, then forgets the ticket; its entries stay until their windows
// roll.
func (s *Store) finish(ctx context.Context, tx pgx.Tx, tk *ticket, filled decimal.Decimal) error {
	if err := s.lockOnly(ctx, tx, tk.keys); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(s.q.trimEntries, tk.id, filled.String())
	b.Queue(s.q.dropGauges, bs(tk.keys), texts(tk.gauges))
	b.Queue(s.q.deleteTicket, tk.id)
	return tx.SendBatch(ctx, b).Close()
}

// Release implements limits.Store.
func (s *Store) Release(ctx context.Context, t limits.Ticket) error {
	unlock, err := s.lockTicketKeys(ctx, t)
	if err != nil {
		return fmt.Errorf("pgstore: release: %w", err)
	}
	defer unlock()
	return s.tx(ctx, "release", func(tx pgx.Tx) error {
		tk, err := s.pending(ctx, tx, t)
		if err != nil {
			return err
		}
		if err := s.lockOnly(ctx, tx, tk.keys); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(s.q.dropEntries, tk.id)
		b.Queue(s.q.dropGauges, bs(tk.keys), texts(tk.gauges))
		b.Queue(s.q.deleteTicket, tk.id)
		return tx.SendBatch(ctx, b).Close()
	})
}

var one = decimal.NewFromInt(1)

// CloseOrder implements limits.Store.
func (s *Store) CloseOrder(ctx context.Context, owner, orderID string, filledQuote decimal.Decimal) error {
	filled := nonNegative(filledQuote)
	return s.tx(ctx, "closing an order", func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, s.q.findOrder, []byte(owner), []byte(orderID)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		tk, err := s.lockTicket(ctx, tx, id)
		if err != nil || tk == nil {
			return err
		}
		tag, err := tx.Exec(ctx, s.q.deleteOrder, []byte(owner), []byte(orderID), id)
		if err != nil || tag.RowsAffected() == 0 {
			return err // closed meanwhile by another caller
		}
		tk.closed = tk.closed.Add(filled)
		tk.open--
		if tk.open <= 0 {
			// A close reports the order's whole fill, which includes what
			// filled at once.
			return s.finish(ctx, tx, tk, decimal.Max(tk.closed, tk.filled))
		}
		delta := map[string]decimal.Decimal{}
		for i, w := range tk.windows {
			if w == 0 && tk.gauges[i].IsPositive() {
				d := decimal.Min(one, tk.gauges[i])
				tk.gauges[i] = tk.gauges[i].Sub(d)
				delta[tk.keys[i]] = delta[tk.keys[i]].Sub(d)
			}
		}
		b := &pgx.Batch{}
		if len(delta) > 0 {
			if err := s.addSums(ctx, tx, b, delta); err != nil {
				return err
			}
		}
		b.Queue(s.q.closeOpen, tk.id, tk.open, tk.closed.String(), texts(tk.gauges))
		return tx.SendBatch(ctx, b).Close()
	})
}

// Strike implements limits.Store. A windowed counter keeps the strikes of
// the last window by the database's clock; now is not used.
func (s *Store) Strike(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	var n int32
	var err error
	if window <= 0 {
		err = s.pool.QueryRow(ctx, s.q.strike, []byte(key)).Scan(&n)
	} else {
		err = s.pool.QueryRow(ctx, s.q.strikeWindow, []byte(key), int64(window)).Scan(&n)
	}
	if err != nil {
		return 0, s.fail(ctx, "counting a strike", err)
	}
	return int(n), nil
}

// ClearStrikes implements limits.Store.
func (s *Store) ClearStrikes(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, s.q.clearStrikes, []byte(key)); err != nil {
		return s.fail(ctx, "clearing strikes", err)
	}
	return nil
}

// Trip implements limits.Store.
func (s *Store) Trip(ctx context.Context, k limits.KillState) error {
	var at int64
	if !k.At.IsZero() {
		at = k.At.UnixNano()
	}
	if _, err := s.pool.Exec(ctx, s.q.trip, []byte(k.Reason), at); err != nil {
		return s.fail(ctx, "tripping the kill switch", err)
	}
	return nil
}

// Reset implements limits.Store.
func (s *Store) Reset(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, s.q.reset); err != nil {
		return s.fail(ctx, "resetting the kill switch", err)
	}
	return nil
}

// KillSwitch implements limits.Store.
func (s *Store) KillSwitch(ctx context.Context) (limits.KillState, error) {
	var k limits.KillState
	var at int64
	var reason []byte
	err := s.pool.QueryRow(ctx, s.q.killSwitch).Scan(&k.Tripped, &reason, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return limits.KillState{}, nil
	}
	if err != nil {
		return limits.KillState{}, s.fail(ctx, "reading the kill switch", err)
	}
	if !k.Tripped {
		return limits.KillState{}, nil
	}
	k.Reason = string(reason)
	if at != 0 {
		k.At = time.Unix(0, at)
	}
	return k, nil
}

// fail wraps a failed single statement as tx does.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return fmt.Errorf("pgstore: %s: %w", op, ctxErr)
	}
	return &Error{Op: op, Err: err}
}
