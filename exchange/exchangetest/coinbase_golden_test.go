package exchangetest

import (
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// The documented examples, from the Advanced Trade API reference
// (https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/)
// and the Coinbase App Track APIs
// (https://docs.cdp.coinbase.com/coinbase-app/track-apis/), the page named
// in each case. The order examples hold null for order_configuration, a
// oneof whose variant is each order's own.
const (
	cbDocs   = "https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/"
	cbV2Docs = "https://docs.cdp.coinbase.com/coinbase-app/track-apis/"
)

func TestCoinbaseGolden(t *testing.T) {
	c := newCBClient(t, exchange.Permissions{Read: true, Trade: true})
	st, m, created := c.do("POST", "/api/v3/brokerage/orders", "", `{"client_order_id":"g1","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"100"}}}`)
	if st != 200 || m["success"] != true {
		t.Fatalf("market order: %d %s", st, created)
	}
	orderID := m["success_response"].(map[string]any)["order_id"].(string)
	_, m, _ = c.do("POST", "/api/v3/brokerage/orders", "", `{"client_order_id":"g2","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"40000"}}}`)
	resting := m["success_response"].(map[string]any)["order_id"].(string)
	_, _, cancelled := c.do("POST", "/api/v3/brokerage/orders/batch_cancel", "", `{"order_ids":["`+resting+`"]}`)
	checkGolden(t, "coinbase", goldenCase{name: "create_order", doc: cbDocs + "orders/create-order"}, []byte(created))
	checkGolden(t, "coinbase", goldenCase{name: "batch_cancel", doc: cbDocs + "orders/cancel-order"}, []byte(cancelled))
	now := time.Now().Unix()
	candles := "start=" + strconv.FormatInt(now-600, 10) + "&end=" + strconv.FormatInt(now, 10) + "&granularity=ONE_MINUTE"
	public := func(path, query string) []byte {
		t.Helper()
		u := c.sim.URL() + path
		if query != "" {
			u += "?" + query
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
		}
		return b
	}
	for _, tc := range []struct {
		goldenCase
		path, query string
		signed      bool
	}{
		{goldenCase{name: "time", doc: cbDocs + "public/get-server-time"}, "/api/v3/brokerage/time", "", false},
		{goldenCase{name: "market_products", doc: cbDocs + "public/list-public-products", empty: []string{"$.products[].alias_to"}}, "/api/v3/brokerage/market/products", "", false},
		{goldenCase{name: "market_product", doc: cbDocs + "public/get-public-product", empty: []string{"$.alias_to"}}, "/api/v3/brokerage/market/products/BTC-USD", "", false},
		{goldenCase{name: "market_products", doc: cbDocs + "products/list-products", empty: []string{"$.products[].alias_to"}}, "/api/v3/brokerage/products", "", true},
		{goldenCase{name: "market_product", doc: cbDocs + "products/get-product", empty: []string{"$.alias_to"}}, "/api/v3/brokerage/products/ETH-USD", "", true},
		{goldenCase{name: "product_book", doc: cbDocs + "public/get-public-product-book"}, "/api/v3/brokerage/market/product_book", "product_id=THIN-USD&limit=3", false},
		{goldenCase{name: "product_book", doc: cbDocs + "products/get-product-book"}, "/api/v3/brokerage/product_book", "product_id=BTC-USD", true},
		{goldenCase{name: "market_trades", doc: cbDocs + "public/get-public-market-trades"}, "/api/v3/brokerage/market/products/BTC-USD/ticker", "limit=5", false},
		{goldenCase{name: "market_trades", doc: cbDocs + "products/get-market-trades"}, "/api/v3/brokerage/products/BTC-USD/ticker", "limit=5", true},
		{goldenCase{name: "candles", doc: cbDocs + "public/get-public-product-candles"}, "/api/v3/brokerage/market/products/BTC-USD/candles", candles, false},
		{goldenCase{name: "candles", doc: cbDocs + "products/get-product-candles"}, "/api/v3/brokerage/products/BTC-USD/candles", candles, true},
		{goldenCase{name: "transaction_summary", doc: cbDocs + "fees/get-transaction-summary"}, "/api/v3/brokerage/transaction_summary", "", true},
		{goldenCase{name: "accounts", doc: cbDocs + "accounts/list-accounts"}, "/api/v3/brokerage/accounts", "limit=2", true},
		{goldenCase{name: "fills", doc: cbDocs + "orders/list-fills"}, "/api/v3/brokerage/orders/historical/fills", "", true},
		{goldenCase{name: "v2_currencies", doc: cbV2Docs + "currencies#get-fiat-currencies"}, "/v2/currencies", "", false},
		{goldenCase{name: "v2_currencies_crypto", doc: cbV2Docs + "currencies#get-cryptocurrencies"}, "/v2/currencies/crypto", "", false},
		{goldenCase{name: "v2_exchange_rates", doc: cbV2Docs + "exchange-rates", free: []string{"$.data.rates"}}, "/v2/exchange-rates", "currency=BTC", false},
		{goldenCase{name: "v2_time", doc: cbV2Docs + "time"}, "/v2/time", "", false},
		{goldenCase{name: "v2_accounts", doc: cbV2Docs + "accounts#list-accounts"}, "/v2/accounts", "", true},
		{goldenCase{name: "order", doc: cbDocs + "orders/get-order", empty: []string{"$.order.edit_history"}}, "/api/v3/brokerage/orders/historical/" + orderID, "", true},
		{goldenCase{name: "orders", doc: cbDocs + "orders/list-orders", empty: []string{"$.orders[].edit_history"}}, "/api/v3/brokerage/orders/historical/batch", "", true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var body []byte
			if tc.signed {
				st, _, raw := c.do("GET", tc.path, tc.query, "")
				if st != 200 {
					t.Fatalf("%d %s", st, raw)
				}
				body = []byte(raw)
			} else {
				body = public(tc.path, tc.query)
			}
			checkGolden(t, "coinbase", tc.goldenCase, body)
		})
	}
}
