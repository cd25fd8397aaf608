package limits

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// stopPolicy allows every order type. BTCUSDT accepts market orders by
// base quantity, ETHUSDT does not.
const stopPolicy = `
version: 1
kill_switch:
  max_denials: 0
credentials:
  main:
    venue: binance
    order_types: [LIMIT, LIMIT_MAKER, MARKET, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT]
    max_open_orders: 10
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTCUSDT: {max_order_notional: "500", allow_market_by_base: true}
      ETHUSDT: {}
`

// stop returns a stop order: a limit price for the _LIMIT types, a stop
// price and a trailing delta when given.
func stop(sym string, side exchange.Side, typ exchange.OrderType, price, stopPrice, trail, qty string) exchange.Order {
	o := exchange.Order{Symbol: sym, Side: side, Type: typ, Quantity: dec(qty)}
	if price != "" {
		o.Price = dec(price)
	}
	if stopPrice != "" {
		o.StopPrice = dec(stopPrice)
	}
	if trail != "" {
		o.TrailingDelta = dec(trail)
	}
	return o
}

// TestGuardTriggerPrices: every trigger price, of every leg, is checked
// against the band as a limit price is (BTCUSDT: ask 100, bid 99, band
// 2%, so a buy triggers at most at 102 and a sell at least at 97.02).
func TestGuardTriggerPrices(t *testing.T) {
	const B, S = exchange.Buy, exchange.Sell
	const (
		SL, SLL = exchange.StopLoss, exchange.StopLimit
		TP, TPL = exchange.TakeProfit, exchange.TakeLimit
	)
	tests := []struct {
		name string
		in   *exchange.Intent
		want Rule
	}{
		// The defect: a buy stop at 10x the reference, whatever the type.
		{"buy STOP_LOSS at 10x", trade("main", stop("BTCUSDT", B, SL, "", "1000", "", "0.1")), RulePriceBand},
		{"buy STOP_LOSS_LIMIT at 10x, limit in band", trade("main", stop("BTCUSDT", B, SLL, "101", "1000", "", "1")), RulePriceBand},
		{"buy TAKE_PROFIT at 10x", trade("main", stop("BTCUSDT", B, TP, "", "1000", "", "0.1")), RulePriceBand},
		{"buy TAKE_PROFIT_LIMIT at 10x, limit in band", trade("main", stop("BTCUSDT", B, TPL, "101", "1000", "", "1")), RulePriceBand},
		{"sell STOP_LOSS_LIMIT at a tenth", trade("main", stop("BTCUSDT", S, SLL, "98", "9.9", "", "1")), RulePriceBand},
		{"sell TAKE_PROFIT at a tenth", trade("main", stop("BTCUSDT", S, TP, "", "9.9", "", "1")), RulePriceBand},
		{"buy stop-limit at 10x with the limit at 10x", trade("main", stop("BTCUSDT", B, SLL, "1000", "1000", "", "0.1")), RulePriceBand},

		// The edges: exactly at the band passes.
		{"buy stop exactly at the band", trade("main", stop("BTCUSDT", B, SLL, "102", "102", "", "1")), ""},
		{"buy stop just above the band", trade("main", stop("BTCUSDT", B, SLL, "102", "102.00000001", "", "1")), RulePriceBand},
		{"sell stop exactly at the band", trade("main", stop("BTCUSDT", S, SLL, "97.02", "97.02", "", "1")), ""},
		{"sell stop just below the band", trade("main", stop("BTCUSDT", S, SLL, "97.02", "97.01999999", "", "1")), RulePriceBand},
		{"buy take-profit far below the market", trade("main", stop("BTCUSDT", B, TPL, "50", "50", "", "1")), ""},
		{"sell take-profit far above the market", trade("main", stop("BTCUSDT", S, TPL, "200", "200", "", "1")), ""},

		// Trailing stops: a buy triggers at most delta above where it
		// starts trailing (the stop price, else the market), a sell at
		// least delta below.
		{"buy trailing, no stop, delta inside the band", trade("main", stop("BTCUSDT", B, SLL, "102", "", "200", "1")), ""},
		{"buy trailing, no stop, delta wider than the band", trade("main", stop("BTCUSDT", B, SLL, "102", "", "201", "1")), RulePriceBand},
		{"sell trailing, no stop, delta inside the band", trade("main", stop("BTCUSDT", S, SLL, "97.02", "", "200", "1")), ""},
		{"sell trailing, no stop, delta wider than the band", trade("main", stop("BTCUSDT", S, SLL, "97.02", "", "201", "1")), RulePriceBand},
		{"buy trailing from a stop, inside", trade("main", stop("BTCUSDT", B, SLL, "102", "101", "99", "1")), ""},
		{"buy trailing from a stop, pushed past the band", trade("main", stop("BTCUSDT", B, SLL, "102", "101", "100", "1")), RulePriceBand},
		{"buy trailing from a take-profit far below", trade("main", stop("BTCUSDT", B, TPL, "60", "50", "500", "1")), ""},
		{"sell trailing from a stop, pushed past the band", trade("main", stop("BTCUSDT", S, SLL, "97.02", "98", "101", "1")), RulePriceBand},
		{"trailing delta of 100%", trade("main", stop("BTCUSDT", B, TPL, "60", "50", "10000", "1")), RuleIntent},

		// Triggers that do not fit the type are malformed.
		{"stop-limit without a trigger", trade("main", stop("BTCUSDT", B, SLL, "100", "", "", "1")), RuleIntent},
		{"stop-market without a trigger", trade("main", stop("BTCUSDT", B, SL, "", "", "", "1")), RuleIntent},
		{"negative stop price", trade("main", stop("BTCUSDT", S, SLL, "98", "-1", "", "1")), RuleIntent},
		{"negative trailing delta", trade("main", stop("BTCUSDT", S, SLL, "98", "", "-5", "1")), RuleIntent},
		{"limit order with a stop price", trade("main", stop("BTCUSDT", B, exchange.Limit, "100", "1000", "", "1")), RuleIntent},
		{"market order with a trailing delta", trade("main", stop("BTCUSDT", B, exchange.Market, "", "", "100", "1")), RuleIntent},

		// Order lists: every leg's trigger and limit price is checked.
		{"OCO, stop leg out of band", trade("main", limit("BTCUSDT", S, "110", "1"), stop("BTCUSDT", S, SLL, "97.5", "10", "", "1")), RulePriceBand},
		{"OCO, both legs in band", trade("main", limit("BTCUSDT", S, "110", "1"), stop("BTCUSDT", S, SLL, "97.5", "98", "", "1")), ""},
		{"OTOCO, pending stop leg out of band", trade("main", limit("BTCUSDT", B, "99", "1"), limit("BTCUSDT", S, "110", "1"),
			stop("BTCUSDT", B, TPL, "101", "5000", "", "1")), RulePriceBand},
		{"OTO, pending limit out of band", trade("main", limit("BTCUSDT", B, "99", "1"), stop("BTCUSDT", B, TPL, "500", "99", "", "0.5")), RulePriceBand},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, stopPolicy, nil)
			_, got := f.check(tc.in)
			if got != tc.want {
				t.Fatalf("rule = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestGuardStopMarketValuation: a stop-market order fills at market once
// triggered, so it is valued at the furthest of its trigger and the
// reference, widened by the band; a stop-limit at its limit price.
func TestGuardStopMarketValuation(t *testing.T) {
	const B = exchange.Buy
	tests := []struct {
		name string
		o    exchange.Order
		want Rule
	}{
		// stop 102 -> 102*1.02 = 104.04; BTCUSDT cap 500.
		{"stop-market at its trigger widened, under the cap", stop("BTCUSDT", B, exchange.StopLoss, "", "102", "", "4.8"), ""},
		{"stop-market at its trigger widened, over the cap", stop("BTCUSDT", B, exchange.StopLoss, "", "102", "", "4.81"), RuleOrderNotional},
		// A market order of the same quantity is valued at 102: 490.62.
		{"market of the same quantity", market("BTCUSDT", B, "4.81", ""), ""},
		// A take-profit below the market is valued at the reference widened.
		{"take-profit below the market at the reference", stop("BTCUSDT", B, exchange.TakeProfit, "", "50", "", "4.9"), ""},
		{"take-profit below the market, over the cap", stop("BTCUSDT", B, exchange.TakeProfit, "", "50", "", "4.91"), RuleOrderNotional},
		// A trailing buy from the market, 2%: triggers at most at 102.
		{"trailing stop-market at its furthest trigger", stop("BTCUSDT", B, exchange.StopLoss, "", "", "200", "4.81"), RuleOrderNotional},
		// A stop-limit fills at its limit or better: 101*4.95 = 499.95.
		{"stop-limit at its limit price", stop("BTCUSDT", B, exchange.StopLimit, "101", "102", "", "4.95"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, stopPolicy, nil)
			_, got := f.check(trade("main", tc.o))
			if got != tc.want {
				t.Fatalf("rule = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestGuardMarketByBase: a market order by base quantity, buy or sell,
// plain or stop-market, is refused unless the symbol's policy accepts it;
// by quote quantity it passes.
func TestGuardMarketByBase(t *testing.T) {
	const B, S = exchange.Buy, exchange.Sell
	tests := []struct {
		name string
		o    exchange.Order
		want Rule
	}{
		{"market buy by base", market("ETHUSDT", B, "1", ""), RuleMarketByBase},
		{"market sell by base", market("ETHUSDT", S, "1", ""), RuleMarketByBase},
		{"market buy by quote", market("ETHUSDT", B, "", "10"), ""},
		{"market sell by quote", market("ETHUSDT", S, "", "10"), ""},
		{"stop-loss market by base", stop("ETHUSDT", S, exchange.StopLoss, "", "9.8", "", "1"), RuleMarketByBase},
		{"take-profit market by base", stop("ETHUSDT", B, exchange.TakeProfit, "", "9", "", "1"), RuleMarketByBase},
		{"stop-limit by base", stop("ETHUSDT", S, exchange.StopLimit, "9.8", "9.8", "", "1"), ""},
		{"limit IOC inside the band", exchange.Order{Symbol: "ETHUSDT", Side: B, Type: exchange.Limit, TimeInForce: exchange.IOC, Price: dec("10.2"), Quantity: dec("1")}, ""},
		{"market buy by base, accepted by the policy", market("BTCUSDT", B, "1", ""), ""},
		{"market sell by base, accepted by the policy", market("BTCUSDT", S, "1", ""), ""},
		{"stop-loss by base, accepted by the policy", stop("BTCUSDT", S, exchange.StopLoss, "", "98", "", "1"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, stopPolicy, nil)
			_, got := f.check(trade("main", tc.o))
			if got != tc.want {
				t.Fatalf("rule = %q, want %q", got, tc.want)
			}
		})
	}
	// A leg of a list is refused as a single order is.
	f := newFixture(t, stopPolicy, nil)
	if _, got := f.check(trade("main", limit("ETHUSDT", B, "10", "1"), market("ETHUSDT", S, "1", ""))); got != RuleMarketByBase {
		t.Fatalf("OTO with a market pending leg by base: rule = %q", got)
	}
	// The refusal says what to do.
	_, err := f.guard.Check(context.Background(), trade("main", market("ETHUSDT", B, "44", "")))
	var v *Violation
	if !errors.As(err, &v) || !errors.Is(err, ErrDenied) || !strings.Contains(v.Fix, "LIMIT IOC") ||
		!strings.Contains(v.Fix, "credentials.main.symbols.ETHUSDT.allow_market_by_base") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("refusal %v", err)
	}
}

// TestFastPathDecidesStopsAsStore: the fast path and the Store path decide
// stop and market orders alike.
func TestFastPathDecidesStopsAsStore(t *testing.T) {
	fast := newFixture(t, stopPolicy, nil)
	slow := newFixture(t, stopPolicy, &genericStore{NewMemoryStore()})
	release := func(ctx context.Context, r exchange.Reservation) error { return r.Release(ctx, nil) }
	in := func(o exchange.Order) *exchange.Intent { return trade("main", o) }
	const B, S = exchange.Buy, exchange.Sell
	script := []fastStep{
		{name: "buy stop at 10x", in: in(stop("BTCUSDT", B, exchange.StopLimit, "101", "1000", "", "1")), want: "denied: limits: denied by price_band"},
		{name: "sell stop in band", in: in(stop("BTCUSDT", S, exchange.StopLimit, "98", "98", "", "1")), settle: release, want: "allowed"},
		{name: "trailing too wide", in: in(stop("BTCUSDT", B, exchange.StopLimit, "101", "", "250", "1")), want: "denied: limits: denied by price_band"},
		{name: "stop-market over the cap", in: in(stop("BTCUSDT", B, exchange.StopLoss, "", "102", "", "4.81")), want: "denied: limits: denied by order_notional"},
		{name: "stop-market under the cap", in: in(stop("BTCUSDT", B, exchange.StopLoss, "", "102", "", "4.8")), settle: release, want: "allowed"},
		{name: "market by base refused", in: in(market("ETHUSDT", B, "1", "")), want: "denied: limits: denied by market_by_base"},
		{name: "market by quote", in: in(market("ETHUSDT", B, "", "10")), settle: release, want: "allowed"},
		{name: "stop without trigger", in: in(stop("BTCUSDT", B, exchange.StopLimit, "101", "", "", "1")), want: "denied: limits: denied by intent"},
	}
	runFastScript(t, fast, slow, script)
}

// TestPolicyAllowMarketByBase: the field parses, prints, round-trips, and
// is refused where it allows nothing.
func TestPolicyAllowMarketByBase(t *testing.T) {
	p, err := ParsePolicy([]byte(stopPolicy))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Credentials["main"]
	if !c.Symbols["BTCUSDT"].AllowMarketByBase || c.Symbols["ETHUSDT"].AllowMarketByBase {
		t.Fatalf("symbols %+v", c.Symbols)
	}
	var b bytes.Buffer
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `BTCUSDT: {quote: USDT, max_order_notional: "500", allow_market_by_base: true}`) ||
		strings.Count(b.String(), "allow_market_by_base") != 1 {
		t.Fatalf("text:\n%s", b.String())
	}
	p2, err := ParsePolicy(b.Bytes())
	if err != nil || p2.Hash() != p.Hash() {
		t.Fatalf("round trip: %v", err)
	}
	p3, err := ParsePolicy([]byte(strings.Replace(stopPolicy, ", allow_market_by_base: true", "", 1)))
	if err != nil || p3.Hash() == p.Hash() {
		t.Fatalf("accepting market orders by base must change the hash: %v", err)
	}

	const head = "version: 1\ncredentials:\n  c:\n    venue: binance\n    max_open_orders: 1\n    price_band: 1%\n"
	for _, tc := range []struct{ name, yaml, field, msg string }{
		{"no market type", head + "    order_types: [LIMIT, STOP_LOSS_LIMIT]\n    symbols:\n      X: {max_order_notional: 1, max_daily_notional: 1, allow_market_by_base: true}\n",
			"credentials.c.symbols.X.allow_market_by_base", "allows nothing"},
		{"not a bool", head + "    order_types: [MARKET]\n    symbols:\n      X: {max_order_notional: 1, max_daily_notional: 1, allow_market_by_base: yes}\n",
			"credentials.c.symbols.X.allow_market_by_base", "true or false"},
	} {
		_, err := ParsePolicy([]byte(tc.yaml))
		var pe *PolicyError
		if !errors.As(err, &pe) || pe.Field != tc.field || !strings.Contains(pe.Msg, tc.msg) || pe.Line != 9 {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	for _, types := range []string{"[MARKET]", "[STOP_LOSS]", "[TAKE_PROFIT, LIMIT]"} {
		y := head + "    order_types: " + types + "\n    symbols:\n      X: {max_order_notional: 1, max_daily_notional: 1, allow_market_by_base: true}\n"
		if _, err := ParsePolicy([]byte(y)); err != nil {
			t.Errorf("order_types %s: %v", types, err)
		}
	}
}
