package limits

import (
	"context"
	"errors"
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
	type step struct {
		name   string
		in     *exchange.Intent
		ctx    context.Context
		settle func(context.Context, exchange.Reservation) error
		act    func(*fixture) error // instead of a Check
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	commit := func(out exchange.Outcome) func(context.Context, exchange.Reservation) error {
		return func(ctx context.Context, r exchange.Reservation) error { return r.Commit(ctx, out) }
	}
	release := func(cause error) func(context.Context, exchange.Reservation) error {
		return func(ctx context.Context, r exchange.Reservation) error { return r.Release(ctx, cause) }
	}
	closeOrder := func(id, filled string) step {
		return step{name: "close " + id, act: func(f *fixture) error {
			return f.guard.OrderClosed(context.Background(), "main", id, dec(filled))
		}}
	}
	odd := exchange.Order{Symbol: "ETHUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Price: dec("10.000000000000000001"), Quantity: dec("0.000000000000000003")}
	script := []step{
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
	}
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
