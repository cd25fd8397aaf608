package exchangetest

import (
	"encoding/json"
	"testing"
)

// The documented examples, from https://www.kucoin.com/docs-new/rest/ and
// the page named in each case.
const kcDocs = "https://www.kucoin.com/docs-new/rest/"

func TestKuCoinGolden(t *testing.T) {
	clk := newFakeClock(start)
	k := newKuCoinSim(t, clk)
	send := func(method, path, query, body string) []byte {
		t.Helper()
		st, code, b := kcBase(clk, method, path, query, body).signed().send(t, k.URL())
		if st != 200 || code != "200000" {
			t.Fatalf("%s %s?%s: %d %s", method, path, query, st, b)
		}
		return b
	}
	// A fill and a resting order, so that every list has an element.
	placed := send("POST", "/api/v1/hf/orders", "", `{"clientOid":"g1","symbol":"BTC-USDT","side":"buy","type":"market","funds":"100"}`)
	rest := send("POST", "/api/v1/hf/orders", "", `{"clientOid":"g2","symbol":"BTC-USDT","side":"buy","type":"limit","price":"40000","size":"0.001"}`)
	var ans struct {
		Data struct{ OrderID string }
	}
	if err := json.Unmarshal(rest, &ans); err != nil {
		t.Fatal(err)
	}
	cancelled := send("DELETE", "/api/v1/hf/orders/"+ans.Data.OrderID, "symbol=BTC-USDT", "")
	send("POST", "/api/v1/hf/orders", "", `{"clientOid":"g3","symbol":"ETH-USDT","side":"buy","type":"limit","price":"2000","size":"0.01"}`)

	for _, c := range []struct {
		goldenCase
		method, path, query string
		body                []byte
	}{
		{goldenCase: goldenCase{name: "hf_place", doc: kcDocs + "spot-trading/orders/add-order"}, body: placed},
		{goldenCase: goldenCase{name: "hf_cancel", doc: kcDocs + "spot-trading/orders/cancel-order-by-orderld"}, body: cancelled},
		{goldenCase: goldenCase{name: "timestamp", doc: kcDocs + "spot-trading/market-data/get-server-time"}, method: "GET", path: "/api/v1/timestamp"},
		{goldenCase: goldenCase{name: "market_stats", doc: kcDocs + "spot-trading/market-data/get-24hr-stats"}, method: "GET", path: "/api/v1/market/stats", query: "symbol=BTC-USDT"},
		{goldenCase: goldenCase{name: "all_tickers", doc: kcDocs + "spot-trading/market-data/get-all-tickers"}, method: "GET", path: "/api/v1/market/allTickers"},
		{goldenCase: goldenCase{name: "part_orderbook", doc: kcDocs + "spot-trading/market-data/get-part-orderbook"}, method: "GET", path: "/api/v1/market/orderbook/level2_20", query: "symbol=THIN-USDT"},
		{goldenCase: goldenCase{name: "part_orderbook", doc: kcDocs + "spot-trading/market-data/get-part-orderbook"}, method: "GET", path: "/api/v1/market/orderbook/level2_100", query: "symbol=BTC-USDT"},
		{goldenCase: goldenCase{name: "full_orderbook", doc: kcDocs + "spot-trading/market-data/get-full-orderbook"}, method: "GET", path: "/api/v3/market/orderbook/level2", query: "symbol=BTC-USDT"},
		{goldenCase: goldenCase{name: "klines", doc: kcDocs + "spot-trading/market-data/get-klines"}, method: "GET", path: "/api/v1/market/candles", query: "type=1min&symbol=BTC-USDT&startAt=1699999000&endAt=1700000000"},
		{goldenCase: goldenCase{name: "trade_history", doc: kcDocs + "spot-trading/market-data/get-trade-history"}, method: "GET", path: "/api/v1/market/histories", query: "symbol=BTC-USDT"},
		{goldenCase: goldenCase{name: "currencies", doc: kcDocs + "spot-trading/market-data/get-all-currencies"}, method: "GET", path: "/api/v3/currencies"},
		{goldenCase: goldenCase{name: "hf_accounts_opened", doc: kcDocs + "account-info/account-funding/get-account-type-spot"}, method: "GET", path: "/api/v1/hf/accounts/opened"},
		{goldenCase: goldenCase{name: "margin_symbols", doc: kcDocs + "margin-trading/market-data/get-symbols-cross-margin"}, method: "GET", path: "/api/v3/margin/symbols"},
		{goldenCase: goldenCase{name: "isolated_symbols", doc: kcDocs + "margin-trading/market-data/get-symbols-isolated-margin"}, method: "GET", path: "/api/v1/isolated/symbols"},
		{goldenCase: goldenCase{name: "trade_fees", doc: kcDocs + "account-info/trade-fee/get-actual-fee-spot-margin"}, method: "GET", path: "/api/v1/trade-fees", query: "symbols=BTC-USDT,ETH-USDT"},
		{goldenCase: goldenCase{name: "base_fee", doc: kcDocs + "account-info/trade-fee/get-basic-fee-spot-margin"}, method: "GET", path: "/api/v1/base-fee"},
		{goldenCase: goldenCase{name: "accounts", doc: kcDocs + "account-info/account-funding/get-account-list-spot"}, method: "GET", path: "/api/v1/accounts", query: "type=trade_hf"},
		{goldenCase: goldenCase{name: "accounts", doc: kcDocs + "account-info/account-funding/get-account-list-spot"}, method: "GET", path: "/api/v1/accounts"},
		{goldenCase: goldenCase{name: "hf_fills", doc: kcDocs + "spot-trading/orders/get-trade-history"}, method: "GET", path: "/api/v1/hf/fills", query: "symbol=BTC-USDT"},
		{goldenCase: goldenCase{name: "hf_done_orders", doc: kcDocs + "spot-trading/orders/get-closed-orders"}, method: "GET", path: "/api/v1/hf/orders/done", query: "symbol=BTC-USDT"},
		{goldenCase: goldenCase{name: "hf_order", doc: kcDocs + "spot-trading/orders/get-order-by-orderld"}, method: "GET", path: "/api/v1/hf/orders/" + ans.Data.OrderID, query: "symbol=BTC-USDT"},
		{goldenCase: goldenCase{name: "hf_order", doc: kcDocs + "spot-trading/orders/get-order-by-clientoid"}, method: "GET", path: "/api/v1/hf/orders/client-order/g1", query: "symbol=BTC-USDT"},
		{goldenCase: goldenCase{name: "hf_active_orders", doc: kcDocs + "spot-trading/orders/get-open-orders"}, method: "GET", path: "/api/v1/hf/orders/active", query: "symbol=ETH-USDT"},
	} {
		t.Run(c.name+" "+c.path, func(t *testing.T) {
			body := c.body
			if body == nil {
				body = send(c.method, c.path, c.query, "")
			}
			checkGolden(t, "kucoin", c.goldenCase, body)
		})
	}
}
