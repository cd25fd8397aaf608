// Package storetest is the conformance suite that every limits.Store runs,
// in the manner of gocloud.dev's drivertest and signer/signertest.
//
// # Model
//
// The suite never sees how a store keeps its state. A store's test supplies
// a Harness that creates an empty state and opens stores on it; Run then
// asserts, through the limits.Store interface alone, that the store:
//
//   - reserves all of a request's limits or none, counts several limits on
//     one counter together, and records nothing on a refusal, a dry run or
//     a cancelled context;
//   - returns what Release and Commit settle, keeps a resting order's
//     gauge unit and notional until CloseOrder reports it closed, trims the
//     window to what filled, and holds a ticket committed open without
//     order ids for good;
//   - ages rolling windows and windowed strike counters, counts strikes and
//     clears them, keeps the kill switch's first reason;
//   - keeps every acknowledged change across a reopen;
//   - keeps keys, owners, order ids and reasons byte for byte, NUL bytes
//     included (the guard's keys hold them);
//   - lists the orders it holds open or of unknown outcome (Tracked),
//     pending tickets' orders included, learns their venue ids and status
//     from UpdateOrder, and settles them at their real fill, an order two
//     tickets hold once;
//   - grants exactly cap/amount of many concurrent reservations, across
//     every store open on one state when the Harness is Shared, and keeps
//     exact accounts when commits, releases and closes race with them.
//
// # Time
//
// A store takes times from the caller (limits.MemoryStore,
// limits.FileStore), or judges windows by a clock of its own, ignoring the
// caller's (limits/pgstore reads the database's). For the first kind the
// suite moves its own clock; a store of the second kind supplies
// State.Age, which makes every time the state recorded older, and the
// suite checks window boundaries with a margin instead of to the
// nanosecond.
//
// # Use
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			Shared: true,
//			NewState: func(t *testing.T) storetest.State {
//				s := limits.NewMemoryStore()
//				return storetest.State{Open: func(t *testing.T) limits.Store { return s }}
//			},
//		})
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/keyfence/keyfence/limits"
)

// Harness makes the states the suite runs on.
type Harness struct {
	// NewState creates an empty state. The harness releases it, and every
	// store it opened, when t ends.
	NewState func(t *testing.T) State
	// Shared reports that stores open at once on one state share it, as
	// the stores of several processes on one database do. The suite then
	// runs its concurrent checks across two stores.
	Shared bool
}

// State is one state and the means to open stores on it.
type State struct {
	// Open returns a store on the state. The suite calls it again to check
	// that acknowledged changes are kept: unless the Harness is Shared, Open
	// may close the store it returned before (a FileStore reopens its file).
	Open func(t *testing.T) limits.Store
	// Age, set for a store that judges windows by its own clock, makes
	// every time the state recorded d older, as if d had passed.
	Age func(t *testing.T, d time.Duration)
}

// T0 is the time the suite's clock starts at.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is the suite's time: the caller's clock, or the store's aged
// through State.Age.
type clock struct {
	st  State
	now time.Time
}

func (c *clock) advance(t *testing.T, d time.Duration) {
	t.Helper()
	if c.st.Age != nil {
		c.st.Age(t, d)
	}
	c.now = c.now.Add(d)
}

// exact reports whether the store takes the caller's times, so that
// window boundaries can be checked to the nanosecond.
func (c *clock) exact() bool { return c.st.Age == nil }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func lim(key, amount, capv string, w time.Duration) limits.Limit {
	return limits.Limit{Key: key, Amount: dec(amount), Cap: dec(capv), Window: w}
}

// Run runs the suite on the stores h makes.
func Run(t *testing.T, h Harness) {
	if h.NewState == nil {
		t.Fatal("storetest: Harness.NewState is nil")
	}
	checks := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"AllOrNothing", testAllOrNothing},
		{"DryRunAndContext", testDryRunAndContext},
		{"ZeroProbe", testZeroProbe},
		{"SettleOnce", testSettleOnce},
		{"RestingOrders", testRestingOrders},
		{"OpenWithoutOrderIDs", testOpenWithoutOrderIDs},
		{"Window", testWindow},
		{"Strikes", testStrikes},
		{"KillSwitch", testKillSwitch},
		{"OpaqueBytes", testOpaqueBytes},
		{"TrackedOrders", testTrackedOrders},
		{"SharedOrder", testSharedOrder},
		{"SettlementByOrders", testSettlementByOrders},
		{"SymbolOfUpdate", testSymbolOfUpdate},
		{"ConcurrentExact", testConcurrentExact},
		{"ConcurrentSettle", testConcurrentSettle},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.fn(t, h) })
	}
}

