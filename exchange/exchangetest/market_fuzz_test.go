package exchangetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzPublicMarketQueries sends arbitrary query strings to the KuCoin and
// Coinbase market-data endpoints: every answer is the venue's JSON, never a
// server error, whatever the parameters.
func FuzzPublicMarketQueries(f *testing.F) {
	for _, q := range []string{
		"symbol=BTC-USDT", "symbol=THIN-USDT&type=1min&startAt=1&endAt=99999999999", "type=1week&symbol=ETH-BTC&startAt=-1",
		"product_id=BTC-USD&limit=0", "granularity=ONE_DAY&start=0&end=30240000", "limit=99999999999999999999",
		"currency=BTC", "product_type=FUTURE", "symbol=%zz", "start=1700000000&end=1700003600&granularity=ONE_MINUTE&limit=350",
	} {
		f.Add(q)
	}
	kc := NewKuCoin(WithKuCoinNoRateLimits())
	f.Cleanup(kc.Close)
	cb := NewCoinbase(WithCoinbaseNoRateLimits())
	f.Cleanup(cb.Close)
	kcPaths := []string{"/api/v1/market/stats", "/api/v1/market/allTickers", "/api/v1/market/orderbook/level2_20",
		"/api/v1/market/orderbook/level2_100", "/api/v1/market/candles", "/api/v1/market/histories", "/api/v3/currencies",
		"/api/v2/symbols", "/api/v1/market/orderbook/level1", "/api/v1/timestamp"}
	cbPaths := []string{"/api/v3/brokerage/market/products", "/api/v3/brokerage/market/products/BTC-USD",
		"/api/v3/brokerage/market/products/THIN-USD/ticker", "/api/v3/brokerage/market/products/BTC-USD/candles",
		"/api/v3/brokerage/market/product_book", "/v2/currencies", "/v2/currencies/crypto", "/v2/exchange-rates",
		"/v2/time", "/api/v3/brokerage/time"}
	f.Fuzz(func(t *testing.T, query string) {
		check := func(h http.Handler, path string) {
			req := httptest.NewRequest("GET", "http://sim.example"+path, nil)
			req.URL.RawQuery = query
			req.RequestURI = path + "?" + query
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s?%s: %d %s", path, query, w.Code, w.Body)
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s?%s: not JSON: %s", path, query, w.Body)
			}
		}
		for _, p := range kcPaths {
			check(kc, p)
		}
		for _, p := range cbPaths {
			check(cb, p)
		}
	})
}
