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
	lockCounters, createCounters, expire, record, setSums    string
	lockTickets, lockTicketCounters, updateTicket, unpend    string
	insertTracked, deleteTracked, trackedByID, trackedByCID  string
	pendingByCID, known, knownWithID, pendingRefs, trackedOf string
	trimEntries, dropEntries, dropGauges, deleteTicket       string
	pruneReserved, reservedOrder                             string
	strike, strikeWindow, clearStrikes                       string
	trip, reset, killSwitch                                  string
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
gone AS (DELETE FROM {S}.entries e USING {S}.counters c, now
	WHERE c.key = ANY($1::bytea[]) AND c.window_ns > 0 AND e.key = c.key AND e.at_ns <= now.ns - c.window_ns RETURNING e.key, e.amount)
SELECT now.ns, g.key, g.total::text FROM now LEFT JOIN (SELECT key, sum(amount) AS total FROM gone GROUP BY key) g ON true`,
		record: `WITH t AS (INSERT INTO {S}.tickets (id, owner, at_ns, keys, windows, gauges, refs_id, refs_cid, refs_sym)
	VALUES (nextval('{S}.ticket_ids'), $1::bytea, $2, $3::bytea[], $4::bigint[], $5::text[]::numeric[], $7::bytea[], $8::bytea[], $9::bytea[]) RETURNING id),
e AS (INSERT INTO {S}.entries (ticket, part, key, at_ns, amount)
	SELECT t.id, p.i, p.key, $2, p.amount FROM t, unnest($3::bytea[], $4::bigint[], $6::text[]::numeric[]) WITH ORDINALITY AS p(key, w, amount, i) WHERE p.w > 0),
r AS (INSERT INTO {S}.pending_refs (owner, client_id, ticket)
	SELECT $1::bytea, c, t.id FROM t, unnest($8::bytea[]) AS c WHERE c <> ''::bytea),
o AS (INSERT INTO {S}.reserved_orders (owner, client_id, symbol, at_ns)
	SELECT $1::bytea, u.c, u.s, $2 FROM unnest($8::bytea[], $9::bytea[]) AS u(c, s) WHERE u.c <> ''::bytea)
SELECT id FROM t`,
		setSums: `UPDATE {S}.counters c SET sum = v.sum FROM unnest($1::bytea[], $2::text[]::numeric[]) AS v(key, sum) WHERE c.key = v.key`,
		// A rolling part keeps at most what filled.
		lockTickets:        `SELECT id, owner, at_ns, committed, open, filled::text, closed::text, keys, windows, gauges::text[], refs_id, refs_cid, refs_sym FROM {S}.tickets WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
		lockTicketCounters: `SELECT key, window_ns, sum::text FROM {S}.counters WHERE key IN (SELECT unnest(keys) FROM {S}.tickets WHERE id = ANY($1::bigint[])) ORDER BY key FOR UPDATE`,
		updateTicket:       `UPDATE {S}.tickets SET committed = $2, open = $3, filled = $4::text::numeric, closed = $5::text::numeric, gauges = $6::text[]::numeric[] WHERE id = $1`,
		unpend:             `WITH d AS (DELETE FROM {S}.pending_refs WHERE ticket = $1) UPDATE {S}.tickets SET refs_id = '{}', refs_cid = '{}', refs_sym = '{}' WHERE id = $1`,
		insertTracked: `INSERT INTO {S}.tracked (ticket, owner, order_id, client_id, symbol, unknown, at_once)
SELECT $1, $2::bytea, nullif(r.i, ''::bytea), nullif(r.c, ''::bytea), r.s, r.u, r.a::numeric
FROM unnest($3::bytea[], $4::bytea[], $5::bytea[], $6::bool[], $7::text[]) WITH ORDINALITY AS r(i, c, s, u, a, n) ORDER BY r.n`,
		deleteTracked: `DELETE FROM {S}.tracked WHERE seq = $1`,
		trackedByID:   `SELECT seq, ticket, order_id, client_id, symbol, at_once::text FROM {S}.tracked WHERE owner = $1::bytea AND order_id = $2::bytea ORDER BY ord DESC`,
		trackedByCID:  `SELECT seq, ticket, order_id, client_id, symbol, at_once::text FROM {S}.tracked WHERE owner = $1::bytea AND client_id = $2::bytea AND (order_id IS NULL OR order_id = $3::bytea) ORDER BY ord DESC`,
		pendingByCID: `SELECT EXISTS (SELECT 1 FROM {S}.tracked WHERE owner = $1::bytea AND client_id = $2::bytea),
	(SELECT max(p.ticket) FROM {S}.pending_refs p JOIN {S}.tickets t ON t.id = p.ticket WHERE p.owner = $1::bytea AND p.client_id = $2::bytea AND NOT t.committed)`,
		known:       `UPDATE {S}.tracked SET unknown = false WHERE seq = $1`,
		knownWithID: `UPDATE {S}.tracked SET unknown = false, order_id = $2::bytea, ord = nextval('{S}.tracked_order') WHERE seq = $1`,
		pendingRefs: `SELECT at_ns, refs_id, refs_cid, refs_sym FROM {S}.tickets WHERE owner = $1::bytea AND NOT committed AND cardinality(refs_id) > 0`,
		trackedOf:   `SELECT t.at_ns, coalesce(tr.order_id, ''::bytea), coalesce(tr.client_id, ''::bytea), tr.symbol, tr.unknown FROM {S}.tracked tr JOIN {S}.tickets t ON t.id = tr.ticket WHERE tr.owner = $1::bytea`,
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
		deleteTicket:  `DELETE FROM {S}.tickets WHERE id = $1`,
		pruneReserved: `DELETE FROM {S}.reserved_orders WHERE at_ns < $1`,
		reservedOrder: `SELECT symbol FROM {S}.reserved_orders WHERE owner = $1::bytea AND client_id = $2::bytea ORDER BY at_ns DESC LIMIT 1`,
		strike:        `INSERT INTO {S}.strikes AS s (key, n) VALUES ($1::bytea, 1) ON CONFLICT (key) DO UPDATE SET n = s.n + 1 RETURNING n`,
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
		&q.lockTickets, &q.lockTicketCounters, &q.updateTicket, &q.unpend, &q.insertTracked, &q.deleteTracked,
		&q.trackedByID, &q.trackedByCID, &q.pendingByCID, &q.known, &q.knownWithID, &q.pendingRefs, &q.trackedOf,
		&q.trimEntries, &q.dropEntries, &q.dropGauges, &q.deleteTicket,
		&q.pruneReserved, &q.reservedOrder,
		&q.strike, &q.strikeWindow, &q.clearStrikes, &q.trip, &q.reset, &q.killSwitch} {
		*p = r.Replace(*p)
	}
	return q
}

