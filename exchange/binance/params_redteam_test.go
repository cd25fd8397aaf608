package binance

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

// Parameter smuggling: Binance signs the query string and the body
// together and, when a parameter is in both, uses the query's. Any request
// whose parameters the venue could read otherwise than the parser
// (duplicates across query and body, escaped twins, case variants, the
// pegged-order parameters whose price the venue sets, numbers in another
// spelling) is refused before the guard.
func TestRedteamParamSmugglingRefused(t *testing.T) {
	s := mustScheme(t, 0)
	s.SetSymbols([]exchange.SymbolInfo{{Symbol: "BTCUSDT"}})
	const order = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000"
	cases := []struct {
		name, query, body string
	}{
		{"price in query and body", order, "price=1"},
		{"quantity in query and body", "quantity=9", strings.Replace(order, "&quantity=0.001", "", 1) + "&quantity=0.001"},
		{"escaped twin in the body", order, "%70rice=1"},
		{"escaped twin in the query", order + "&pric%65=1", ""},
		{"twice in the body", "", order + "&price=1"},
		{"case variant", order + "&Price=1", ""},
		{"trailing space in a key", order + "&price+=1", ""},
		{"empty key", order + "&=1", ""},
		{"peg price type", order + "&pegPriceType=PRIMARY_PEG", ""},
		{"peg offset", order + "&pegOffsetValue=10&pegOffsetType=PRICE_LEVEL", ""},
		{"quoteOrderQty with quantity", strings.Replace(order, "LIMIT&timeInForce=GTC", "MARKET", 1) + "&quoteOrderQty=10", ""},
		{"quoteOrderQty on a limit order", strings.Replace(order, "quantity=0.001", "quoteOrderQty=10", 1), ""},
		{"exponent", strings.Replace(order, "50000", "5e4", 1), ""},
		{"negative zero", strings.Replace(order, "0.001", "-0", 1), ""},
		{"sign", strings.Replace(order, "50000", "%2B50000", 1), ""},
		{"leading space", strings.Replace(order, "50000", "+50000", 1), ""},
		{"unicode digits", strings.Replace(order, "50000", "%EF%BC%950000", 1), ""},
		{"NaN", strings.Replace(order, "50000", "NaN", 1), ""},
		{"Infinity", strings.Replace(order, "50000", "Infinity", 1), ""},
		{"hex", strings.Replace(order, "50000", "0x10", 1), ""},
		{"huge precision", strings.Replace(order, "0.001", "0.000000000000000000001", 1), ""},
		{"dot first", strings.Replace(order, "0.001", ".001", 1), ""},
		{"bad escape", order + "&x=%zz", ""},
		{"lower-case side", strings.Replace(order, "BUY", "buy", 1), ""},
		{"lower-case type", strings.Replace(order, "LIMIT", "limit", 1), ""},
		{"lower-case symbol", strings.Replace(order, "BTCUSDT", "btcusdt", 1), ""},
		{"symbol with a space", strings.Replace(order, "BTCUSDT", "BTC+USDT", 1), ""},
		{"symbol with a separator", strings.Replace(order, "BTCUSDT", "BTCUSDT%3Bprice%3D1", 1), ""},
		{"signature given", order + "&signature=00", ""},
		{"stopPrice on a limit order", order + "&stopPrice=1", ""},
		{"trailingDelta on a limit order", order + "&trailingDelta=10", ""},
		{"timeInForce on a market order", strings.Replace(order, "LIMIT", "MARKET", 1), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := exchange.ParseParams(c.query)
			if err != nil {
				// A query that does not decode cannot be built as Params;
				// send it as the body instead.
				q, c.body = nil, c.query
			}
			req := &exchange.Request{Method: "POST", Path: "/api/v3/order", Params: q}
			if c.body != "" {
				req.Body = []byte(c.body)
			}
			route, err := s.Classify(req)
			if err != nil {
				t.Fatal(err)
			}
			var in exchange.Intent
			if err := s.Intent(req, route, &in); !errors.Is(err, exchange.ErrMalformedRequest) {
				t.Fatalf("err = %v (intent %s), want ErrMalformedRequest", err, in.String())
			}
		})
	}
}

