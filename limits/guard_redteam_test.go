package limits

import (
	"context"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// A limit sell priced below the bid fills at the bid or better: up to
// max(limit, bid) per unit. Valued at its limit price, a sell inside the
// band passed a per-order cap its fill exceeded (BTCUSDT: cap 500, bid 99,
// band 2%: 5.1 @ 97.1 is 495.21 at the limit, 504.9 at the bid). The
// guard values a priced sell at max(limit, bid) and, for a stop-limit or
// take-profit-limit sell, at its trigger too; on the fast path (one
// order, MemoryStore) and the slow one (an order list) alike.
func TestRedteamSellBelowBidValuedAtBid(t *testing.T) {
	const pol = `
version: 1
kill_switch: {max_denials: 0}
credentials:
  main:
    venue: binance
    order_types: [LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT]
    max_open_orders: 10
    price_band: "2%"
    reference_max_age: 5s
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "100000"}
    symbols:
      BTCUSDT: {max_order_notional: "500"}
`
	sell := func(typ exchange.OrderType, price, qty, stop string) exchange.Order {
		o := limit("BTCUSDT", exchange.Sell, price, qty)
		o.Type = typ
		if stop != "" {
			o.StopPrice = dec(stop)
		}
		return o
	}
	for _, tc := range []struct {
		name string
		o    exchange.Order
		want Rule
	}{
		{"limit below the bid", sell(exchange.Limit, "97.1", "5.1", ""), RuleOrderNotional},
		{"limit maker below the bid", sell(exchange.LimitMaker, "97.1", "5.1", ""), RuleOrderNotional},
		{"limit at the bid", sell(exchange.Limit, "99", "5.05", ""), ""},
		{"limit below the bid, under the cap at the bid", sell(exchange.Limit, "97.1", "5.05", ""), ""},
		{"limit above the bid at its price", sell(exchange.Limit, "100", "5", ""), ""},
		{"limit above the bid over the cap", sell(exchange.Limit, "100", "5.01", ""), RuleOrderNotional},
		// Triggers at 100.9 (inside the band), then sells at 97.1 or better: at about 100.9.
		{"take-profit limit triggering above the bid", sell(exchange.TakeLimit, "97.1", "4.98", "100.9"), RuleOrderNotional},
		{"take-profit limit under the cap at its trigger", sell(exchange.TakeLimit, "97.1", "4.95", "100.9"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, list := range []bool{false, true} {
				f := newFixture(t, pol, nil)
				in := trade("main", tc.o)
				if list {
					// An order list takes the slow path; its other leg is small.
					in = trade("main", tc.o, limit("BTCUSDT", exchange.Buy, "99", "0.01"))
				}
				if _, rule := f.check(in); rule != tc.want {
					t.Errorf("list %v: rule %q, want %q", list, rule, tc.want)
				}
			}
		})
	}
}

// The reservation holds the notional at the bid too: a sell of 5 @ 97.5
// against a bid of 99 counts 495 of a 1000 daily cap, not 487.5, so a
// second sell of 5.15 @ 99 (509.85) no longer fits.
func TestRedteamSellBelowBidReservesAtBid(t *testing.T) {
	const pol = `
version: 1
kill_switch: {max_denials: 0}
credentials:
  main:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 10
    price_band: "2%"
    reference_max_age: 5s
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "1000"}
    symbols:
      BTCUSDT: {}
`
	for _, list := range []bool{false, true} {
		f := newFixture(t, pol, nil)
		first := trade("main", limit("BTCUSDT", exchange.Sell, "97.5", "5"))
		if list {
			first = trade("main", limit("BTCUSDT", exchange.Sell, "97.5", "4"), limit("BTCUSDT", exchange.Sell, "97.5", "1"))
		}
		f.mustAllow(first)
		if _, rule := f.check(trade("main", limit("BTCUSDT", exchange.Sell, "99", "5.15"))); rule != RuleDailyNotional {
			t.Fatalf("list %v: rule %q, want %q", list, rule, RuleDailyNotional)
		}
		f.mustAllow(trade("main", limit("BTCUSDT", exchange.Sell, "99", "5.05")))
	}
}

// numGreater agrees with decimal comparison, across exponents and
// coefficient sizes.
func TestRedteamNumGreater(t *testing.T) {
	vals := []string{"1", "10", "0.1", "99", "99.0000000000000000001", "98.99999999999999999999", "100000000000000000000000000000000000000000",
		"0.000000000000000000000000000000000000001", "123456789012345678", "1234567890123456789", "12345678901234567.8", "5e-30", "5e30"}
	for _, a := range vals {
		for _, b := range vals {
			x, y := numOf(dec(a)), numOf(dec(b))
			if got, want := numGreater(x, y), dec(a).GreaterThan(dec(b)); got != want {
				t.Errorf("numGreater(%s, %s) = %v, want %v", a, b, got, want)
			}
		}
	}
}

// A credential's allowlist binds to its venue: an intent for another
// venue on that credential is refused even when the symbol is listed.
func TestRedteamCredentialBoundToItsVenue(t *testing.T) {
	f := newFixture(t, testPolicy, nil)
	in := trade("main", limit("BTCUSDT", exchange.Buy, "100", "1"))
	in.Venue = "kucoin"
	if _, rule := f.check(in); rule != RuleCredential {
		t.Fatalf("rule %q, want %q", rule, RuleCredential)
	}
	in = trade("main", limit("btcusdt", exchange.Buy, "100", "1"))
	if _, rule := f.check(in); rule != RuleSymbol {
		t.Fatalf("lower-case symbol: rule %q, want %q", rule, RuleSymbol)
	}
	in = trade("main", limit("BTCUSDT ", exchange.Buy, "100", "1"))
	if _, rule := f.check(in); rule != RuleSymbol {
		t.Fatalf("symbol with a space: rule %q, want %q", rule, RuleSymbol)
	}
}

// The fast path and the Store decide and count sells below the bid alike,
// with decimals finer than the counters' units too.
func TestRedteamFastPathDecidesSellsAsStore(t *testing.T) {
	fast := newFixture(t, testPolicy, nil)
	slow := newFixture(t, testPolicy, &genericStore{NewMemoryStore()})
	release := func(ctx context.Context, r exchange.Reservation) error { return r.Release(ctx, nil) }
	keep := func(ctx context.Context, r exchange.Reservation) error {
		return r.Commit(ctx, exchange.Outcome{Open: true, OrderIDs: []string{"s"}})
	}
	script := []fastStep{
		{name: "below the bid", in: trade("main", limit("BTCUSDT", exchange.Sell, "98", "2")), settle: keep},
		{name: "below the bid, finer than units", in: trade("main", limit("BTCUSDT", exchange.Sell, "98.9999999999999999999", "1.0000000000000000001")), settle: keep},
		{name: "a hair below the bid", in: trade("main", limit("BTCUSDT", exchange.Sell, "98.99999999999999999", "0.5")), settle: release},
		{name: "over the cap at the bid", in: trade("main", limit("BTCUSDT", exchange.Sell, "97.5", "5.06"))},
		{name: "at the cap at the bid", in: trade("main", limit("ETHUSDT", exchange.Sell, "8.9", "111.1")), settle: release},
		{name: "over the cap at the bid, ETH", in: trade("main", limit("ETHUSDT", exchange.Sell, "8.9", "111.2"))},
		{name: "above the bid", in: trade("main", limit("BTCUSDT", exchange.Sell, "100.5", "1")), settle: release},
	}
	runFastScript(t, fast, slow, script)
	for _, key := range []string{"main\x00symbol\x00BTCUSDT", "main\x00quote\x00USDT"} {
		ca, cb := fast.store.(*MemoryStore).s.counters[key], slow.store.(*genericStore).s.counters[key]
		if ca == nil || cb == nil {
			t.Fatalf("counter %q missing", key)
		}
		if a, b := ca.sum, cb.sum; a != b {
			t.Errorf("counter %q: fast path %v, Store %v", key, a.decimal(), b.decimal())
		}
	}
}

// The kill switch halts everything but public requests, reads and
// cancels: a credential whose policy allows withdrawals or transfers
// cannot move funds once trading is halted (a foreign order was found, the
// bot misbehaved). Before, only trade intents read the switch.
func TestRedteamKillSwitchHaltsWithdrawalsAndTransfers(t *testing.T) {
	const pol = `
version: 1
kill_switch: {max_denials: 0}
credentials:
  ops:
    venue: binance
    allow: [read, cancel, trade, transfer, withdraw, keys]
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "100", max_daily_notional: "100"}
    symbols:
      BTCUSDT: {}
`
	f := newFixture(t, pol, nil)
	intent := func(cl exchange.Class) *exchange.Intent {
		return &exchange.Intent{Credential: "ops", Venue: "binance", Route: exchange.Route{Name: "X /x", Class: cl}}
	}
	for _, cl := range []exchange.Class{exchange.ClassWithdraw, exchange.ClassTransfer, exchange.ClassKeys} {
		if _, rule := f.check(intent(cl)); rule != "" {
			t.Fatalf("%s before the trip: rule %q", cl, rule)
		}
	}
	if err := f.guard.Trip(context.Background(), "foreign order"); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []exchange.Class{exchange.ClassWithdraw, exchange.ClassTransfer, exchange.ClassKeys, exchange.ClassTrade} {
		in := intent(cl)
		if cl == exchange.ClassTrade {
			in = trade("ops", limit("BTCUSDT", exchange.Buy, "100", "0.1"))
		}
		if _, rule := f.check(in); rule != RuleKillSwitch {
			t.Errorf("%s while halted: rule %q, want %q", cl, rule, RuleKillSwitch)
		}
	}
	for _, cl := range []exchange.Class{exchange.ClassRead, exchange.ClassCancel} {
		if _, rule := f.check(intent(cl)); rule != "" {
			t.Errorf("%s while halted: rule %q, want allowed", cl, rule)
		}
	}
}
