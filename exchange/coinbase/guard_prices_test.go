package coinbase

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

// pricesPolicy allows every order type Coinbase orders parse to, with a
// 5% band. ETH-USD accepts market orders by base quantity, BTC-USD does
// not.
const pricesPolicy = `
version: 1
kill_switch: {max_denials: 0}
credentials:
  bot:
    venue: coinbase
    order_types: [LIMIT, LIMIT_MAKER, MARKET, STOP_LOSS_LIMIT]
    max_open_orders: 10
    price_band: "5%"
    quotes:
      USD: {max_order_notional: "100000", max_daily_notional: "1000000"}
    symbols:
      BTC-USD: {}
      ETH-USD: {allow_market_by_base: true}
`

// guardRule parses the request with the scheme (which tracks order "o1",
// a BTC-USD buy), checks its intent with a fresh guard over pricesPolicy
// and the quotes BTC-USD 49990/50000, ETH-USD 2999/3000, and returns the
// rule that refused it, "" when allowed. A parser refusal is returned as
// err.
func guardRule(t *testing.T, path, body string) (limits.Rule, error) {
	t.Helper()
	pol, err := limits.ParsePolicy([]byte(pricesPolicy))
	if err != nil {
		t.Fatal(err)
	}
	prices := exchange.NewQuoteCache(exchange.QuoteCacheConfig{Fetch: func(_ context.Context, sym string) (exchange.Quote, error) {
		q := exchange.Quote{Symbol: sym, At: time.Now()}
		switch sym {
		case "BTC-USD":
			q.Bid, q.Ask = d("49990"), d("50000")
		case "ETH-USD":
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
	s.track("o1", trackedOrder{Product: "BTC-USD", Side: exchange.Buy})
	in, err := intentOf(t, s, &exchange.Request{Method: "POST", Path: Prefix + path, Body: []byte(body)})
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

// TestGuardChecksEveryPrice: the stop and the limit price of a stop-limit
// order, an edit's new price, and market orders by base size go through
// the guard's band and market rules. BTC-USD: ask 50000, bid 49990, band
// 5%.
func TestGuardChecksEveryPrice(t *testing.T) {
	const (
		band   = limits.RulePriceBand
		byBase = limits.RuleMarketByBase
		buy    = `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":`
		sell   = `{"client_order_id":"c1","product_id":"BTC-USD","side":"SELL","order_configuration":`
		eth    = `{"client_order_id":"c1","product_id":"ETH-USD","side":"BUY","order_configuration":`
	)
	stopLimit := func(head, tif, limit, stop, dir string) string {
		end := ""
		if tif == "gtd" {
			end = `,"end_time":"2030-01-01T00:00:00Z"`
		}
		return head + `{"stop_limit_stop_limit_` + tif + `":{"base_size":"0.01","limit_price":"` + limit + `","stop_price":"` + stop +
			`","stop_direction":"` + dir + `"` + end + `}}}`
	}
	const up, down = "STOP_DIRECTION_STOP_UP", "STOP_DIRECTION_STOP_DOWN"
	tests := []struct {
		name, path, body string
		want             limits.Rule
	}{
		{"BUY stop-limit gtc, stop at 10x", "/orders", stopLimit(buy, "gtc", "50000", "500000", up), band},
		{"BUY stop-limit gtd, stop at 10x", "/orders", stopLimit(buy, "gtd", "50000", "500000", up), band},
		{"BUY stop-limit, limit at 10x", "/orders", stopLimit(buy, "gtc", "500000", "51000", up), band},
		{"SELL stop-limit, stop at a tenth", "/orders", stopLimit(sell, "gtc", "48000", "5000", down), band},
		{"SELL stop-limit, limit at a tenth", "/orders", stopLimit(sell, "gtd", "5000", "48000", down), band},
		{"preview of a BUY stop-limit at 10x", "/orders/preview",
			`{"product_id":"BTC-USD","side":"BUY","order_configuration":{"stop_limit_stop_limit_gtc":{"base_size":"0.01","limit_price":"50000","stop_price":"500000","stop_direction":"STOP_DIRECTION_STOP_UP"}}}`, band},
		{"BUY stop-limit in band", "/orders", stopLimit(buy, "gtc", "52000", "51000", up), ""},
		{"SELL stop-limit in band", "/orders", stopLimit(sell, "gtd", "48000", "48500", down), ""},

		{"edit to a price at 10x", "/orders/edit", `{"order_id":"o1","price":"500000","size":"0.01"}`, band},
		{"edit in band", "/orders/edit", `{"order_id":"o1","price":"50000","size":"0.01"}`, ""},

		{"market BUY by base", "/orders", buy + `{"market_market_ioc":{"base_size":"0.01"}}}`, byBase},
		{"market SELL by base", "/orders", sell + `{"market_market_ioc":{"base_size":"0.01"}}}`, byBase},
		{"market fok BUY by base", "/orders", buy + `{"market_market_fok":{"base_size":"0.01"}}}`, byBase},
		{"preview of a market SELL by base", "/orders/preview", `{"product_id":"BTC-USD","side":"SELL","order_configuration":{"market_market_ioc":{"base_size":"0.01"}}}`, byBase},
		{"market BUY by quote", "/orders", buy + `{"market_market_ioc":{"quote_size":"500"}}}`, ""},
		{"market SELL by quote", "/orders", sell + `{"market_market_ioc":{"quote_size":"500"}}}`, ""},
		{"limit IOC inside the band", "/orders", buy + `{"sor_limit_ioc":{"base_size":"0.01","limit_price":"52500"}}}`, ""},
		{"market BUY by base, accepted by the policy", "/orders", eth + `{"market_market_ioc":{"base_size":"1"}}}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := guardRule(t, tc.path, tc.body)
			if err != nil {
				t.Fatalf("parser refused: %v", err)
			}
			if got != tc.want {
				t.Fatalf("rule %q, want %q", got, tc.want)
			}
		})
	}
}

// TestUnparsedPricedConfigurationsRefused: configurations and keys that
// carry prices keyfence does not parse (brackets, attached take-profit and
// stop-loss, TWAP, scaled orders) are refused before the guard, so their
// prices can never be signed unchecked.
func TestUnparsedPricedConfigurationsRefused(t *testing.T) {
	const head = `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":`
	for name, body := range map[string]string{
		"trigger bracket gtc": head + `{"trigger_bracket_gtc":{"base_size":"0.01","limit_price":"60000","stop_trigger_price":"5000"}}}`,
		"trigger bracket gtd": head + `{"trigger_bracket_gtd":{"base_size":"0.01","limit_price":"60000","stop_trigger_price":"5000","end_time":"2030-01-01T00:00:00Z"}}}`,
		"twap":                head + `{"twap_limit_gtd":{"quote_size":"100","limit_price":"500000","start_time":"2030-01-01T00:00:00Z","end_time":"2030-01-02T00:00:00Z","number_buckets":"10","bucket_size":"10","bucket_duration":"60s"}}}`,
		"scaled":              head + `{"scaled_limit_gtc":{"orders":[],"quote_size":"100","min_price":"1","max_price":"500000","price_distribution":"FLAT","size_distribution":"FLAT","size_diff":"0","size_ratio":"1"}}}`,
		"attached take-profit and stop-loss": `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY",` +
			`"order_configuration":{"limit_limit_gtc":{"base_size":"0.01","limit_price":"50000"}},` +
			`"attached_order_configuration":{"trigger_bracket_gtc":{"limit_price":"500000","stop_trigger_price":"1"}}}`,
		"stop trigger price on a limit": head + `{"limit_limit_gtc":{"base_size":"0.01","limit_price":"50000","stop_trigger_price":"500000"}}}`,
		"stop price on a market":        head + `{"market_market_ioc":{"quote_size":"100","stop_price":"500000"}}}`,
		"edit with a stop price":        `{"order_id":"o1","price":"50000","size":"0.01","stop_price":"500000"}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := "/orders"
			if name == "edit with a stop price" {
				path = "/orders/edit"
			}
			_, err := guardRule(t, path, body)
			if !errors.Is(err, exchange.ErrMalformedRequest) {
				t.Fatalf("err %v, want ErrMalformedRequest", err)
			}
		})
	}
}
