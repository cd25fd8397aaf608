package binance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
	"github.com/shopspring/decimal"
)

// pricesPolicy allows every order type with a 5% band. ETHUSDT accepts
// market orders by base quantity, BTCUSDT does not.
const pricesPolicy = `
version: 1
kill_switch: {max_denials: 0}
credentials:
  bot:
    venue: binance
    order_types: [LIMIT, LIMIT_MAKER, MARKET, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT]
    max_open_orders: 10
    price_band: "5%"
    quotes:
      USDT: {max_order_notional: "100000", max_daily_notional: "1000000"}
    symbols:
      BTCUSDT: {}
      ETHUSDT: {allow_market_by_base: true}
`

// fixedPrices serves BTCUSDT at 49990/50000 and ETHUSDT at 2999/3000,
// quoted now.
func fixedPrices() exchange.PriceSource {
	return exchange.NewQuoteCache(exchange.QuoteCacheConfig{Fetch: func(_ context.Context, sym string) (exchange.Quote, error) {
		q := exchange.Quote{Symbol: sym, At: time.Now()}
		switch sym {
		case "BTCUSDT":
			q.Bid, q.Ask = decimal.RequireFromString("49990"), decimal.RequireFromString("50000")
		case "ETHUSDT":
			q.Bid, q.Ask = decimal.RequireFromString("2999"), decimal.RequireFromString("3000")
		default:
			return q, errors.New("no ticker")
		}
		return q, nil
	}})
}

// guardRule parses the request with the scheme, checks its intent with a
// fresh guard over pricesPolicy, and returns the rule that refused it, ""
// when allowed. A parser refusal fails the test: the intent must reach the
// guard.
func guardRule(t *testing.T, route string, p exchange.Params) limits.Rule {
	t.Helper()
	pol, err := limits.ParsePolicy([]byte(pricesPolicy))
	if err != nil {
		t.Fatal(err)
	}
	g, err := limits.NewGuard(pol, limits.NewMemoryStore(), limits.WithPrices(Venue, fixedPrices()))
	if err != nil {
		t.Fatal(err)
	}
	method, path, _ := strings.Cut(route, " ")
	in, err := intentOf(t, mustScheme(t, 0), method, path, p)
	if err != nil {
		t.Fatalf("%s: %v", route, err)
	}
	in.Credential, in.Venue = "bot", Venue
	_, err = g.Check(context.Background(), &in)
	if err == nil {
		return ""
	}
	var v *limits.Violation
	if !errors.As(err, &v) {
		t.Fatalf("%s: %v is not a *limits.Violation", route, err)
	}
	return v.Rule
}