// used returns the usage of a counter at now, read by a dry run that asks
// for the whole cap.
func used(t *testing.T, s limits.Store, key string, w time.Duration, now time.Time) decimal.Decimal {
	t.Helper()
	const huge = "1000000000000"
	_, err := s.Reserve(context.Background(), &limits.ReserveRequest{Now: now, DryRun: true, Limits: []limits.Limit{lim(key, huge, huge, w)}})
	if err == nil {
		return decimal.Zero
	}
	var ex *limits.ExceededError
	if !errors.As(err, &ex) {
		t.Fatalf("dry run on %s: %v", key, err)
	}
	return ex.Used
}

func wantUsed(t *testing.T, s limits.Store, key string, w time.Duration, now time.Time, want string) {
	t.Helper()
	if got := used(t, s, key, w, now); !got.Equal(dec(want)) {
		t.Fatalf("counter %s holds %s, want %s", key, got, want)
	}
}

func reserve(t *testing.T, s limits.Store, owner string, now time.Time, ls ...limits.Limit) limits.Ticket {
	t.Helper()
	id, err := s.Reserve(context.Background(), &limits.ReserveRequest{Owner: owner, Now: now, Limits: ls})
	if err != nil {
		t.Fatalf("reserve %v: %v", ls, err)
	}
	if id == "" {
		t.Fatal("reserve returned an empty ticket")
	}
	return id
}

func mustExceed(t *testing.T, err error, index int, usedWant string) {
	t.Helper()
	var ex *limits.ExceededError
	if !errors.As(err, &ex) {
		t.Fatalf("want *ExceededError, got %v", err)
	}
	if ex.Index != index || !ex.Used.Equal(dec(usedWant)) {
		t.Fatalf("exceeded limit %d at %s, want limit %d at %s", ex.Index, ex.Used, index, usedWant)
	}
}

func testAllOrNothing(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	c := &clock{st: st, now: T0}
	s := st.Open(t)
	const w = time.Hour
	reserve(t, s, "o", c.now, lim("w", "60", "100", w), lim("g", "1", "2", 0))
	reserve(t, s, "o", c.now, lim("w", "40", "100", w), lim("g", "1", "2", 0))
	s = st.Open(t)
	// The window is full, so the first limit is not taken either.
	_, err := s.Reserve(ctx, &limits.ReserveRequest{Owner: "o", Now: c.now, Limits: []limits.Limit{lim("g2", "1", "5", 0), lim("w", "0.01", "100", w)}})
	mustExceed(t, err, 1, "100")
	var ex *limits.ExceededError
	errors.As(err, &ex)
	if ex.Key != "w" || !ex.Cap.Equal(dec("100")) {
		t.Fatalf("exceeded %+v, want key w cap 100", ex)
	}
	wantUsed(t, s, "g2", 0, c.now, "0")
	wantUsed(t, s, "g", 0, c.now, "2")
	// Two limits on one counter count together.
	_, err = s.Reserve(ctx, &limits.ReserveRequest{Owner: "o", Now: c.now, Limits: []limits.Limit{lim("x", "30", "50", w), lim("x", "30", "50", w)}})
	mustExceed(t, err, 1, "30")
	wantUsed(t, s, "x", w, c.now, "0")
	reserve(t, s, "o", c.now, lim("x", "25", "50", w), lim("x", "25", "50", w))
	s = st.Open(t)
	wantUsed(t, s, "x", w, c.now, "50")
	// Amounts finer than the stores' 10^-18 round up, caps down.
	_, err = s.Reserve(ctx, &limits.ReserveRequest{Owner: "o", Now: c.now, Limits: []limits.Limit{lim("fine", "1.0000000000000000001", "1", w)}})
	mustExceed(t, err, 0, "0")
}

