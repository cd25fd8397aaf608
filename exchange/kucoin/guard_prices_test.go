package kucoin

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

// pricesPolicy allows limit and market orders with a 5% band. ETH-USDT
// accepts market orders by base size, BTC-USDT does not.
const pricesPolicy = `
version: 1
kill_switch: {max_denials: 0}
credentials:
  bot:
    venue: kucoin
    order_types: [LIMIT, LIMIT_MAKER, MARKET]
    max_open_orders: 30
    price_band: "5%"
    quotes:
      USDT: {max_order_notional: "100000", max_daily_notional: "1000000"}
    symbols:
      BTC-USDT: {}
      ETH-USDT: {allow_market_by_base: true}
`

// guardRule parses the request with the scheme, checks its intent with a
// fresh guard over pricesPolicy and the quotes BTC-USDT 49990/50000,
// ETH-USDT 2999/3000, and returns the rule that refused it, "" when
// allowed. A refusal before the guard is returned as err.
func guardRule(t *testing.T, path, body string) (limits.Rule, error) {
	t.Helper()
	pol, err := limits.ParsePolicy([]byte(pricesPolicy))
	if err != nil {
		t.Fatal(err)
	}
	prices := exchange.NewQuoteCache(exchange.QuoteCacheConfig{Fetch: func(_ context.Context, sym string) (exchange.Quote, error) {
		q := exchange.Quote{Symbol: sym, At: time.Now()}
		switch sym {
		case "BTC-USDT":
			q.Bid, q.Ask = d("49990"), d("50000")
		case "ETH-USDT":
			q.Bid, q.Ask = d("2999"), d("3000")
		default:
			return q, errors.New("no ticker")
		}
		return q, nil
	}})
	g, err := limits.NewGuard(pol, limits.NewMemoryStore(), limits.WithPrices(Venue, prices))
	if err != nil {
		t.Fatal(err)
	}
	s := mustScheme(t, "")
	s.SetSymbols([]exchange.SymbolInfo{{Symbol: "BTC-USDT"}, {Symbol: "ETH-USDT"}})
	in, err := intentOf(t, s, path, body)
	if err != nil {
		return "", err
	}
	in.Credential, in.Venue = "bot", Venue
	if _, err = g.Check(context.Background(), &in); err == nil {
		return "", nil
	}
	var v *limits.Violation
	if !errors.As(err, &v) {
		t.Fatalf("%v is not a *limits.Violation", err)
	}
	return v.Rule, nil
}

// TestGuardChecksEveryPrice: on the HF order routes the limit price of
// every order goes through the band, and a market order by size, buy or
// sell, alone or in a batch, is refused unless the symbol accepts it; by
// funds it passes. BTC-USDT: ask 50000, bid 49990, band 5%.
func TestGuardChecksEveryPrice(t *testing.T) {
	const (
		band   = limits.RulePriceBand
		byBase = limits.RuleMarketByBase
		one    = "/api/v1/hf/orders"
		sync   = "/api/v1/hf/orders/sync"
		test   = "/api/v1/hf/orders/test"
		multi  = "/api/v1/hf/orders/multi"
		multiS = "/api/v1/hf/orders/multi/sync"
	)
	tests := []struct {
		name, path, body string
		want             limits.Rule
	}{
		{"limit buy at 10x", one, `{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"500000","size":"0.01"}`, band},
		{"limit sell at a tenth", sync, `{"symbol":"BTC-USDT","side":"sell","type":"limit","price":"5000","size":"0.01"}`, band},
		{"test limit buy at 10x", test, `{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"500000","size":"0.01"}`, band},
		{"batch, second order at 10x", multi, `{"orderList":[{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"50000","size":"0.01"},` +
			`{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"500000","size":"0.01"}]}`, band},
		{"limit IOC inside the band", one, `{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"52500","size":"0.01","timeInForce":"IOC"}`, ""},

		{"market buy by size", one, `{"symbol":"BTC-USDT","side":"buy","type":"market","size":"0.01"}`, byBase},
		{"market sell by size", sync, `{"symbol":"BTC-USDT","side":"sell","type":"market","size":"0.01"}`, byBase},
		{"test market buy by size", test, `{"symbol":"BTC-USDT","side":"buy","type":"market","size":"0.01"}`, byBase},
		{"batch with a market sell by size", multiS, `{"orderList":[{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"50000","size":"0.01"},` +
			`{"symbol":"BTC-USDT","side":"sell","type":"market","size":"0.01"}]}`, byBase},
		{"market buy by funds", one, `{"symbol":"BTC-USDT","side":"buy","type":"market","funds":"500"}`, ""},
		{"market sell by funds", sync, `{"symbol":"BTC-USDT","side":"sell","type":"market","funds":"500"}`, ""},
		{"market buy by size, accepted by the policy", one, `{"symbol":"ETH-USDT","side":"buy","type":"market","size":"1"}`, ""},
		{"market sell by size, accepted by the policy", one, `{"symbol":"ETH-USDT","side":"sell","type":"market","size":"1"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := guardRule(t, tc.path, tc.body)
			if err != nil {
				t.Fatalf("refused before the guard: %v", err)
			}
			if got != tc.want {
				t.Fatalf("rule %q, want %q", got, tc.want)
			}
		})
	}
}

// TestStopOrdersRefused: KuCoin's stop and OCO orders carry trigger prices
// (stopPrice, limitPrice) that keyfence does not parse. Their routes are
// not in the route table, so they are refused before the guard, and the HF
// order routes refuse the stop fields: a stop at 10x the market is never
// signed.
func TestStopOrdersRefused(t *testing.T) {
	for _, tc := range []struct {
		name, path, body string
		want             error
	}{
		{"stop order route", "/api/v1/stop-order",
			`{"clientOid":"c1","symbol":"BTC-USDT","side":"buy","type":"limit","price":"50000","size":"0.01","stop":"entry","stopPrice":"500000"}`, exchange.ErrUnknownEndpoint},
		{"stop market order route", "/api/v1/stop-order",
			`{"clientOid":"c1","symbol":"BTC-USDT","side":"buy","type":"market","funds":"100","stop":"entry","stopPrice":"500000"}`, exchange.ErrUnknownEndpoint},
		{"OCO route", "/api/v3/oco/order",
			`{"clientOid":"c1","symbol":"BTC-USDT","side":"buy","price":"50000","size":"0.01","stopPrice":"500000","limitPrice":"500000"}`, exchange.ErrUnknownEndpoint},
		{"HF margin order route", "/api/v3/hf/margin/order",
			`{"clientOid":"c1","symbol":"BTC-USDT","side":"buy","type":"market","size":"1"}`, exchange.ErrUnknownEndpoint},
		{"classic order route", "/api/v1/orders",
			`{"clientOid":"c1","symbol":"BTC-USDT","side":"buy","type":"limit","price":"50000","size":"0.01","stop":"entry","stopPrice":"500000"}`, exchange.ErrUnknownEndpoint},
		{"stop fields on an HF order", "/api/v1/hf/orders",
			`{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"50000","size":"0.01","stop":"entry","stopPrice":"500000"}`, exchange.ErrMalformedRequest},
		{"stop price on an HF batch order", "/api/v1/hf/orders/multi",
			`{"orderList":[{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"50000","size":"0.01","stopPrice":"500000"}]}`, exchange.ErrMalformedRequest},
		{"stop price on an alter", "/api/v1/hf/orders/alter",
			`{"symbol":"BTC-USDT","orderId":"a","newPrice":"50000","newSize":"0.01","stopPrice":"500000"}`, exchange.ErrMalformedRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := guardRule(t, tc.path, tc.body)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}