// TestGuardChecksEveryPrice runs requests of every order-creating route
// through the parser and the guard: every limit and trigger price of every
// leg out of the band is refused, and market orders by base quantity are
// refused unless the symbol accepts them. BTCUSDT: ask 50000, bid 49990;
// band 5%, so a buy executes at most at 52500 and a sell at least at
// 47490.5.
func TestGuardChecksEveryPrice(t *testing.T) {
	const (
		order   = "POST /api/v3/order"
		test    = "POST /api/v3/order/test"
		replace = "POST /api/v3/order/cancelReplace"
		oco     = "POST /api/v3/orderList/oco"
		oto     = "POST /api/v3/orderList/oto"
		otoco   = "POST /api/v3/orderList/otoco"
		opo     = "POST /api/v3/orderList/opo"
		opoco   = "POST /api/v3/orderList/opoco"
		legacy  = "POST /api/v3/order/oco"
		sor     = "POST /api/v3/sor/order"
		band    = limits.RulePriceBand
		byBase  = limits.RuleMarketByBase
	)
	btc := func(kv ...string) exchange.Params { return params(append([]string{"symbol", "BTCUSDT"}, kv...)...) }
	eth := func(kv ...string) exchange.Params { return params(append([]string{"symbol", "ETHUSDT"}, kv...)...) }
	replaceOf := func(p exchange.Params) exchange.Params {
		return append(p, exchange.Param{Key: "cancelReplaceMode", Value: "STOP_ON_FAILURE"}, exchange.Param{Key: "cancelOrderId", Value: "7"})
	}
	// A working BUY LIMIT in band, for the lists.
	working := []string{"workingType", "LIMIT", "workingSide", "BUY", "workingPrice", "49000", "workingQuantity", "0.01", "workingTimeInForce", "GTC"}
	w := func(kv ...string) exchange.Params { return btc(append(append([]string(nil), working...), kv...)...) }
	sellOCO := func(abovePrice, belowStop, belowPrice string) []string {
		return []string{"pendingSide", "SELL", "pendingAboveType", "LIMIT_MAKER", "pendingAbovePrice", abovePrice,
			"pendingBelowType", "STOP_LOSS_LIMIT", "pendingBelowStopPrice", belowStop, "pendingBelowPrice", belowPrice, "pendingBelowTimeInForce", "GTC"}
	}
	withQty := func(kv []string) []string { return append(kv, "pendingQuantity", "0.01") }
	tests := []struct {
		name  string
		route string
		p     exchange.Params
		want  limits.Rule
	}{
		// Plain orders: a buy stop at 10x the reference, every stop type.
		{"BUY STOP_LOSS at 10x", order, eth("side", "BUY", "type", "STOP_LOSS", "quantity", "1", "stopPrice", "30000"), band},
		{"BUY STOP_LOSS_LIMIT at 10x, limit in band", order, btc("side", "BUY", "type", "STOP_LOSS_LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "50000", "stopPrice", "500000"), band},
		{"BUY TAKE_PROFIT at 10x", order, eth("side", "BUY", "type", "TAKE_PROFIT", "quantity", "1", "stopPrice", "30000"), band},
		{"BUY TAKE_PROFIT_LIMIT at 10x, limit in band", order, btc("side", "BUY", "type", "TAKE_PROFIT_LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "50000", "stopPrice", "500000"), band},
		{"SELL STOP_LOSS_LIMIT at a tenth", order, btc("side", "SELL", "type", "STOP_LOSS_LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "49000", "stopPrice", "5000"), band},
		{"BUY STOP_LOSS_LIMIT in band", order, btc("side", "BUY", "type", "STOP_LOSS_LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "52000", "stopPrice", "51000"), ""},
		{"SELL TAKE_PROFIT_LIMIT above the market", order, btc("side", "SELL", "type", "TAKE_PROFIT_LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "60000", "stopPrice", "60000"), ""},
		{"trailing BUY, no stop, delta inside the band", order, btc("side", "BUY", "type", "STOP_LOSS_LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "52000", "trailingDelta", "500"), ""},
		{"trailing BUY, no stop, delta wider than the band", order, btc("side", "BUY", "type", "STOP_LOSS_LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "52000", "trailingDelta", "1000"), band},
		{"trailing SELL from a stop, pushed below the band", order, btc("side", "SELL", "type", "STOP_LOSS_LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "48000", "stopPrice", "49000", "trailingDelta", "400"), band},
		{"test order with a stop at 10x", test, btc("side", "BUY", "type", "STOP_LOSS_LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "50000", "stopPrice", "500000"), band},

		// cancelReplace: the new order's prices.
		{"cancelReplace, new stop at 10x", replace, replaceOf(btc("side", "BUY", "type", "STOP_LOSS_LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "50000", "stopPrice", "500000")), band},
		{"cancelReplace, new stop-market at 10x", replace, replaceOf(eth("side", "BUY", "type", "TAKE_PROFIT", "quantity", "1", "stopPrice", "30000")), band},
		{"cancelReplace, new limit at 10x", replace, replaceOf(btc("side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "500000")), band},
		{"cancelReplace, new market by base", replace, replaceOf(btc("side", "BUY", "type", "MARKET", "quantity", "0.01")), byBase},
		{"cancelReplace in band", replace, replaceOf(btc("side", "BUY", "type", "STOP_LOSS_LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "52000", "stopPrice", "51000")), ""},

		// OCO: each leg's prices.
		{"OCO BUY, above stop at 10x", oco, btc("side", "BUY", "quantity", "0.01", "aboveType", "STOP_LOSS_LIMIT", "aboveStopPrice", "500000", "abovePrice", "51000", "aboveTimeInForce", "GTC",
			"belowType", "TAKE_PROFIT_LIMIT", "belowStopPrice", "45000", "belowPrice", "45000", "belowTimeInForce", "GTC"), band},
		{"OCO BUY, above limit at 10x", oco, btc("side", "BUY", "quantity", "0.01", "aboveType", "STOP_LOSS_LIMIT", "aboveStopPrice", "51000", "abovePrice", "500000", "aboveTimeInForce", "GTC",
			"belowType", "TAKE_PROFIT_LIMIT", "belowStopPrice", "45000", "belowPrice", "45000", "belowTimeInForce", "GTC"), band},
		{"OCO BUY, above trailing wider than the band", oco, btc("side", "BUY", "quantity", "0.01", "aboveType", "STOP_LOSS_LIMIT", "aboveTrailingDelta", "800", "abovePrice", "51000", "aboveTimeInForce", "GTC",
			"belowType", "TAKE_PROFIT_LIMIT", "belowStopPrice", "45000", "belowPrice", "45000", "belowTimeInForce", "GTC"), band},
		{"OCO BUY, below take-profit limit at 10x", oco, btc("side", "BUY", "quantity", "0.01", "aboveType", "STOP_LOSS_LIMIT", "aboveStopPrice", "51000", "abovePrice", "51000", "aboveTimeInForce", "GTC",
			"belowType", "TAKE_PROFIT_LIMIT", "belowStopPrice", "45000", "belowPrice", "500000", "belowTimeInForce", "GTC"), band},
		{"OCO BUY in band", oco, btc("side", "BUY", "quantity", "0.01", "aboveType", "STOP_LOSS_LIMIT", "aboveStopPrice", "51000", "abovePrice", "51000", "aboveTimeInForce", "GTC",
			"belowType", "TAKE_PROFIT_LIMIT", "belowStopPrice", "45000", "belowPrice", "45000", "belowTimeInForce", "GTC"), ""},
		{"OCO SELL, below stop at a tenth", oco, btc("side", "SELL", "quantity", "0.01", "aboveType", "LIMIT_MAKER", "abovePrice", "55000",
			"belowType", "STOP_LOSS_LIMIT", "belowStopPrice", "5000", "belowPrice", "48000", "belowTimeInForce", "GTC"), band},
		{"OCO SELL, below limit at a tenth", oco, btc("side", "SELL", "quantity", "0.01", "aboveType", "LIMIT_MAKER", "abovePrice", "55000",
			"belowType", "STOP_LOSS_LIMIT", "belowStopPrice", "48000", "belowPrice", "5000", "belowTimeInForce", "GTC"), band},
		{"OCO SELL, above take-profit stop at a tenth", oco, btc("side", "SELL", "quantity", "0.01", "aboveType", "TAKE_PROFIT_LIMIT", "aboveStopPrice", "5000", "abovePrice", "55000", "aboveTimeInForce", "GTC",
			"belowType", "STOP_LOSS_LIMIT", "belowStopPrice", "48000", "belowPrice", "48000", "belowTimeInForce", "GTC"), band},
		{"OCO SELL, stop-market leg by base", oco, btc("side", "SELL", "quantity", "0.01", "aboveType", "LIMIT_MAKER", "abovePrice", "55000",
			"belowType", "STOP_LOSS", "belowStopPrice", "48000"), byBase},
		{"OCO SELL in band", oco, btc("side", "SELL", "quantity", "0.01", "aboveType", "LIMIT_MAKER", "abovePrice", "55000",
			"belowType", "STOP_LOSS_LIMIT", "belowStopPrice", "48000", "belowPrice", "48000", "belowTimeInForce", "GTC"), ""},

		// OTO: the working and the pending leg.
		{"OTO, working price at 10x", oto, btc("workingType", "LIMIT", "workingSide", "BUY", "workingPrice", "500000", "workingQuantity", "0.01", "workingTimeInForce", "GTC",
			"pendingType", "LIMIT_MAKER", "pendingSide", "SELL", "pendingPrice", "55000", "pendingQuantity", "0.01"), band},
		{"OTO, pending stop at 10x", oto, w("pendingType", "STOP_LOSS_LIMIT", "pendingSide", "BUY", "pendingStopPrice", "500000", "pendingPrice", "51000", "pendingTimeInForce", "GTC", "pendingQuantity", "0.01"), band},
		{"OTO, pending limit below the band", oto, w("pendingType", "LIMIT", "pendingSide", "SELL", "pendingPrice", "4000", "pendingTimeInForce", "GTC", "pendingQuantity", "0.01"), band},
		{"OTO, pending trailing wider than the band", oto, w("pendingType", "STOP_LOSS_LIMIT", "pendingSide", "SELL", "pendingTrailingDelta", "600", "pendingPrice", "48000", "pendingTimeInForce", "GTC", "pendingQuantity", "0.01"), band},
		{"OTO, pending market by base", oto, w("pendingType", "MARKET", "pendingSide", "SELL", "pendingQuantity", "0.01"), byBase},
		{"OTO in band", oto, w("pendingType", "STOP_LOSS_LIMIT", "pendingSide", "SELL", "pendingStopPrice", "48000", "pendingPrice", "48000", "pendingTimeInForce", "GTC", "pendingQuantity", "0.01"), ""},

		// OTOCO: working, pending above, pending below.
		{"OTOCO, working price at 10x", otoco, btc(append([]string{"workingType", "LIMIT_MAKER", "workingSide", "BUY", "workingPrice", "500000", "workingQuantity", "0.01"},
			withQty(sellOCO("55000", "48000", "48000"))...)...), band},
		{"OTOCO, pending above limit at a tenth", otoco, w(withQty(sellOCO("5000", "48000", "48000"))...), band},
		{"OTOCO, pending below stop at a tenth", otoco, w(withQty(sellOCO("55000", "5000", "48000"))...), band},
		{"OTOCO, pending below limit at a tenth", otoco, w(withQty(sellOCO("55000", "48000", "5000"))...), band},
		{"OTOCO in band", otoco, w(withQty(sellOCO("55000", "48000", "48000"))...), ""},

		// OPO and OPOCO: the pending legs take the working quantity.
		{"OPO, pending stop at a tenth", opo, w("pendingType", "STOP_LOSS_LIMIT", "pendingSide", "SELL", "pendingStopPrice", "5000", "pendingPrice", "48000", "pendingTimeInForce", "GTC"), band},
		{"OPO in band", opo, w("pendingType", "STOP_LOSS_LIMIT", "pendingSide", "SELL", "pendingStopPrice", "48000", "pendingPrice", "48000", "pendingTimeInForce", "GTC"), ""},
		{"OPOCO, pending below stop at a tenth", opoco, w(sellOCO("55000", "5000", "48000")...), band},
		{"OPOCO, pending below limit at a tenth", opoco, w(sellOCO("55000", "48000", "5000")...), band},
		{"OPOCO in band", opoco, w(sellOCO("55000", "48000", "48000")...), ""},

		// The legacy OCO: price, stopPrice, stopLimitPrice.
		{"legacy OCO SELL, stop at a tenth", legacy, btc("side", "SELL", "quantity", "0.01", "price", "55000", "stopPrice", "5000", "stopLimitPrice", "48000", "stopLimitTimeInForce", "GTC"), band},
		{"legacy OCO SELL, stop limit at a tenth", legacy, btc("side", "SELL", "quantity", "0.01", "price", "55000", "stopPrice", "48000", "stopLimitPrice", "5000", "stopLimitTimeInForce", "GTC"), band},
		{"legacy OCO BUY, stop at 10x", legacy, btc("side", "BUY", "quantity", "0.01", "price", "45000", "stopPrice", "500000", "stopLimitPrice", "51000", "stopLimitTimeInForce", "GTC"), band},
		{"legacy OCO BUY, limit at 10x", legacy, btc("side", "BUY", "quantity", "0.01", "price", "500000", "stopPrice", "51000", "stopLimitPrice", "51000", "stopLimitTimeInForce", "GTC"), band},
		{"legacy OCO SELL, trailing wider than the band", legacy, btc("side", "SELL", "quantity", "0.01", "price", "55000", "trailingDelta", "700", "stopLimitPrice", "48000", "stopLimitTimeInForce", "GTC"), band},
		{"legacy OCO SELL, stop-market leg by base", legacy, btc("side", "SELL", "quantity", "0.01", "price", "55000", "stopPrice", "48000"), byBase},
		{"legacy OCO SELL in band", legacy, btc("side", "SELL", "quantity", "0.01", "price", "55000", "stopPrice", "48000", "stopLimitPrice", "48000", "stopLimitTimeInForce", "GTC"), ""},

		// Market orders: by base refused unless accepted, by quote allowed.
		{"market BUY by base", order, btc("side", "BUY", "type", "MARKET", "quantity", "0.01"), byBase},
		{"market SELL by base", order, btc("side", "SELL", "type", "MARKET", "quantity", "0.01"), byBase},
		{"market BUY by quote", order, btc("side", "BUY", "type", "MARKET", "quoteOrderQty", "500"), ""},
		{"market SELL by quote", order, btc("side", "SELL", "type", "MARKET", "quoteOrderQty", "500"), ""},
		{"stop-market SELL by base", order, btc("side", "SELL", "type", "STOP_LOSS", "quantity", "0.01", "stopPrice", "48000"), byBase},
		{"take-profit market BUY by base", order, btc("side", "BUY", "type", "TAKE_PROFIT", "quantity", "0.01", "stopPrice", "48000"), byBase},
		{"test market BUY by base", test, btc("side", "BUY", "type", "MARKET", "quantity", "0.01"), byBase},
		{"SOR market BUY by base", sor, btc("side", "BUY", "type", "MARKET", "quantity", "0.01"), byBase},
		{"limit IOC inside the band", order, btc("side", "BUY", "type", "LIMIT", "timeInForce", "IOC", "quantity", "0.01", "price", "52500"), ""},
		{"market BUY by base, accepted by the policy", order, eth("side", "BUY", "type", "MARKET", "quantity", "1"), ""},
		{"market SELL by base, accepted by the policy", order, eth("side", "SELL", "type", "MARKET", "quantity", "1"), ""},
		{"stop-market BUY by base in band, accepted by the policy", order, eth("side", "BUY", "type", "STOP_LOSS", "quantity", "1", "stopPrice", "3100"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := guardRule(t, tc.route, tc.p); got != tc.want {
				t.Fatalf("rule %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSimStopFarFromMarketRefused: through the client against the
// simulated venue, a BUY STOP_LOSS_LIMIT triggering at 10x the market and
// a market buy by base quantity are refused before signing: the venue
// receives neither.
func TestSimStopFarFromMarketRefused(t *testing.T) {
	env := mustSim(t, simOpts{})
	ctx := context.Background()
	before := env.sim.OrdersPlaced()
	for _, p := range []exchange.Params{
		params("symbol", "BTCUSDT", "side", "BUY", "type", "STOP_LOSS_LIMIT", "timeInForce", "GTC", "quantity", "0.001", "price", "50000", "stopPrice", "500000"),
		params("symbol", "BTCUSDT", "side", "BUY", "type", "MARKET", "quantity", "0.001"),
	} {
		_, err := env.c.Do(ctx, &exchange.Request{Method: "POST", Path: "/api/v3/order", Params: p})
		if !errors.Is(err, limits.ErrDenied) {
			t.Fatalf("%v: %v, want a guard denial", p, err)
		}
	}
	if _, err := env.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, Quantity: dec("0.001")}); !errors.Is(err, limits.ErrDenied) {
		t.Fatalf("PlaceOrder market by base: %v", err)
	}
	if n := env.sim.OrdersPlaced(); n != before {
		t.Fatalf("the venue received %d orders", n-before)
	}
	// By quote quantity it goes through.
	if _, err := env.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: dec("100")}); err != nil {
		t.Fatalf("market by quote: %v", err)
	}
}