func testDryRunAndContext(t *testing.T, h Harness) {
	st := h.NewState(t)
	s := st.Open(t)
	id, err := s.Reserve(context.Background(), &limits.ReserveRequest{Owner: "o", Now: T0, DryRun: true, Limits: []limits.Limit{lim("g", "5", "5", 0), lim("w", "5", "5", time.Hour)}})
	if err != nil || id != "" {
		t.Fatalf("dry run: ticket %q, %v", id, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Reserve(ctx, &limits.ReserveRequest{Owner: "o", Now: T0, Limits: []limits.Limit{lim("g", "5", "5", 0)}})
	var ex *limits.ExceededError
	if err == nil || errors.As(err, &ex) {
		t.Fatalf("reserve with a cancelled context: %v", err)
	}
	s = st.Open(t)
	reserve(t, s, "o", T0, lim("g", "5", "5", 0), lim("w", "5", "5", time.Hour))
}

// testZeroProbe: a dry run of a zero amount against a zero cap, which
// limits.Guard.Usage reads counters with, passes on an empty counter (a
// new one included) and exceeds on one that holds something, saying how
// much; it records nothing.
func testZeroProbe(t *testing.T, h Harness) {
	st := h.NewState(t)
	s := st.Open(t)
	probe := func(key string, w time.Duration) decimal.Decimal {
		t.Helper()
		_, err := s.Reserve(context.Background(), &limits.ReserveRequest{Owner: "o", Now: T0, DryRun: true, Limits: []limits.Limit{lim(key, "0", "0", w)}})
		if err == nil {
			return decimal.Zero
		}
		var ex *limits.ExceededError
		if !errors.As(err, &ex) || ex.Key != key {
			t.Fatalf("zero probe of %s: %v", key, err)
		}
		return ex.Used
	}
	for _, w := range []time.Duration{0, time.Hour} {
		if u := probe("new", w); !u.IsZero() {
			t.Fatalf("a new counter (window %s) reads %s", w, u)
		}
	}
	reserve(t, s, "o", T0, lim("g", "2", "5", 0), lim("w", "1.5", "5", time.Hour))
	for i := 0; i < 3; i++ { // probing records nothing
		if u := probe("g", 0); !u.Equal(dec("2")) {
			t.Fatalf("gauge reads %s, want 2", u)
		}
		if u := probe("w", time.Hour); !u.Equal(dec("1.5")) {
			t.Fatalf("window reads %s, want 1.5", u)
		}
	}
	reserve(t, s, "o", T0, lim("g", "3", "5", 0), lim("w", "3.5", "5", time.Hour))
}

func testSettleOnce(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	s := st.Open(t)
	const w = time.Hour
	t1 := reserve(t, s, "o", T0, lim("w", "40", "100", w), lim("g", "1", "2", 0))
	t2 := reserve(t, s, "o", T0, lim("w", "50", "100", w), lim("g", "1", "2", 0))
	if t1 == t2 {
		t.Fatalf("two reservations share ticket %q", t1)
	}
	if err := s.Release(ctx, t1); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	wantUsed(t, s, "w", w, T0, "50")
	wantUsed(t, s, "g", 0, T0, "1")
	for _, op := range []struct {
		name string
		fn   func() error
	}{
		{"release twice", func() error { return s.Release(ctx, t1) }},
		{"commit after release", func() error { return s.Commit(ctx, t1, limits.Settlement{}) }},
		{"release of a ticket never issued", func() error { return s.Release(ctx, "no-such-ticket") }},
		{"commit of a ticket never issued", func() error { return s.Commit(ctx, "999999999", limits.Settlement{}) }},
	} {
		if err := op.fn(); !errors.Is(err, limits.ErrUnknownTicket) {
			t.Fatalf("%s: %v, want ErrUnknownTicket", op.name, err)
		}
	}
	// Not resting, filled 30 of 50: the window keeps 30, the gauge is free.
	if err := s.Commit(ctx, t2, limits.Settlement{Filled: dec("30")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, t2, limits.Settlement{}); !errors.Is(err, limits.ErrUnknownTicket) {
		t.Fatalf("second commit: %v", err)
	}
	if err := s.Release(ctx, t2); !errors.Is(err, limits.ErrUnknownTicket) {
		t.Fatalf("release after commit: %v", err)
	}
	s = st.Open(t)
	wantUsed(t, s, "w", w, T0, "30")
	wantUsed(t, s, "g", 0, T0, "0")
	// A fill above the reservation keeps the reservation.
	t3 := reserve(t, s, "o", T0, lim("w", "10", "100", w))
	if err := s.Commit(ctx, t3, limits.Settlement{Filled: dec("25")}); err != nil {
		t.Fatal(err)
	}
	wantUsed(t, s, "w", w, T0, "40")
}

func testRestingOrders(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	s := st.Open(t)
	const w = time.Hour
	// Two orders from one request: 100 on the window, a gauge unit each.
	t1 := reserve(t, s, "o", T0, lim("w", "100", "1000", w), lim("g", "2", "5", 0))
	if err := s.Commit(ctx, t1, limits.Settlement{Open: true, OrderIDs: []string{"a", "b"}, Filled: dec("10")}); err != nil {
		t.Fatal(err)
	}
	// One order at once, filled in full: it holds nothing on the gauge.
	t2 := reserve(t, s, "o", T0, lim("w", "50", "1000", w), lim("g", "1", "5", 0))
	if err := s.Commit(ctx, t2, limits.Settlement{Filled: dec("50")}); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	wantUsed(t, s, "w", w, T0, "150")
	wantUsed(t, s, "g", 0, T0, "2")
	// Unknown orders, and a known id under another owner, change nothing.
	for _, o := range [][2]string{{"o", "zzz"}, {"other", "a"}} {
		if err := s.CloseOrder(ctx, o[0], o[1], dec("1")); err != nil {
			t.Fatalf("close %v: %v", o, err)
		}
	}
	wantUsed(t, s, "g", 0, T0, "2")
	// a closes: its gauge unit is free, the window keeps all until b closes.
	if err := s.CloseOrder(ctx, "o", "a", dec("20")); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	wantUsed(t, s, "g", 0, T0, "1")
	wantUsed(t, s, "w", w, T0, "150")
	// Closing a again changes nothing.
	if err := s.CloseOrder(ctx, "o", "a", dec("20")); err != nil {
		t.Fatal(err)
	}
	wantUsed(t, s, "g", 0, T0, "1")
	// b closes having filled 5: the ticket keeps what filled at once (10,
	// by orders that closed at once) and the closes' fills (20 + 5).
	if err := s.CloseOrder(ctx, "o", "b", dec("5")); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	wantUsed(t, s, "g", 0, T0, "0")
	wantUsed(t, s, "w", w, T0, "85")

	// One order committed whole: what it filled at once is part of its
	// whole fill, so a close that reports less keeps that.
	t3 := reserve(t, s, "o", T0, lim("w", "100", "1000", w), lim("g", "1", "5", 0))
	if err := s.Commit(ctx, t3, limits.Settlement{Open: true, OrderIDs: []string{"c"}, Filled: dec("60")}); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseOrder(ctx, "o", "c", dec("0")); err != nil {
		t.Fatal(err)
	}
	wantUsed(t, s, "w", w, T0, "145")
	wantUsed(t, s, "g", 0, T0, "0")
}

func testOpenWithoutOrderIDs(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	s := st.Open(t)
	id := reserve(t, s, "o", T0, lim("g", "1", "1", 0), lim("w", "10", "10", time.Hour))
	if err := s.Commit(ctx, id, limits.Settlement{Open: true, Filled: dec("1")}); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	wantUsed(t, s, "g", 0, T0, "1")
	wantUsed(t, s, "w", time.Hour, T0, "10")
	if err := s.Release(ctx, id); !errors.Is(err, limits.ErrUnknownTicket) {
		t.Fatalf("release of a committed ticket: %v", err)
	}
}

func testWindow(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	c := &clock{st: st, now: T0}
	s := st.Open(t)
	const w = time.Hour
	start := c.now
	reserve(t, s, "o", c.now, lim("w", "15", "100", w))
	c.advance(t, 10*time.Minute)
	pending := reserve(t, s, "o", c.now, lim("w", "80", "100", w))
	s = st.Open(t)
	_, err := s.Reserve(ctx, &limits.ReserveRequest{Owner: "o", Now: c.now, Limits: []limits.Limit{lim("w", "5.01", "100", w)}})
	mustExceed(t, err, 0, "95")
	// 50 minutes on, the first reservation is 10 minutes from leaving.
	c.advance(t, 40*time.Minute)
	wantUsed(t, s, "w", w, c.now, "95")
	if c.exact() {
		// 15 was reserved at start: it leaves the window at start+w exactly.
		wantUsed(t, s, "w", w, start.Add(w-1), "95")
	}
	c.advance(t, 10*time.Minute)
	wantUsed(t, st.Open(t), "w", w, c.now, "80")
	s = st.Open(t)
	reserve(t, s, "o", c.now, lim("w", "20", "100", w))
	// A commit of a reservation that left its window is harmless.
	c.advance(t, 30*time.Minute)
	if err := s.Commit(ctx, pending, limits.Settlement{Filled: dec("0")}); err != nil {
		t.Fatal(err)
	}
	wantUsed(t, s, "w", w, c.now, "20")
	c.advance(t, w)
	wantUsed(t, st.Open(t), "w", w, c.now, "0")

	// Many entries leave one by one.
	s = st.Open(t)
	const n = 40
	for i := range n {
		id := reserve(t, s, "o", c.now, lim("many", "1", "1000", w))
		if i%4 == 0 {
			if err := s.Release(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		c.advance(t, time.Minute)
	}
	// Entry i was reserved n-i minutes ago; released ones count nothing.
	live := func(from int) int {
		k := 0
		for i := from; i < n; i++ {
			if i%4 != 0 {
				k++
			}
		}
		return k
	}
	wantUsed(t, s, "many", w, c.now, fmt.Sprint(live(0)))
	// Entry i is now n-i minutes old; 29.5 minutes on, entries 0 to 9
	// have left the window and entry 10 has half a minute to go.
	c.advance(t, 29*time.Minute+30*time.Second)
	wantUsed(t, st.Open(t), "many", w, c.now, fmt.Sprint(live(10)))
}

func testStrikes(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	c := &clock{st: st, now: T0}
	s := st.Open(t)
	for i := 1; i <= 3; i++ {
		if n, err := s.Strike(ctx, "r", c.now, 0); err != nil || n != i {
			t.Fatalf("strike %d: %d, %v", i, n, err)
		}
	}
	if n, err := s.Strike(ctx, "other", c.now, 0); err != nil || n != 1 {
		t.Fatalf("another key: %d, %v", n, err)
	}
	s = st.Open(t)
	if err := s.ClearStrikes(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearStrikes(ctx, "never-struck"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Strike(ctx, "r", c.now, 0); err != nil || n != 1 {
		t.Fatalf("after clear: %d, %v", n, err)
	}
	// Windowed: strikes older than the window do not count.
	if n, err := s.Strike(ctx, "d", c.now, time.Minute); err != nil || n != 1 {
		t.Fatalf("windowed: %d, %v", n, err)
	}
	c.advance(t, 30*time.Second)
	if n, err := s.Strike(ctx, "d", c.now, time.Minute); err != nil || n != 2 {
		t.Fatalf("windowed: %d, %v", n, err)
	}
	s = st.Open(t)
	c.advance(t, 30*time.Second)
	if n, err := s.Strike(ctx, "d", c.now, time.Minute); err != nil || n != 2 {
		t.Fatalf("windowed, a minute on: %d, %v", n, err)
	}
}

func testKillSwitch(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	s := st.Open(t)
	if k, err := s.KillSwitch(ctx); err != nil || k.Tripped {
		t.Fatalf("new store: %+v, %v", k, err)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatalf("reset of an untripped switch: %v", err)
	}
	at := T0.Add(time.Minute)
	if err := s.Trip(ctx, limits.KillState{Reason: "first", At: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.Trip(ctx, limits.KillState{Reason: "second", At: at.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	k, err := s.KillSwitch(ctx)
	if err != nil || !k.Tripped || k.Reason != "first" || !k.At.Equal(at) {
		t.Fatalf("kill switch %+v, %v; want tripped, first, %s", k, err, at)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	if k, err := s.KillSwitch(ctx); err != nil || k.Tripped || k.Reason != "" {
		t.Fatalf("after reset: %+v, %v", k, err)
	}
	if err := s.Trip(ctx, limits.KillState{Reason: "again", At: at}); err != nil {
		t.Fatal(err)
	}
	if k, _ := st.Open(t).KillSwitch(ctx); !k.Tripped || k.Reason != "again" {
		t.Fatalf("tripped after a reset: %+v", k)
	}
}

// stores returns the stores the concurrent checks spread over: two on a
// Shared state, else one.
func stores(t *testing.T, h Harness, st State) []limits.Store {
	ss := []limits.Store{st.Open(t)}
	if h.Shared {
		ss = append(ss, st.Open(t))
	}
	return ss
}

// testConcurrentExact: 200 concurrent reservations of 1% of a cap, and of
// one of 100 open-order slots: exactly 100 pass.
func testConcurrentExact(t *testing.T, h Harness) {
	st := h.NewState(t)
	ss := stores(t, h, st)
	var wg sync.WaitGroup
	var granted, refused atomic.Int64
	start := make(chan struct{})
	for i := range 200 {
		wg.Go(func() {
			<-start
			_, err := ss[i%len(ss)].Reserve(context.Background(), &limits.ReserveRequest{Owner: "o", Now: T0,
				Limits: []limits.Limit{lim("w", "1", "100", time.Hour), lim("g", "1", "1000", 0)}})
			var ex *limits.ExceededError
			switch {
			case err == nil:
				granted.Add(1)
			case errors.As(err, &ex):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if granted.Load() != 100 || refused.Load() != 100 {
		t.Fatalf("granted %d refused %d, want 100 and 100", granted.Load(), refused.Load())
	}
	s := st.Open(t)
	wantUsed(t, s, "w", time.Hour, T0, "100")
	wantUsed(t, s, "g", 0, T0, "100")
}

// testConcurrentSettle: workers reserve and then release, commit filled
// or not, or commit a resting order they close later, at random, racing.
// What they hold never passes the cap, and at the end the counters hold
// exactly what the settlements kept.
func testConcurrentSettle(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	ss := stores(t, h, st)
	const workers, rounds, capN = 16, 25, 20
	var held atomic.Int64 // a lower bound of what the store holds
	var kept, open atomic.Int64
	var wg sync.WaitGroup
	for wi := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(wi), 7))
			s := ss[wi%len(ss)]
			for r := range rounds {
				id, err := s.Reserve(ctx, &limits.ReserveRequest{Owner: "o", Now: T0,
					Limits: []limits.Limit{lim("w", "1", fmt.Sprint(capN), time.Hour), lim("g", "1", "1000", 0)}})
				var ex *limits.ExceededError
				if errors.As(err, &ex) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if n := held.Add(1); n > capN {
					t.Errorf("%d reservations held at once, cap %d", n, capN)
				}
				switch rng.IntN(4) {
				case 0:
					held.Add(-1)
					err = s.Release(ctx, id)
				case 1: // filled in full: it keeps its notional
					kept.Add(1)
					err = s.Commit(ctx, id, limits.Settlement{Filled: dec("1")})
				case 2: // filled nothing: it keeps nothing
					held.Add(-1)
					err = s.Commit(ctx, id, limits.Settlement{Filled: dec("0")})
				case 3: // resting, then closed unfilled, or left open
					oid := fmt.Sprintf("w%d-%d", wi, r)
					if err = s.Commit(ctx, id, limits.Settlement{Open: true, OrderIDs: []string{oid}}); err != nil {
						break
					}
					if rng.IntN(2) == 0 {
						kept.Add(1)
						open.Add(1)
						break
					}
					held.Add(-1)
					err = s.CloseOrder(ctx, "o", oid, dec("0"))
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	s := st.Open(t)
	wantUsed(t, s, "w", time.Hour, T0, fmt.Sprint(kept.Load()))
	wantUsed(t, s, "g", 0, T0, fmt.Sprint(open.Load()))
	// The rest of the cap is free, to the unit.
	for range capN - kept.Load() {
		reserve(t, s, "o", T0, lim("w", "1", fmt.Sprint(capN), time.Hour))
	}
	_, err := s.Reserve(ctx, &limits.ReserveRequest{Owner: "o", Now: T0, Limits: []limits.Limit{lim("w", "1", fmt.Sprint(capN), time.Hour)}})
	mustExceed(t, err, 0, fmt.Sprint(capN))
}

// testOpaqueBytes: keys, owners, order ids and reasons are UTF-8 strings
// kept byte for byte, NUL bytes included, and keys that differ only after
// a NUL are different counters.
func testOpaqueBytes(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	s := st.Open(t)
	const w = time.Hour
	k1, k2, gauge := "cred\x00symbol\x00BTC", "cred\x00symbol\x00ETH", "crédit\x00open €"
	owner, order := "bot\x00one", "id\x00ü"
	id := reserve(t, s, owner, T0, lim(k1, "10", "10", w), lim(gauge, "1", "1", 0))
	reserve(t, s, owner, T0, lim(k2, "10", "10", w))
	_, err := s.Reserve(ctx, &limits.ReserveRequest{Owner: owner, Now: T0, Limits: []limits.Limit{lim(k1, "1", "10", w)}})
	mustExceed(t, err, 0, "10")
	if err := s.Commit(ctx, id, limits.Settlement{Open: true, OrderIDs: []string{order}}); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	for _, o := range [][2]string{{"bot", order}, {owner, "id"}, {"bot\x00one\x00", order}} {
		if err := s.CloseOrder(ctx, o[0], o[1], dec("0")); err != nil {
			t.Fatal(err)
		}
	}
	wantUsed(t, s, gauge, 0, T0, "1")
	if err := s.CloseOrder(ctx, owner, order, dec("4")); err != nil {
		t.Fatal(err)
	}
	wantUsed(t, s, gauge, 0, T0, "0")
	wantUsed(t, s, k1, w, T0, "4")
	if n, err := s.Strike(ctx, "r\x00ß", T0, 0); err != nil || n != 1 {
		t.Fatalf("strike: %d, %v", n, err)
	}
	if n, err := s.Strike(ctx, "r\x00", T0, 0); err != nil || n != 1 {
		t.Fatalf("strike on another key: %d, %v", n, err)
	}
	reason := "halt\x00 ✋"
	if err := s.Trip(ctx, limits.KillState{Reason: reason, At: T0}); err != nil {
		t.Fatal(err)
	}
	if k, err := st.Open(t).KillSwitch(ctx); err != nil || k.Reason != reason {
		t.Fatalf("kill switch %+v, %v; want reason %q", k, err, reason)
	}
}

// testTrackedOrders: orders committed as of unknown outcome (by client
// order id only, or by venue id with no status) and the orders of a
// pending ticket hold their budget, are listed by Tracked, learn their
// venue id and status from UpdateOrder, and settle at their real fill when
// they close; the list, the ids and the budget survive a reopen.
func testTrackedOrders(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	c := &clock{st: st, now: T0}
	s := st.Open(t)
	const w = time.Hour
	req := func(cid string) *limits.ReserveRequest {
		return &limits.ReserveRequest{Owner: "bot", Now: c.now, Limits: []limits.Limit{lim("w", "100", "1000", w), lim("g", "1", "5", 0)},
			Orders: []limits.OrderRef{{ClientID: cid, Symbol: "BTCUSDT"}}}
	}
	var ids []limits.Ticket
	for _, cid := range []string{"c1", "c2", "c3"} {
		id, err := s.Reserve(ctx, req(cid))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := s.Reserve(ctx, &limits.ReserveRequest{Owner: "bot", Now: c.now, DryRun: true, Limits: []limits.Limit{lim("w", "1", "1000", w)},
		Orders: []limits.OrderRef{{ClientID: "dry", Symbol: "BTCUSDT"}}}); err != nil {
		t.Fatal(err)
	}
	// c1: a lost answer; c2: an ACK with venue id 22; c3 pending (its
	// process stopped mid-request).
	if err := s.Commit(ctx, ids[0], limits.Settlement{Orders: []limits.OrderRef{{ClientID: "c1", Symbol: "BTCUSDT", Unknown: true}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, ids[1], limits.Settlement{Orders: []limits.OrderRef{{ID: "22", ClientID: "c2", Symbol: "BTCUSDT", Unknown: true}}}); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	tr, err := s.Tracked(ctx, "bot")
	if err != nil || len(tr) != 3 {
		t.Fatalf("tracked %+v, %v; want c1, c2, c3", tr, err)
	}
	for _, o := range tr {
		if !o.Unknown || o.Symbol != "BTCUSDT" || o.Owner != "bot" || o.At.IsZero() || c.exact() && !o.At.Equal(T0) {
			t.Errorf("tracked %+v", o)
		}
		if o.Pending != (o.ClientID == "c3") {
			t.Errorf("%s pending %v", o.ClientID, o.Pending)
		}
	}
	if other, err := s.Tracked(ctx, "other"); err != nil || len(other) != 0 {
		t.Errorf("another owner's orders: %+v, %v", other, err)
	}
	wantUsed(t, s, "w", w, c.now, "300")
	// c1 rests at the venue as order 11; c3 was placed and filled 40.
	if err := s.UpdateOrder(ctx, "bot", limits.OrderUpdate{ID: "11", ClientID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateOrder(ctx, "bot", limits.OrderUpdate{ID: "33", ClientID: "c3", Closed: true, Filled: dec("40")}); err != nil {
		t.Fatal(err)
	}
	// Orders nobody tracks change nothing.
	if err := s.UpdateOrder(ctx, "bot", limits.OrderUpdate{ID: "99", ClientID: "c9", Closed: true}); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	tr, _ = s.Tracked(ctx, "bot")
	if len(tr) != 2 || tr[0].ID != "11" || tr[0].ClientID != "c1" || tr[0].Unknown || tr[1].ID != "22" || !tr[1].Unknown {
		t.Fatalf("tracked %+v; want 11 known, 22 unknown", tr)
	}
	wantUsed(t, s, "w", w, c.now, "240")
	wantUsed(t, s, "g", 0, c.now, "2")
	// Release of the ticket an update committed: it is no longer pending.
	if err := s.Release(ctx, ids[2]); !errors.Is(err, limits.ErrUnknownTicket) {
		t.Fatalf("release of a ticket a look-up settled: %v", err)
	}
	// Order 11 closes by venue id (a cancel's answer), 22 was never placed.
	if err := s.CloseOrder(ctx, "bot", "11", dec("25")); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateOrder(ctx, "bot", limits.OrderUpdate{ClientID: "c2", ID: "22", Closed: true}); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	if tr, _ := s.Tracked(ctx, "bot"); len(tr) != 0 {
		t.Fatalf("tracked %+v, want none", tr)
	}
	wantUsed(t, s, "w", w, c.now, "65")
	wantUsed(t, s, "g", 0, c.now, "0")
	// A released ticket's orders are no longer listed.
	id, err := s.Reserve(ctx, req("c4"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	if tr, _ := st.Open(t).Tracked(ctx, "bot"); len(tr) != 0 {
		t.Fatalf("tracked %+v after a release", tr)
	}
}

// testSharedOrder: two tickets holding one order (an order and its edit)
// both settle when it closes, and its fill counts once.
func testSharedOrder(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	s := st.Open(t)
	for _, amount := range []string{"100", "150"} {
		id := reserve(t, s, "bot", T0, lim("w", amount, "1000", time.Hour), lim("g", "1", "5", 0))
		if err := s.Commit(ctx, id, limits.Settlement{Orders: []limits.OrderRef{{ID: "7", ClientID: "c7", Symbol: "S", Unknown: true}}}); err != nil {
			t.Fatal(err)
		}
	}
	s = st.Open(t)
	if tr, _ := s.Tracked(ctx, "bot"); len(tr) != 2 {
		t.Fatalf("tracked %+v", tr)
	}
	if err := s.CloseOrder(ctx, "bot", "7", dec("120")); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	if tr, _ := s.Tracked(ctx, "bot"); len(tr) != 0 {
		t.Fatalf("tracked %+v", tr)
	}
	wantUsed(t, s, "w", time.Hour, T0, "120")
	wantUsed(t, s, "g", 0, T0, "0")
}

// testSymbolOfUpdate: venue ids may repeat across symbols (Binance numbers
// each symbol's orders); an update that names a symbol settles only the
// order of that symbol, or one tracked without a symbol.
func testSymbolOfUpdate(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	s := st.Open(t)
	for _, sym := range []string{"AAA", "BBB"} {
		id := reserve(t, s, "bot", T0, lim("w", "100", "1000", time.Hour), lim("g", "1", "5", 0))
		if err := s.Commit(ctx, id, limits.Settlement{Orders: []limits.OrderRef{{ID: "5", Symbol: sym}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpdateOrder(ctx, "bot", limits.OrderUpdate{ID: "5", Symbol: "BBB", Closed: true, Filled: dec("30")}); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	tr, err := s.Tracked(ctx, "bot")
	if err != nil || len(tr) != 1 || tr[0].Symbol != "AAA" {
		t.Fatalf("tracked %+v, %v; want AAA's order 5 only", tr, err)
	}
	wantUsed(t, s, "w", time.Hour, T0, "130")
	wantUsed(t, s, "g", 0, T0, "1")
	// An update of another symbol finds nothing.
	if err := s.UpdateOrder(ctx, "bot", limits.OrderUpdate{ID: "5", Symbol: "CCC", Closed: true}); err != nil {
		t.Fatal(err)
	}
	wantUsed(t, s, "g", 0, T0, "1")
}

// testSettlementByOrders: a settlement by order refs counts what the
// closed orders filled plus each tracked order's whole fill.
func testSettlementByOrders(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewState(t)
	s := st.Open(t)
	id := reserve(t, s, "bot", T0, lim("w", "300", "1000", time.Hour), lim("g", "2", "5", 0))
	if err := s.Commit(ctx, id, limits.Settlement{Filled: dec("100"), Orders: []limits.OrderRef{{ID: "2", Symbol: "S"}}}); err != nil {
		t.Fatal(err)
	}
	wantUsed(t, s, "g", 0, T0, "1")
	if err := s.CloseOrder(ctx, "bot", "2", dec("90")); err != nil {
		t.Fatal(err)
	}
	s = st.Open(t)
	wantUsed(t, s, "w", time.Hour, T0, "190")
	wantUsed(t, s, "g", 0, T0, "0")
}