// counter is a locked counter row.
type counter struct {
	window int64
	sum    decimal.Decimal
}

// scanCounters reads rows of lockCounters (or lockTicketCounters) into cs.
func scanCounters(rows pgx.Rows, cs map[string]*counter) error {
	for rows.Next() {
		var key []byte
		var sum string
		c := &counter{}
		if err := rows.Scan(&key, &c.window, &sum); err != nil {
			return err
		}
		d, err := decimal.NewFromString(sum)
		if err != nil {
			return err
		}
		c.sum = d
		cs[string(key)] = c
	}
	return rows.Err()
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

// run runs fn on a connection of the pool. fn opens a transaction by
// queueing BEGIN in front of its first batch and commits it by queueing
// COMMIT behind its last, so that a transaction costs as few round trips
// as its reads need. A transaction fn leaves open (an error, an outcome)
// is rolled back; a connection that cannot roll back is closed by the
// pool. Errors are wrapped as tx wraps them.
func (s *Store) run(ctx context.Context, op string, fn func(c *pgx.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.fail(ctx, op, err)
	}
	defer pc.Release()
	c := pc.Conn()
	err = fn(c)
	if c.PgConn().TxStatus() != 'I' && !c.IsClosed() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if _, rerr := c.Exec(rctx, "ROLLBACK"); rerr != nil && err == nil {
			err = rerr
		}
		cancel()
	}
	if err == nil {
		return nil
	}
	var o *outcome
	if errors.As(err, &o) {
		return o.err
	}
	return s.fail(ctx, op, err)
}

// Reserve implements limits.Store: it locks the counters of the request
// (so reservations on one credential take turns), reads the database's
// clock, drops expired entries, checks every limit and records the
// reservation, in one transaction of two round trips. req.Now is not used;
// see the package doc.
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
	err = s.run(ctx, "reserve", func(c *pgx.Conn) error {
		// Lock the counters, then drop what left their windows at the
		// clock read once they are locked.
		var cs map[string]*counter
		var now int64
		var gone map[string]decimal.Decimal
		for attempt := 0; ; attempt++ {
			cs, gone = make(map[string]*counter, len(keys)), map[string]decimal.Decimal{}
			b := &pgx.Batch{}
			b.Queue("BEGIN")
			b.Queue(s.q.lockCounters, bs(keys)).Query(func(rows pgx.Rows) error { return scanCounters(rows, cs) })
			b.Queue(s.q.expire, bs(keys)).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					var key []byte
					var total *string
					if err := rows.Scan(&now, &key, &total); err != nil {
						return err
					}
					if key != nil && total != nil {
						d, err := decimal.NewFromString(*total)
						if err != nil {
							return err
						}
						gone[string(key)] = d
					}
				}
				return rows.Err()
			})
			if err := c.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
			if len(cs) == len(keys) {
				break
			}
			if attempt > 0 {
				return errors.New("counters missing after creation")
			}
			// New counters are created in a transaction of their own, so
			// that a reservation never waits on a row it inserted while
			// holding locks (two processes creating counters at once
			// could deadlock), then the locks are taken again.
			if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
				return err
			}
			if _, err := c.Exec(ctx, s.q.createCounters, bs(keys), windows); err != nil {
				return err
			}
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
		// A part is rolling or a gauge as its counter is.
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
		rid, rcid, rsym := make([][]byte, len(req.Orders)), make([][]byte, len(req.Orders)), make([][]byte, len(req.Orders))
		for i, r := range req.Orders {
			rid[i], rcid[i], rsym[i] = []byte(r.ID), []byte(r.ClientID), []byte(r.Symbol)
		}
		b.Queue(s.q.record, []byte(req.Owner), now, bs(pk), pw, pg, pa, rid, rcid, rsym).QueryRow(func(r pgx.Row) error { return r.Scan(&id) })
		b.Queue(s.q.setSums, bs(keys), ss)
		b.Queue(s.q.pruneReserved, now-int64(s.retention))
		b.Queue("COMMIT")
		return c.SendBatch(ctx, b).Close()
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

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
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
