package limits

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// genericStore is a MemoryStore a Guard drives through the Store interface
// alone: embedding hides the concrete type the fast path is chosen by.
type genericStore struct{ *MemoryStore }

// TestFastPathDecidesAsStore runs one script of intents and settlements
// through a guard on a MemoryStore (fast path) and one on the same store
// behind the Store interface, and requires the same decision, the same
// message and the same reservations at every step.
func TestFastPathDecidesAsStore(t *testing.T) {
	fast := newFixture(t, testPolicy, nil)
	slow := newFixture(t, testPolicy, &genericStore{NewMemoryStore()})
	if fast.guard.fast == nil {
		t.Fatal("a MemoryStore must get the fast path")
	}
	if slow.guard.fast != nil {
		t.Fatal("a type embedding a MemoryStore must not get the fast path")
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	commit := func(out exchange.Outcome) func(context.Context, exchange.Reservation) error {
		return func(ctx context.Context, r exchange.Reservation) error { return r.Commit(ctx, out) }
	}
	release := func(cause error) func(context.Context, exchange.Reservation) error {
		return func(ctx context.Context, r exchange.Reservation) error { return r.Release(ctx, cause) }
	}
	closeOrder := func(id, filled string) fastStep {
		return fastStep{name: "close " + id, act: func(f *fixture) error {
			return f.guard.OrderClosed(context.Background(), "main", id, dec(filled))
		}}
	}
	odd := exchange.Order{Symbol: "ETHUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Price: dec("10.000000000000000001"), Quantity: dec("0.000000000000000003")}
	script := []fastStep{
		{name: "allowed buy", in: trade("main", limit("BTCUSDT", exchange.Buy, "101", "1")), settle: commit(exchange.Outcome{FilledQuote: dec("101")})},
		{name: "allowed sell", in: trade("main", limit("BTCUSDT", exchange.Sell, "98", "2")), settle: release(nil)},
		{name: "band above", in: trade("main", limit("BTCUSDT", exchange.Buy, "102.01", "1"))},
		{name: "band below", in: trade("main", limit("BTCUSDT", exchange.Sell, "97", "1"))},
		{name: "symbol order cap", in: trade("main", limit("BTCUSDT", exchange.Buy, "100", "5.01"))},
		{name: "quote order cap", in: trade("main", limit("ETHUSDT", exchange.Buy, "10", "100.1"))},
		{name: "quote quantity over qty", in: trade("main", exchange.Order{Symbol: "ETHUSDT", Side: exchange.Buy, Type: exchange.Limit,
			Price: dec("10"), Quantity: dec("1"), QuoteQuantity: dec("40")}), settle: commit(exchange.Outcome{Open: true, OrderIDs: []string{"q1"}})},
		{name: "market quote quantity", in: trade("main", market("ETHUSDT", exchange.Buy, "", "50")), settle: commit(exchange.Outcome{FilledQuote: dec("50")})},
		{name: "market quantity", in: trade("main", market("BTCUSDT", exchange.Sell, "1", "")), settle: release(&exchange.APIError{})},
		{name: "finer than units", in: trade("main", odd), settle: commit(exchange.Outcome{FilledQuote: dec("1")})},
		{name: "test order", in: &exchange.Intent{Credential: "main", Venue: "binance", Test: true,
			Route: exchange.Route{Name: "POST /api/v3/order/test", Class: exchange.ClassTrade}, Orders: []exchange.Order{limit("BTCUSDT", exchange.Buy, "100", "5")}},
			settle: commit(exchange.Outcome{})},
		{name: "two legs", in: trade("main", limit("BTCUSDT", exchange.Buy, "100", "2"), limit("BTCUSDT", exchange.Buy, "100", "2")),
			settle: commit(exchange.Outcome{Open: true, OrderIDs: []string{"l1", "l2"}})},
		{name: "open orders full", in: trade("main", limit("ETHUSDT", exchange.Buy, "10", "1"))},
		closeOrder("l1", "200"),
		{name: "symbol daily cap", in: trade("main", limit("BTCUSDT", exchange.Buy, "100", "5")), settle: commit(exchange.Outcome{Open: true, OrderIDs: []string{"b1"}})},
		closeOrder("q1", "0"),
		closeOrder("b1", "500"),
		{name: "symbol daily cap reached", in: trade("main", limit("BTCUSDT", exchange.Buy, "100", "5"))},
		{name: "quote daily cap", in: trade("main", limit("ETHUSDT", exchange.Buy, "10", "94")), settle: commit(exchange.Outcome{FilledQuote: dec("940")})},
		{name: "quote daily cap reached", in: trade("main", limit("ETHUSDT", exchange.Buy, "10", "1"))},
		{name: "cancelled context", in: trade("wide", limit("BTCUSDT", exchange.Buy, "100", "0.5")), ctx: cancelled},
		{name: "wide allowed", in: trade("wide", limit("BTCUSDT", exchange.Buy, "100", "0.5")), settle: release(errors.New("not sent"))},
		{name: "unknown credential", in: trade("ghost", limit("BTCUSDT", exchange.Buy, "100", "1"))},
		{name: "unknown symbol", in: trade("main", limit("XRPUSDT", exchange.Buy, "1", "1"))},
		{name: "trip", act: func(f *fixture) error { return f.guard.Trip(context.Background(), "by hand") }},
		{name: "tripped", in: trade("wide", limit("BTCUSDT", exchange.Buy, "100", "0.1"))},
	}
	runFastScript(t, fast, slow, script)
	// Both stores hold the same usage.
	for _, key := range []string{"main\x00symbol\x00BTCUSDT", "main\x00quote\x00USDT", "main\x00open", "wide\x00quote\x00USDT", "wide\x00open"} {
		ca, cb := fast.store.(*MemoryStore).s.counters[key], slow.store.(*genericStore).s.counters[key]
		if ca == nil || cb == nil {
			t.Fatalf("counter %q missing: fast path %v, Store %v", key, ca != nil, cb != nil)
		}
		if a, b := ca.sum, cb.sum; a != b {
			t.Errorf("counter %q: fast path %v, Store %v", key, a.decimal(), b.decimal())
		}
	}
	// Only l2, of the two-leg list the fast path leaves to Reserve, is open.
	if a, b := len(fast.store.(*MemoryStore).s.orders), len(slow.store.(*genericStore).s.orders); a != 1 || b != 1 {
		t.Errorf("open orders: fast path %d, Store %d, want 1", a, b)
	}
}

// fastStep is one step of a script run by runFastScript.
type fastStep struct {
	name   string
	in     *exchange.Intent
	ctx    context.Context
	settle func(context.Context, exchange.Reservation) error
	act    func(*fixture) error // instead of a Check
	want   string               // when set, the decision begins with it
}

// runFastScript runs script through a guard on the fast path and one on
// the Store path and requires the same decision and message at every
// step.
func runFastScript(t *testing.T, fast, slow *fixture, script []fastStep) {
	t.Helper()
	for _, s := range script {
		var got [2]string
		for k, f := range []*fixture{fast, slow} {
			ctx := s.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			if s.act != nil {
				if err := s.act(f); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				continue
			}
			res, err := f.guard.Check(ctx, s.in)
			if err != nil {
				got[k] = "denied: " + err.Error()
				continue
			}
			got[k] = "allowed"
			if s.settle == nil {
				t.Fatalf("%s: allowed without a settlement in the script", s.name)
			}
			if err := s.settle(context.Background(), res); err != nil {
				t.Fatalf("%s: settle: %v", s.name, err)
			}
		}
		if got[0] != got[1] {
			t.Fatalf("%s:\nfast path: %s\nStore:     %s", s.name, got[0], got[1])
		}
		if s.in != nil && got[0] == "" {
			t.Fatalf("%s: no decision", s.name)
		}
		if !strings.HasPrefix(got[0], s.want) {
			t.Fatalf("%s: %s, want %s", s.name, got[0], s.want)
		}
	}
}

const oddPolicy = `
version: 1
kill_switch:
  max_consecutive_rejections: 2
  max_denials: 0
credentials:
  many:
    venue: binance
    order_types: [LIMIT, MARKET]
    max_open_orders: 4
    price_band: "0.0123456789"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "3000"}
    symbols:
      S0USDT: {allow_market_by_base: true}
      S1USDT: {allow_market_by_base: true}
      S2USDT: {}
      S3USDT: {allow_market_by_base: true}
      S4USDT: {max_daily_notional: "2500"}
      S5USDT: {allow_market_by_base: true}
      S6USDT: {max_order_notional: "700.000000000000000001"}
      S7USDT: {}
      S8USDT: {}
      S9USDT: {}
`

// TestFastPathOddNumbers runs the fast path and the Store path over
// decimals the fast path cannot resolve to 64-bit coefficients, values
// finer than units, odd quotes, and a credential with more symbols than a
// scan serves.
func TestFastPathOddNumbers(t *testing.T) {
	fast := newFixture(t, oddPolicy, nil)
	slow := newFixture(t, oddPolicy, &genericStore{NewMemoryStore()})
	if fast.guard.creds["many"].symList != nil {
		t.Fatal("ten symbols must be found in the map")
	}
	for _, f := range []*fixture{fast, slow} {
		f.prices.Set("S0USDT", "99.123456789012345678", "99.123456789012345679", t0) // 20 digits
		f.prices.Set("S1USDT", "0.000000000000000000001", "0.000000000000000000002", t0)
		f.prices.Set("S2USDT", "10.5", "10.4", t0) // crossed
		f.prices.Set("S3USDT", "", "10", t0)
		f.prices.Set("S4USDT", "9.99", "10.01", t0)
		f.prices.Set("S5USDT", "12345678901234.5677", "12345678901234.5678", t0)
		f.prices.Set("S6USDT", "9.9", "10", t0)
		f.prices.Set("S9USDT", "0.99", "1", t0)
	}
	commit := func(out exchange.Outcome) func(context.Context, exchange.Reservation) error {
		return func(ctx context.Context, r exchange.Reservation) error { return r.Commit(ctx, out) }
	}
	release := func(cause error) func(context.Context, exchange.Reservation) error {
		return func(ctx context.Context, r exchange.Reservation) error { return r.Release(ctx, cause) }
	}
	in := func(o exchange.Order) *exchange.Intent { return trade("many", o) }
	buy, sell := exchange.Buy, exchange.Sell
	script := []fastStep{
		{name: "20-digit ask", in: in(limit("S0USDT", buy, "100", "1")), settle: release(nil), want: "allowed"},
		{name: "20-digit ask, band", in: in(limit("S0USDT", buy, "100.5", "1")), want: "denied"},
		{name: "20-digit ask, market", in: in(market("S0USDT", buy, "1", "")), settle: commit(exchange.Outcome{FilledQuote: dec("100.3")}), want: "allowed"},
		{name: "20-digit bid, market sell", in: in(market("S0USDT", sell, "0.5", "")), settle: release(&exchange.APIError{}), want: "allowed"},
		{name: "20-digit bid, band", in: in(limit("S0USDT", sell, "97.8", "1")), want: "denied"},
		{name: "tiny quote: finer than units is stricter", in: in(limit("S1USDT", buy, "0.000000000000000000002", "1")), want: "denied"},
		{name: "tiny quote, market", in: in(market("S1USDT", buy, "1000000", "")), settle: commit(exchange.Outcome{}), want: "allowed"},
		{name: "crossed", in: in(limit("S2USDT", buy, "10", "1")), want: "denied"},
		{name: "no bid", in: in(limit("S3USDT", sell, "10", "1")), want: "denied"},
		{name: "no bid, market buy", in: in(market("S3USDT", buy, "2", "")), settle: release(nil), want: "allowed"},
		{name: "band product past 18 digits, market", in: in(market("S5USDT", buy, "0.00000000001", "")), settle: release(nil), want: "allowed"},
		{name: "band product past 18 digits, quote quantity", in: in(market("S5USDT", buy, "0.00000000001", "50")), settle: release(nil), want: "allowed"},
		{name: "market over the quote cap", in: in(market("S4USDT", buy, "", "1000.000000000000000001")), want: "denied"},
		{name: "market at the quote cap", in: in(market("S4USDT", buy, "", "1000")), settle: commit(exchange.Outcome{Open: true, OrderIDs: []string{"m1"}}), want: "allowed"},
		{name: "at an odd cap", in: in(limit("S6USDT", buy, "10", "70.0000000000000000001")), settle: commit(exchange.Outcome{Open: true}), want: "allowed"},
		{name: "finer than units over an odd cap", in: in(limit("S6USDT", buy, "10", "70.00000000000000000011")), want: "denied"},
		{name: "huge quantity", in: in(limit("S4USDT", buy, "10", "123456789012345678901234567890")), want: "denied"},
		{name: "negative quantity", in: in(limit("S4USDT", buy, "10", "-1")), want: "denied"},
		{name: "no quantity", in: in(market("S4USDT", buy, "0", "0")), want: "denied"},
		{name: "negative quote quantity", in: in(market("S4USDT", buy, "1", "-1")), want: "denied"},
		{name: "zero price", in: in(limit("S4USDT", buy, "0", "1")), want: "denied"},
		{name: "sell band", in: in(limit("S4USDT", sell, "9.8", "1")), want: "denied"},
		{name: "map symbol", in: in(limit("S9USDT", buy, "1", "100")), settle: commit(exchange.Outcome{Open: true, OrderIDs: []string{"m9"}}), want: "allowed"},
		{name: "unknown symbol", in: in(limit("XUSDT", buy, "1", "1")), want: "denied"},
		{name: "daily symbol cap", in: in(limit("S4USDT", buy, "10", "99")), settle: commit(exchange.Outcome{Open: true, OrderIDs: []string{"m2"}}), want: "allowed"},
		{name: "daily symbol cap reached", in: in(limit("S4USDT", buy, "10", "60")), want: "denied"},
		{name: "close", act: func(f *fixture) error { return f.guard.OrderClosed(context.Background(), "many", "m1", dec("400")) }},
		{name: "daily symbol cap after the close", in: in(limit("S4USDT", buy, "10", "60")), settle: release(&exchange.APIError{}), want: "allowed"},
		{name: "open orders full", in: in(limit("S9USDT", buy, "1", "1")), settle: commit(exchange.Outcome{Open: true, OrderIDs: []string{"m3"}}), want: "allowed"},
		{name: "open orders full, refused", in: in(limit("S9USDT", buy, "1", "1")), want: "denied"},
		{name: "close m9", act: func(f *fixture) error { return f.guard.OrderClosed(context.Background(), "many", "m9", dec("0")) }},
		{name: "rejected", in: in(limit("S9USDT", buy, "1", "1")), settle: release(&exchange.APIError{}), want: "allowed"},
		{name: "rejected again", in: in(limit("S9USDT", buy, "1", "1")), settle: release(&exchange.APIError{}), want: "allowed"},
		{name: "tripped", in: in(limit("S9USDT", buy, "1", "1")), want: "denied"},
	}
	runFastScript(t, fast, slow, script)
	// Both stores hold the same usage.
	ms, gs := fast.store.(*MemoryStore).s, slow.store.(*genericStore).s
	if len(ms.counters) != len(gs.counters) {
		t.Errorf("counters: fast path %d, Store %d", len(ms.counters), len(gs.counters))
	}
	for key, ca := range ms.counters {
		cb := gs.counters[key]
		if cb == nil {
			t.Errorf("counter %q missing on the Store path", key)
		} else if ca.sum != cb.sum {
			t.Errorf("counter %q: fast path %v, Store %v", key, ca.sum.decimal(), cb.sum.decimal())
		}
	}
	if ks, _ := fast.guard.Tripped(context.Background()); !ks {
		t.Error("two venue rejections in a row must trip the kill switch")
	}
}
