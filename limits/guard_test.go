package limits

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

func TestGuardRules(t *testing.T) {
	const B, S = exchange.Buy, exchange.Sell
	withClass := func(cred string, c exchange.Class) *exchange.Intent {
		return &exchange.Intent{Credential: cred, Venue: "binance", Route: exchange.Route{Name: "X", Class: c}}
	}
	tests := []struct {
		name  string
		in    *exchange.Intent
		setup func(f *fixture)
		want  Rule
	}{
		{name: "allowed limit buy", in: trade("main", limit("BTCUSDT", B, "100", "1"))},
		{name: "nil intent", in: nil, want: RuleIntent},
		{name: "unknown credential", in: trade("ghost", limit("BTCUSDT", B, "100", "1")), want: RuleCredential},
		{name: "venue mismatch", in: func() *exchange.Intent {
			in := trade("main", limit("BTCUSDT", B, "100", "1"))
			in.Venue = "kucoin"
			return in
		}(), want: RuleCredential},

		{name: "public always", in: withClass("main", exchange.ClassPublic)},
		{name: "read by default", in: withClass("main", exchange.ClassRead)},
		{name: "cancel by default", in: withClass("main", exchange.ClassCancel)},
		{name: "withdraw unlisted", in: withClass("main", exchange.ClassWithdraw), want: RuleClass},
		{name: "transfer unlisted", in: withClass("main", exchange.ClassTransfer), want: RuleClass},
		{name: "keys unlisted", in: withClass("main", exchange.ClassKeys), want: RuleClass},
		{name: "withdraw listed", in: withClass("wide", exchange.ClassWithdraw)},
		{name: "unknown class", in: withClass("main", "mystery"), want: RuleClass},

		{name: "trade without orders", in: trade("main"), want: RuleIntent},
		{name: "zero quantity", in: trade("main", limit("BTCUSDT", B, "100", "0")), want: RuleIntent},
		{name: "negative quantity", in: trade("main", limit("BTCUSDT", B, "100", "-1")), want: RuleIntent},
		{name: "limit without price", in: trade("main", limit("BTCUSDT", B, "0", "1")), want: RuleIntent},
		{name: "bad side", in: trade("main", limit("BTCUSDT", "HOLD", "100", "1")), want: RuleIntent},

		{name: "symbol not allowlisted", in: trade("main", limit("DOGEUSDT", B, "1", "1")), want: RuleSymbol},
		{name: "one leg off the allowlist", in: trade("main", limit("BTCUSDT", B, "100", "1"), limit("PUMPUSDT", B, "1", "1")), want: RuleSymbol},
		{name: "order type not allowed", in: trade("main", exchange.Order{Symbol: "BTCUSDT", Side: B, Type: exchange.StopLimit, Price: dec("100"), Quantity: dec("1")}), want: RuleOrderType},

		{name: "no ticker", in: trade("main", limit("BTCUSDT", B, "100", "1")), setup: func(f *fixture) { f.prices.err = errors.New("down") }, want: RuleReference},
		{name: "reference exactly max age", in: trade("main", limit("BTCUSDT", B, "100", "1")), setup: func(f *fixture) { f.clock.Advance(5 * time.Second) }},
		{name: "reference stale by 1ms", in: trade("main", limit("BTCUSDT", B, "100", "1")), setup: func(f *fixture) { f.clock.Advance(5*time.Second + time.Millisecond) }, want: RuleReference},
		{name: "judged at the intent's time, not the clock", in: at(t0, trade("main", limit("BTCUSDT", B, "100", "1"))), setup: func(f *fixture) { f.clock.Advance(time.Hour) }},
		{name: "stale at the intent's time", in: at(t0.Add(5*time.Second+time.Millisecond), trade("main", limit("BTCUSDT", B, "100", "1"))), want: RuleReference},
		{name: "two legs judged at the intent's time", in: at(t0, trade("main", limit("BTCUSDT", B, "100", "1"), limit("ETHUSDT", B, "10", "1"))), setup: func(f *fixture) { f.clock.Advance(time.Hour) }},
		{name: "two legs stale at the intent's time", in: at(t0.Add(time.Hour), trade("main", limit("BTCUSDT", B, "100", "1"), limit("ETHUSDT", B, "10", "1"))), want: RuleReference},
		{name: "reference from the future", in: trade("main", limit("BTCUSDT", B, "100", "1")), setup: func(f *fixture) { f.prices.Set("BTCUSDT", "99", "100", t0.Add(6*time.Second)) }, want: RuleReference},
		{name: "reference from centuries ahead", in: trade("main", limit("BTCUSDT", B, "100", "1")), setup: func(f *fixture) { f.prices.Set("BTCUSDT", "99", "100", t0.AddDate(300, 0, 0)) }, want: RuleReference},
		{name: "reference from centuries ago", in: trade("main", limit("BTCUSDT", B, "100", "1")), setup: func(f *fixture) { f.prices.Set("BTCUSDT", "99", "100", t0.AddDate(-300, 0, 0)) }, want: RuleReference},
		{name: "reference without time", in: trade("main", limit("BTCUSDT", B, "100", "1")), setup: func(f *fixture) { f.prices.Set("BTCUSDT", "99", "100", time.Time{}) }, want: RuleReference},
		{name: "buy without ask", in: trade("main", limit("BTCUSDT", B, "100", "1")), setup: func(f *fixture) { f.prices.Set("BTCUSDT", "99", "", t0) }, want: RuleReference},
		{name: "sell without bid", in: trade("main", limit("BTCUSDT", S, "100", "1")), setup: func(f *fixture) { f.prices.Set("BTCUSDT", "", "100", t0) }, want: RuleReference},
		{name: "crossed quote", in: trade("main", limit("BTCUSDT", B, "100", "1")), setup: func(f *fixture) { f.prices.Set("BTCUSDT", "101", "100", t0) }, want: RuleReference},

		// ask 100, bid 99, band 2%
		{name: "buy exactly at band", in: trade("main", limit("BTCUSDT", B, "102", "1"))},
		{name: "buy above band", in: trade("main", limit("BTCUSDT", B, "102.00000001", "1")), want: RulePriceBand},
		{name: "buy far below market ok", in: trade("main", limit("BTCUSDT", B, "1", "1"))},
		{name: "sell exactly at band", in: trade("main", limit("BTCUSDT", S, "97.02", "1"))},
		{name: "sell below band", in: trade("main", limit("BTCUSDT", S, "97.01999999", "1")), want: RulePriceBand},
		{name: "sell far above market ok", in: trade("main", limit("BTCUSDT", S, "200", "2"))},

		// BTCUSDT per-order cap 500 (symbol) under 1000 (USDT)
		{name: "order exactly at symbol cap", in: trade("main", limit("BTCUSDT", B, "100", "5"))},
		{name: "order one unit over symbol cap", in: trade("main", limit("BTCUSDT", B, "100", "5.00000001")), want: RuleOrderNotional},
		{name: "order exactly at quote cap", in: trade("main", limit("ETHUSDT", B, "10", "100"))},
		{name: "order over quote cap", in: trade("main", limit("ETHUSDT", B, "10", "100.1")), want: RuleOrderNotional},
		// market buy valued at ask*(1+band) = 102
		{name: "market at cap", in: trade("main", market("BTCUSDT", B, "4.9019607843137254901960784313725490196", ""))},
		{name: "market valued with band", in: trade("main", market("BTCUSDT", B, "4.91", "")), want: RuleOrderNotional},
		{name: "market sell valued with band", in: trade("main", market("BTCUSDT", S, "4.96", "")), want: RuleOrderNotional},
		{name: "market by quote at cap", in: trade("main", market("BTCUSDT", B, "", "500"))},
		{name: "market by quote over cap", in: trade("main", market("BTCUSDT", B, "", "500.01")), want: RuleOrderNotional},

		// open orders: max 3
		{name: "open orders at max", in: trade("main", limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1"))},
		{name: "open orders over max", in: trade("main", limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1")), want: RuleOpenOrders},
		{name: "too many legs", in: trade("wide", limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1"), limit("BTCUSDT", B, "1", "1")), want: RuleIntent},

		{name: "kill switch refuses trade", in: trade("main", limit("BTCUSDT", B, "100", "1")), setup: func(f *fixture) { f.guard.Trip(context.Background(), "test") }, want: RuleKillSwitch},
		{name: "kill switch before credential", in: trade("ghost", limit("BTCUSDT", B, "100", "1")), setup: func(f *fixture) { f.guard.Trip(context.Background(), "test") }, want: RuleKillSwitch},
		{name: "kill switch lets cancel pass", in: withClass("main", exchange.ClassCancel), setup: func(f *fixture) { f.guard.Trip(context.Background(), "test") }},
		{name: "kill switch lets read pass", in: withClass("main", exchange.ClassRead), setup: func(f *fixture) { f.guard.Trip(context.Background(), "test") }},
		{name: "kill switch lets public pass", in: withClass("main", exchange.ClassPublic), setup: func(f *fixture) { f.guard.Trip(context.Background(), "test") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testPolicy, nil)
			if tc.setup != nil {
				tc.setup(f)
			}
			_, got := f.check(tc.in)
			if got != tc.want {
				t.Fatalf("rule = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGuardDailyNotionalBoundaries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, testPolicy, nil)
	// BTCUSDT daily 1500; USDT daily 2000.
	for range 3 {
		r := f.mustAllow(trade("main", limit("BTCUSDT", exchange.Buy, "100", "5")))
		if err := r.Commit(ctx, exchange.Outcome{OrderIDs: []string{"x"}, FilledQuote: dec("500")}); err != nil {
			t.Fatal(err)
		}
	}
	// Exactly at 1500; one more unit over.
	if _, rule := f.check(trade("main", limit("BTCUSDT", exchange.Buy, "1", "0.00000001"))); rule != RuleDailyNotional {
		t.Fatalf("symbol window: rule %q, want daily_notional", rule)
	}
	// USDT has 500 left: ETH exactly 500 passes, then 0.01 more fails.
	r := f.mustAllow(trade("main", limit("ETHUSDT", exchange.Buy, "10", "50")))
	if err := r.Commit(ctx, exchange.Outcome{FilledQuote: dec("500")}); err != nil {
		t.Fatal(err)
	}
	_, err := f.guard.Check(ctx, trade("main", limit("ETHUSDT", exchange.Buy, "10", "0.001")))
	var v *Violation
	if !errors.As(err, &v) || v.Rule != RuleDailyNotional || !strings.Contains(v.Error(), "quotes.USDT.max_daily_notional") {
		t.Fatalf("quote window: %v", err)
	}
	// The window rolls: 24h after the first reservation everything is free.
	f.clock.Advance(DailyWindow - time.Nanosecond)
	f.prices.Set("ETHUSDT", "9", "10", f.clock.Now())
	if _, rule := f.check(trade("main", limit("ETHUSDT", exchange.Buy, "10", "0.001"))); rule != RuleDailyNotional {
		t.Fatalf("before the window rolled: rule %q", rule)
	}
	f.clock.Advance(time.Nanosecond)
	f.mustAllow(trade("main", limit("ETHUSDT", exchange.Buy, "10", "0.001")))
}

func TestViolationMessage(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	_, err := f.guard.Check(context.Background(), trade("main", limit("BTCUSDT", exchange.Buy, "100", "6")))
	var v *Violation
	if !errors.As(err, &v) {
		t.Fatal(err)
	}
	if v.Rule != RuleOrderNotional || v.Limit != "500 USDT" || v.Observed != "notional 600 USDT" || v.Symbol != "BTCUSDT" || v.Credential != "main" {
		t.Fatalf("violation %+v", v)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "raise credentials.main.symbols.BTCUSDT.max_order_notional") {
		t.Fatalf("message %q", msg)
	}
	_, err = f.guard.Check(context.Background(), trade("main", limit("BTCUSDT", exchange.Buy, "110", "1")))
	if !errors.As(err, &v) || v.Limit != "2%" || !strings.Contains(v.Observed, "10% above the ask 100") {
		t.Fatalf("band violation %v", err)
	}
	f.prices.err = errors.New("ticker down")
	_, err = f.guard.Check(context.Background(), trade("main", limit("BTCUSDT", exchange.Buy, "100", "1")))
	if !errors.Is(err, ErrNoReference) || !errors.Is(err, ErrDenied) {
		t.Fatalf("no reference: %v", err)
	}
}

func TestGuardNoPriceSource(t *testing.T) {
	p, err := ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGuard(p, NewMemoryStore())
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Check(context.Background(), trade("main", limit("BTCUSDT", exchange.Buy, "100", "1")))
	if !errors.Is(err, ErrNoReference) || !strings.Contains(err.Error(), "WithPrices") {
		t.Fatalf("err = %v", err)
	}
}

func TestTestOrdersReserveNothing(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	for range 10 {
		in := trade("main", limit("BTCUSDT", exchange.Buy, "100", "5"))
		in.Test = true
		r := f.mustAllow(in)
		if err := r.Commit(context.Background(), exchange.Outcome{}); err != nil {
			t.Fatal(err)
		}
	}
	// Test orders are still checked.
	in := trade("main", limit("BTCUSDT", exchange.Buy, "100", "6"))
	in.Test = true
	if _, rule := f.check(in); rule != RuleOrderNotional {
		t.Fatalf("rule %q", rule)
	}
	// Nothing was reserved: 1500 of the window and 3 open slots are free.
	for range 3 {
		f.mustAllow(trade("main", limit("BTCUSDT", exchange.Buy, "100", "5")))
	}
}

func TestReservationLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, testPolicy, nil)
	buy := func() *exchange.Intent { return trade("main", limit("BTCUSDT", exchange.Buy, "100", "5")) }

	// Released: all budget back.
	r := f.mustAllow(buy())
	if err := r.Release(ctx, errors.New("network down before sending")); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(ctx, nil); !errors.Is(err, ErrSettled) {
		t.Fatalf("second release: %v", err)
	}
	if err := r.Commit(ctx, exchange.Outcome{}); !errors.Is(err, ErrSettled) {
		t.Fatalf("commit after release: %v", err)
	}

	// Three resting orders: open orders full, window 1500 full.
	for i, id := range []string{"a", "b", "c"} {
		r := f.mustAllow(buy())
		if err := r.Commit(ctx, exchange.Outcome{OrderIDs: []string{id}, Open: true}); err != nil {
			t.Fatal(i, err)
		}
	}
	if _, rule := f.check(trade("main", limit("ETHUSDT", exchange.Buy, "10", "1"))); rule != RuleOpenOrders {
		t.Fatalf("rule %q, want open_orders", rule)
	}
	// Order a closes having filled 100 of 500: a slot and 400 come back.
	if err := f.guard.OrderClosed(ctx, "main", "a", dec("100")); err != nil {
		t.Fatal(err)
	}
	if err := f.guard.OrderClosed(ctx, "main", "a", dec("100")); err != nil { // twice: harmless
		t.Fatal(err)
	}
	if err := f.guard.OrderClosed(ctx, "main", "never-seen", dec("1")); err != nil {
		t.Fatal(err)
	}
	if _, rule := f.check(trade("main", limit("BTCUSDT", exchange.Buy, "100", "4.00000001"))); rule != RuleDailyNotional {
		t.Fatalf("rule %q, want daily_notional", rule)
	}
	r = f.mustAllow(trade("main", limit("BTCUSDT", exchange.Buy, "100", "4")))
	// Filled at once, not resting: keeps only what filled (300 of 400).
	if err := r.Commit(ctx, exchange.Outcome{OrderIDs: []string{"d"}, FilledQuote: dec("300")}); err != nil {
		t.Fatal(err)
	}
	f.mustAllow(trade("main", limit("BTCUSDT", exchange.Buy, "100", "1"))).Release(ctx, nil)
	if _, rule := f.check(trade("main", limit("BTCUSDT", exchange.Buy, "100", "1.00000001"))); rule != RuleDailyNotional {
		t.Fatalf("rule %q, want daily_notional", rule)
	}

	// Outcome unknown: neither committed nor released, the budget stays.
	f2 := newFixture(t, testPolicy, nil)
	small := func() *exchange.Intent { return trade("main", limit("BTCUSDT", exchange.Buy, "1", "1")) }
	for range 3 {
		f2.mustAllow(small())
	}
	if _, rule := f2.check(small()); rule != RuleOpenOrders {
		t.Fatalf("rule %q, want open_orders", rule)
	}
}

func TestOrderListClosesTrimToFilled(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, testPolicy, nil)
	// Two legs of 250: one fills, the other is cancelled.
	r := f.mustAllow(trade("main", limit("BTCUSDT", exchange.Sell, "100", "2.5"), limit("BTCUSDT", exchange.Buy, "100", "2.5")))
	if err := r.Commit(ctx, exchange.Outcome{OrderIDs: []string{"l1", "l2"}, Open: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.guard.OrderClosed(ctx, "main", "l1", dec("250")); err != nil {
		t.Fatal(err)
	}
	// Still holding 500 until the other leg closes: 1000 left.
	if _, rule := f.check(trade("main", limit("BTCUSDT", exchange.Buy, "100", "5"), limit("BTCUSDT", exchange.Buy, "100", "5"), limit("BTCUSDT", exchange.Buy, "100", "0.1"))); rule != RuleDailyNotional {
		t.Fatalf("rule %q", rule)
	}
	if err := f.guard.OrderClosed(ctx, "main", "l2", dec("0")); err != nil {
		t.Fatal(err)
	}
	// Now only 250 counts: 1250 left, and all 3 slots are free.
	f.mustAllow(trade("main", limit("BTCUSDT", exchange.Buy, "100", "5"), limit("BTCUSDT", exchange.Buy, "100", "5"), limit("BTCUSDT", exchange.Buy, "100", "2.5")))
}

func TestKillSwitch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, testPolicy, nil)
	if tripped, _ := f.guard.Tripped(ctx); tripped {
		t.Fatal("tripped at start")
	}
	if err := f.guard.Trip(ctx, "operator says stop"); err != nil {
		t.Fatal(err)
	}
	tripped, reason := f.guard.Tripped(ctx)
	if !tripped || reason != "operator says stop" {
		t.Fatalf("Tripped = %v %q", tripped, reason)
	}
	_, err := f.guard.Check(ctx, trade("main", limit("BTCUSDT", exchange.Buy, "100", "1")))
	if !errors.Is(err, ErrKillSwitch) || !strings.Contains(err.Error(), "operator says stop") {
		t.Fatalf("err = %v", err)
	}
	if err := f.guard.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	f.mustAllow(trade("main", limit("BTCUSDT", exchange.Buy, "100", "1")))
}

func TestKillSwitchConsecutiveRejections(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, testPolicy, nil) // max_consecutive_rejections: 3
	reject := &exchange.APIError{Venue: "binance", Status: 400, Code: "-2010", Msg: "insufficient balance", Kind: exchange.ErrRejected}
	small := func() *exchange.Intent { return trade("main", limit("BTCUSDT", exchange.Buy, "1", "1")) }
	for range 2 {
		if err := f.mustAllow(small()).Release(ctx, reject); err != nil {
			t.Fatal(err)
		}
	}
	// A commit resets the count; local errors do not count.
	if err := f.mustAllow(small()).Commit(ctx, exchange.Outcome{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := f.mustAllow(small()).Release(ctx, reject); err != nil {
			t.Fatal(err)
		}
		if err := f.mustAllow(small()).Release(ctx, errors.New("local")); err != nil {
			t.Fatal(err)
		}
	}
	if tripped, _ := f.guard.Tripped(ctx); tripped {
		t.Fatal("tripped after 2 rejections in a row")
	}
	// A rejection of a read counts too (wrapped).
	r := f.mustAllow(&exchange.Intent{Credential: "main", Venue: "binance", Route: exchange.Route{Class: exchange.ClassRead}})
	if err := r.Release(ctx, errors.Join(errors.New("placing"), reject)); err != nil {
		t.Fatal(err)
	}
	tripped, reason := f.guard.Tripped(ctx)
	if !tripped || !strings.Contains(reason, "3 consecutive venue rejections") {
		t.Fatalf("Tripped = %v %q", tripped, reason)
	}
	if _, rule := f.check(small()); rule != RuleKillSwitch {
		t.Fatalf("rule %q", rule)
	}
}

func TestKillSwitchDenials(t *testing.T) {
	ctx := context.Background()
	pol := strings.Replace(testPolicy, "max_denials: 0", "max_denials: 3\n  denial_window: 10s", 1)
	f := newFixture(t, pol, nil)
	bad := trade("main", limit("PUMPUSDT", exchange.Buy, "1", "1"))
	f.check(bad)
	f.check(bad)
	f.clock.Advance(10 * time.Second) // the first two leave the window
	f.prices.Set("BTCUSDT", "99", "100", f.clock.Now())
	f.check(bad)
	f.check(bad)
	if tripped, _ := f.guard.Tripped(ctx); tripped {
		t.Fatal("tripped with 2 denials in the window")
	}
	f.check(bad)
	tripped, reason := f.guard.Tripped(ctx)
	if !tripped || !strings.Contains(reason, "3 denied intents within 10s") {
		t.Fatalf("Tripped = %v %q", tripped, reason)
	}
	// Reset clears the count too.
	if err := f.guard.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	f.check(bad)
	if tripped, _ := f.guard.Tripped(ctx); tripped {
		t.Fatal("tripped right after reset")
	}
	f.mustAllow(trade("main", limit("BTCUSDT", exchange.Buy, "100", "1")))
}

// failingStore fails every operation.
type failingStore struct{ *MemoryStore }

var errStoreDown = errors.New("store unreachable")

func (*failingStore) Reserve(context.Context, *ReserveRequest) (Ticket, error) {
	return "", errStoreDown
}
func (*failingStore) KillSwitch(context.Context) (KillState, error) { return KillState{}, errStoreDown }

func TestGuardStoreFailureRefuses(t *testing.T) {
	f := newFixture(t, testPolicy, &failingStore{MemoryStore: NewMemoryStore()})
	_, err := f.guard.Check(context.Background(), trade("main", limit("BTCUSDT", exchange.Buy, "100", "1")))
	var v *Violation
	if !errors.Is(err, ErrUndecidable) || !errors.Is(err, ErrDenied) || !errors.Is(err, errStoreDown) || !errors.As(err, &v) || v.Rule != RuleStore {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("multi-line message %q", err)
	}
	if tripped, reason := f.guard.Tripped(context.Background()); !tripped || !strings.Contains(reason, "unreadable") {
		t.Fatalf("Tripped = %v %q, want fail closed", tripped, reason)
	}
	// Reads do not need the store.
	f.mustAllow(&exchange.Intent{Credential: "main", Venue: "binance", Route: exchange.Route{Class: exchange.ClassRead}})
}

func TestGuardPolicyHash(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	h := f.guard.PolicyHash("main")
	if h.IsZero() || h.String() != f.guard.Policy().Hash() {
		t.Fatalf("hash %q", h)
	}
	risks, ok := f.guard.AcceptKeyRisks("main")
	if !ok || risks.Withdraw {
		t.Fatalf("risks %+v %v", risks, ok)
	}
	if _, ok := f.guard.AcceptKeyRisks("ghost"); ok {
		t.Fatal("risks for unknown credential")
	}
}

// pricesAt is a price source that takes the time of the decision and
// records it.
type pricesAt struct {
	*prices
	mu   sync.Mutex
	seen []time.Time
}

func (p *pricesAt) ReferenceAt(ctx context.Context, symbol string, now time.Time) (exchange.Quote, error) {
	p.mu.Lock()
	p.seen = append(p.seen, now)
	p.mu.Unlock()
	return p.Reference(ctx, symbol)
}

// A price source that takes a time gets the one the guard judges at: the
// intent's, or the guard's clock for an intent without one. Plain
// Reference is not called.
func TestGuardPassesItsTimeToThePriceSource(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	src := &pricesAt{prices: f.prices}
	g, err := NewGuard(f.guard.policy, NewMemoryStore(), WithClock(f.clock.Now), WithPrices("binance", src))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	when := t0.Add(2 * time.Second)
	const B = exchange.Buy
	for _, in := range []*exchange.Intent{
		at(when, trade("main", limit("BTCUSDT", B, "100", "1"))),
		trade("main", limit("BTCUSDT", B, "100", "1")),
		at(when, trade("main", limit("BTCUSDT", B, "100", "1"), limit("ETHUSDT", B, "10", "1"))),
	} {
		res, err := g.Check(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Release(ctx, nil)
	}
	want := []time.Time{when, f.clock.Now(), when, when}
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.seen) != len(want) {
		t.Fatalf("ReferenceAt called at %v, want %v", src.seen, want)
	}
	for i := range want {
		if !src.seen[i].Equal(want[i]) {
			t.Fatalf("ReferenceAt called at %v, want %v", src.seen, want)
		}
	}
}
