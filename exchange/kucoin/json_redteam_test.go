package kucoin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

// JSON smuggling: every body that two JSON readers (keyfence's and the
// venue's) could read differently, or that spells a number otherwise than
// the venue's plain decimal string, is refused before the guard.
func TestRedteamJSONSmugglingRefused(t *testing.T) {
	s := mustScheme(t, "")
	s.SetSymbols([]exchange.SymbolInfo{{Symbol: "BTC-USDT"}, {Symbol: "ETH-USDT"}})
	const head = `{"clientOid":"c1","symbol":"BTC-USDT","side":"buy","type":"limit",`
	order := func(price, size string) string { return head + `"price":` + price + `,"size":` + size + `}` }
	bodies := map[string]string{
		"duplicate key":                  order(`"50000"`, `"0.001"`)[:len(order(`"50000"`, `"0.001"`))-1] + `,"price":"1"}`,
		"duplicate key, escaped":         head + `"price":"50000","pr\u0069ce":"1","size":"0.001"}`,
		"duplicate key in a batch order": `{"orderList":[` + head + `"price":"50000","size":"0.001","size":"9"}]}`,
		"case variant key":               head + `"Price":"50000","size":"0.001"}`,
		"unknown key":                    head + `"price":"50000","size":"0.001","stop":"loss","stopPrice":"1"}`,
		"trade type":                     head + `"price":"50000","size":"0.001","tradeType":"MARGIN_TRADE"}`,
		"number not string":              order(`50000`, `"0.001"`),
		"exponent":                       order(`"5e4"`, `"0.001"`),
		"exponent in size":               order(`"50000"`, `"1E-3"`),
		"negative zero":                  order(`"-0"`, `"0.001"`),
		"negative":                       order(`"50000"`, `"-0.001"`),
		"plus sign":                      order(`"+50000"`, `"0.001"`),
		"leading space":                  order(`" 50000"`, `"0.001"`),
		"trailing space":                 order(`"50000 "`, `"0.001"`),
		"unicode digits":                 order(`"５0000"`, `"0.001"`),
		"escaped unicode digit":          order(`"\uff150000"`, `"0.001"`),
		"NaN":                            order(`"NaN"`, `"0.001"`),
		"Infinity":                       order(`"Infinity"`, `"0.001"`),
		"bare NaN":                       order(`NaN`, `"0.001"`),
		"hex":                            order(`"0x10"`, `"0.001"`),
		"dot first":                      order(`"50000"`, `".001"`),
		"dot last":                       order(`"50000."`, `"0.001"`),
		"huge precision":                 order(`"50000"`, `"0.000000000000000000001"`),
		"underscore":                     order(`"50_000"`, `"0.001"`),
		"null price":                     order(`null`, `"0.001"`),
		"postOnly as string":             head + `"price":"50000","size":"0.001","postOnly":"true"}`,
		"upper-case side":                strings.Replace(order(`"50000"`, `"0.001"`), `"buy"`, `"BUY"`, 1),
		"lone surrogate key":             head + `"price":"50000","size":"0.001","\ud800":1}`,
		"trailing data":                  order(`"50000"`, `"0.001"`) + `{}`,
		"two objects":                    order(`"50000"`, `"0.001"`) + order(`"1"`, `"1"`),
		"comment":                        order(`"50000"`, `"0.001"`) + `//`,
		"BOM":                            "\ufeff" + order(`"50000"`, `"0.001"`),
		"invalid UTF-8":                  head + `"price":"50000","size":"0.001","remark":"` + "\xff" + `"}`,
		"market by size and funds":       head[:len(head)-len(`"type":"limit",`)] + `"type":"market","size":"1","funds":"10"}`,
	}
	for name, body := range bodies {
		path := "/api/v1/hf/orders"
		if strings.HasPrefix(body, `{"orderList"`) {
			path = "/api/v1/hf/orders/multi"
		}
		if _, err := intentOf(t, s, path, body); !errors.Is(err, exchange.ErrMalformedRequest) {
			t.Errorf("%s: err = %v, want ErrMalformedRequest", name, err)
		}
	}
	// The plain form passes.
	if _, err := intentOf(t, s, "/api/v1/hf/orders", order(`"50000"`, `"0.001"`)); err != nil {
		t.Fatal(err)
	}
}

// A batch is as many orders as it holds: each is checked against the
// per-order cap and together they count against the daily cap; more than
// the guard's 8 legs are refused; more than KuCoin's 20 are malformed.
func TestRedteamBatchOfTinyOrdersCountsEveryOrder(t *testing.T) {
	const pol = `
version: 1
kill_switch: {max_denials: 0}
credentials:
  bot:
    venue: kucoin
    order_types: [LIMIT]
    max_open_orders: 30
    price_band: "5%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTC-USDT: {}
`
	p, err := limits.ParsePolicy([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	prices := exchange.NewQuoteCache(exchange.QuoteCacheConfig{Fetch: func(_ context.Context, sym string) (exchange.Quote, error) {
		return exchange.Quote{Symbol: sym, Bid: d("49990"), Ask: d("50000"), At: time.Now()}, nil
	}})
	g, err := limits.NewGuard(p, limits.NewMemoryStore(), limits.WithPrices(Venue, prices))
	if err != nil {
		t.Fatal(err)
	}
	s := mustScheme(t, "")
	batch := func(n int, size string) string {
		var b strings.Builder
		b.WriteString(`{"orderList":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"clientOid":"c` + string(rune('a'+i)) + `","symbol":"BTC-USDT","side":"buy","type":"limit","price":"50000","size":"` + size + `"}`)
		}
		b.WriteString(`]}`)
		return b.String()
	}
	check := func(body string) limits.Rule {
		t.Helper()
		in, err := intentOf(t, s, "/api/v1/hf/orders/multi", body)
		if err != nil {
			t.Fatal(err)
		}
		in.Credential, in.Venue = "bot", Venue
		_, err = g.Check(context.Background(), &in)
		var v *limits.Violation
		if err != nil && !errors.As(err, &v) {
			t.Fatal(err)
		}
		if v == nil {
			return ""
		}
		return v.Rule
	}
	// 6 x 1000 = 6000 > 5000 daily, though each is at the per-order cap.
	if r := check(batch(6, "0.02")); r != limits.RuleDailyNotional {
		t.Fatalf("6 orders at the per-order cap: rule %q", r)
	}
	if r := check(batch(2, "0.0201")); r != limits.RuleOrderNotional {
		t.Fatalf("an order over the per-order cap in a batch: rule %q", r)
	}
	if r := check(batch(9, "0.0001")); r != limits.RuleIntent {
		t.Fatalf("9 orders: rule %q", r)
	}
	if _, err := intentOf(t, s, "/api/v1/hf/orders/multi", batch(21, "0.0001")); !errors.Is(err, exchange.ErrMalformedRequest) {
		t.Fatalf("21 orders: %v", err)
	}
	if r := check(batch(5, "0.02")); r != "" {
		t.Fatalf("5 orders at the per-order cap: rule %q", r)
	}
}

// POST /api/v1/hf/orders/alter names no side: the guard cannot tell which
// band edge the new price must keep, so it refuses it whatever the price.
func TestRedteamAlterRefusedByTheGuard(t *testing.T) {
	r, err := guardRule(t, "/api/v1/hf/orders/alter", `{"symbol":"BTC-USDT","orderId":"1","newPrice":"50000","newSize":"0.001"}`)
	if err != nil {
		t.Fatal(err)
	}
	if r != limits.RuleIntent {
		t.Fatalf("alter: rule %q, want %q", r, limits.RuleIntent)
	}
}