// An OCO's legs are each checked and both counted: only one executes, but
// which is the venue's choice, so the guard never counts the cheap leg
// alone. With a daily cap between the two legs' notionals the list is
// refused.
func TestRedteamOCOCountsTheDearLeg(t *testing.T) {
	// SELL OCO of 1 BTCUSDT: above LIMIT_MAKER at 52000, below
	// STOP_LOSS_LIMIT at 48000 (trigger 48500): worth at least 52000.
	p := params("symbol", "BTCUSDT", "side", "SELL", "quantity", "1",
		"aboveType", "LIMIT_MAKER", "abovePrice", "52000",
		"belowType", "STOP_LOSS_LIMIT", "belowPrice", "48000", "belowStopPrice", "48500", "belowTimeInForce", "GTC")
	if r := guardRuleWith(t, ocoPolicy("51000"), "POST /api/v3/orderList/oco", p); r != limits.RuleDailyNotional {
		t.Fatalf("rule %q, want %q", r, limits.RuleDailyNotional)
	}
	// Legacy OCO: LIMIT_MAKER at 52000, stop leg at 48500.
	lp := params("symbol", "BTCUSDT", "side", "SELL", "quantity", "1", "price", "52000", "stopPrice", "48500",
		"stopLimitPrice", "48000", "stopLimitTimeInForce", "GTC")
	if r := guardRuleWith(t, ocoPolicy("51000"), "POST /api/v3/order/oco", lp); r != limits.RuleDailyNotional {
		t.Fatalf("legacy: rule %q, want %q", r, limits.RuleDailyNotional)
	}
	if r := guardRuleWith(t, ocoPolicy("200000"), "POST /api/v3/orderList/oco", p); r != "" {
		t.Fatalf("under the cap: rule %q", r)
	}
}

// At the cap boundary a notional finer than the cap's last digit counts:
// 2.00000000000000000001 BTC at 50000 is 1e-15 over a 100000 cap.
func TestRedteamCapBoundaryRoundsAgainstTheBot(t *testing.T) {
	base := []string{"symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "price", "50000"}
	if r := guardRule(t, "POST /api/v3/order", params(append(base, "quantity", "2.00000000000000000001")...)); r != limits.RuleOrderNotional {
		t.Fatalf("a hair over the cap: rule %q", r)
	}
	if r := guardRule(t, "POST /api/v3/order", params(append(base, "quantity", "2")...)); r != "" {
		t.Fatalf("at the cap: rule %q", r)
	}
}

func ocoPolicy(daily string) string {
	return `
version: 1
kill_switch: {max_denials: 0}
credentials:
  bot:
    venue: binance
    order_types: [LIMIT, LIMIT_MAKER, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT]
    max_open_orders: 10
    price_band: "5%"
    quotes:
      USDT: {max_order_notional: "100000", max_daily_notional: "` + daily + `"}
    symbols:
      BTCUSDT: {}
`
}

// guardRuleWith is guardRule over another policy.
func guardRuleWith(t *testing.T, policy, route string, p exchange.Params) limits.Rule {
	t.Helper()
	pol, err := limits.ParsePolicy([]byte(policy))
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
	if _, err = g.Check(context.Background(), &in); err == nil {
		return ""
	}
	var v *limits.Violation
	if !errors.As(err, &v) {
		t.Fatalf("%s: %v is not a *limits.Violation", route, err)
	}
	return v.Rule
}

// PUT /api/v3/order/amend/keepPriority is a trade route whose intent has
// no side, type or price (the venue only lowers the quantity of a resting
// order): the guard cannot value it as an order, so it refuses it.
func TestRedteamAmendKeepPriorityRefusedByTheGuard(t *testing.T) {
	p := params("symbol", "BTCUSDT", "orderId", "1", "newQty", "0.001")
	if r := guardRuleWith(t, ocoPolicy("1000000"), "PUT /api/v3/order/amend/keepPriority", p); r != limits.RuleIntent {
		t.Fatalf("amend: rule %q, want %q", r, limits.RuleIntent)
	}
}
