package exchangetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/internal/venueauth"
)

func TestCoinbaseReplayedNonce(t *testing.T) {
	c := newCBClient(t, exchange.Permissions{Read: true})
	u, _ := url.Parse(c.sim.URL())
	const path = "/api/v3/brokerage/accounts"
	token := cbJWT(t, c.priv, c.name, "GET", u.Host, path)
	send := func() int {
		req, _ := http.NewRequest("GET", c.sim.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := send(); st != 200 {
		t.Fatalf("first use: %d %v", st, c.sim.AuthFailures())
	}
	if st := send(); st != http.StatusUnauthorized {
		t.Fatalf("the same token again: %d", st)
	}
	if f := c.sim.AuthFailures(); len(f) != 1 || f[0] != "nonce already used" {
		t.Errorf("refused for %v", f)
	}
	// A new token, with a new nonce, is accepted.
	if st, _, raw := c.do("GET", path, "", ""); st != 200 {
		t.Errorf("a fresh token: %d %s", st, raw)
	}
}

func TestCoinbaseNonceRecordExpires(t *testing.T) {
	now := time.Now()
	c := newCBClient(t, exchange.Permissions{Read: true}, WithCoinbaseClock(func() time.Time { return now }))
	if st, _, raw := c.do("GET", "/api/v3/brokerage/accounts", "", ""); st != 200 {
		t.Fatalf("%d %s", st, raw)
	}
	c.sim.mu.Lock()
	n := len(c.sim.nonces)
	c.sim.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d nonces recorded, want 1", n)
	}
	// Once the token expired its nonce is forgotten: the record holds two
	// minutes of tokens, not every token ever seen.
	now = now.Add(121 * time.Second)
	c.sim.freshNonce(venueauthSigned("other", now.Add(time.Minute)), now)
	c.sim.mu.Lock()
	_, kept := c.sim.nonces[cbTestKey+"\x00other"]
	n = len(c.sim.nonces)
	c.sim.mu.Unlock()
	if n != 1 || !kept {
		t.Errorf("%d nonces recorded after the first token expired, want only the new one", n)
	}
}

func TestCoinbasePages(t *testing.T) {
	c := newCBClient(t, exchange.Permissions{Read: true, Trade: true})
	var page struct {
		Accounts []struct{ Currency string }
		HasNext  bool `json:"has_next"`
		Cursor   string
	}
	get := func(path, query string, v any) {
		t.Helper()
		st, _, raw := c.do("GET", path, query, "")
		if st != 200 {
			t.Fatalf("%s?%s: %d %s", path, query, st, raw)
		}
		if err := json.Unmarshal([]byte(raw), v); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	for q := "limit=3"; ; {
		get("/api/v3/brokerage/accounts", q, &page)
		for _, a := range page.Accounts {
			seen = append(seen, a.Currency)
		}
		if !page.HasNext {
			break
		}
		q = "limit=3&cursor=" + page.Cursor
	}
	if len(seen) != 4 || seen[0] != "BTC" || seen[3] != "USD" {
		t.Errorf("accounts over the pages: %v", seen)
	}
	for _, q := range []string{"limit=251", "limit=0", "cursor=99", "cursor=x"} {
		if st, _, _ := c.do("GET", "/api/v3/brokerage/accounts", q, ""); st != http.StatusBadRequest {
			t.Errorf("accounts?%s: %d", q, st)
		}
	}
	var v2 struct {
		Pagination struct {
			Next *string `json:"next_starting_after"`
		}
		Data []struct {
			ID       string
			Type     string
			Currency struct{ Code string }
			Balance  struct{ Amount string }
		}
	}
	get("/v2/accounts", "limit=2", &v2)
	if len(v2.Data) != 2 || v2.Pagination.Next == nil || *v2.Pagination.Next != v2.Data[1].ID {
		t.Fatalf("first v2 page %+v", v2)
	}
	after := *v2.Pagination.Next
	get("/v2/accounts", "limit=10&starting_after="+after, &v2)
	if len(v2.Data) != 2 || v2.Pagination.Next != nil || v2.Data[1].Currency.Code != "USD" || v2.Data[1].Type != "fiat" {
		t.Errorf("second v2 page %+v", v2)
	}
}

func TestCoinbasePublicMarket(t *testing.T) {
	c := newCBClient(t, exchange.Permissions{Read: true, Trade: true})
	get := func(path, query string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(c.sim.URL() + path + "?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if st, m := get("/api/v3/brokerage/market/products", "product_type=FUTURE"); st != 200 || len(m["products"].([]any)) != 0 {
		t.Errorf("futures: %d %v", st, m)
	}
	if st, m := get("/api/v3/brokerage/market/products", ""); st != 200 || len(m["products"].([]any)) != 5 {
		t.Errorf("spot products: %d %v", st, m)
	}
	st, m := get("/api/v3/brokerage/market/product_book", "product_id=THIN-USD&limit=2")
	book, _ := m["pricebook"].(map[string]any)
	if st != 200 || len(book["bids"].([]any)) != 2 || m["mid_market"] != "0.05" {
		t.Errorf("thin book: %d %v", st, m)
	}
	// The private twins want a token.
	for _, p := range []string{"/api/v3/brokerage/product_book", "/api/v3/brokerage/products/BTC-USD/ticker", "/v2/accounts", "/api/v3/brokerage/transaction_summary"} {
		if st, _ := get(p, "product_id=BTC-USD"); st != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d", p, st)
		}
	}
	now := time.Now().Unix()
	for q, want := range map[string]int{
		"granularity=ONE_MINUTE&start=" + strconv.FormatInt(now-351*60, 10) + "&end=" + strconv.FormatInt(now, 10): http.StatusBadRequest,
		"granularity=TEN_MINUTE&start=" + strconv.FormatInt(now-600, 10) + "&end=" + strconv.FormatInt(now, 10):    http.StatusBadRequest,
		"granularity=ONE_HOUR&start=" + strconv.FormatInt(now, 10) + "&end=" + strconv.FormatInt(now-600, 10):      http.StatusBadRequest,
		"granularity=ONE_HOUR&start=" + strconv.FormatInt(now-7200, 10) + "&end=" + strconv.FormatInt(now, 10):     http.StatusOK,
	} {
		if st, m := get("/api/v3/brokerage/market/products/BTC-USD/candles", q); st != want {
			t.Errorf("candles?%s: %d %v", q, st, m)
		}
	}

	// A market buy: the fee is in USD and the summary counts it.
	if st, m, raw := c.do("POST", "/api/v3/brokerage/orders", "", `{"client_order_id":"m1","product_id":"ETH-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"100"}}}`); st != 200 || m["success"] != true {
		t.Fatalf("market buy %s", raw)
	}
	_, fills, _ := c.do("GET", "/api/v3/brokerage/orders/historical/fills", "", "")
	f := fills["fills"].([]any)[0].(map[string]any)
	_, sum, _ := c.do("GET", "/api/v3/brokerage/transaction_summary", "", "")
	tier, _ := sum["fee_tier"].(map[string]any)
	if tier["taker_fee_rate"] != "0.012" || tier["maker_fee_rate"] != "0.006" {
		t.Errorf("fee tier %v", tier)
	}
	commission, _ := strconv.ParseFloat(f["commission"].(string), 64)
	if total, _ := sum["total_fees"].(float64); total != commission || commission <= 0 {
		t.Errorf("total fees %v, the fill's commission %v", sum["total_fees"], commission)
	}
	_, trades := get("/api/v3/brokerage/market/products/ETH-USD/ticker", "limit=10")
	list, _ := trades["trades"].([]any)
	if len(list) != 2 || list[1].(map[string]any)["size"] != f["size"] || list[0].(map[string]any)["price"] != "3000" {
		t.Errorf("market trades %v, want the last price then the fill", trades)
	}
}

// venueauthSigned is what the verifier reports of an accepted token.
func venueauthSigned(nonce string, exp time.Time) venueauth.CoinbaseSigned {
	return venueauth.CoinbaseSigned{Kid: cbTestKey, Nonce: nonce, Expires: exp}
}

func TestCoinbaseExchangeRates(t *testing.T) {
	// Products that quote each other and never USD: no rate, and no
	// endless search for one.
	c := newCBClient(t, exchange.Permissions{Read: true}, WithCoinbaseProducts(
		CoinbaseProduct{Symbol: Symbol{Symbol: "AAA-BBB", Base: "AAA", Quote: "BBB", Price: dec("2"), Spread: dec("0.02"),
			Filters: exchange.Filters{TickSize: dec("0.01"), StepSize: dec("0.01")}}},
		CoinbaseProduct{Symbol: Symbol{Symbol: "BBB-AAA", Base: "BBB", Quote: "AAA", Price: dec("0.5"), Spread: dec("0.02"),
			Filters: exchange.Filters{TickSize: dec("0.01"), StepSize: dec("0.01")}}},
		CoinbaseProduct{Symbol: Symbol{Symbol: "CCC-USD", Base: "CCC", Quote: "USD", Price: dec("4"), Spread: dec("0.02"),
			Filters: exchange.Filters{TickSize: dec("0.01"), StepSize: dec("0.01")}}},
		CoinbaseProduct{Symbol: Symbol{Symbol: "DDD-CCC", Base: "DDD", Quote: "CCC", Price: dec("3"), Spread: dec("0.02"),
			Filters: exchange.Filters{TickSize: dec("0.01"), StepSize: dec("0.01")}}},
	))
	get := func(q string) (int, map[string]any) {
		resp, err := http.Get(c.sim.URL() + "/v2/exchange-rates?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	st, m := get("")
	rates, _ := m["data"].(map[string]any)["rates"].(map[string]any)
	if st != 200 || rates["CCC"] != "0.25" || rates["DDD"] != "0.0833333333333333" || rates["USD"] != "1" || rates["AAA"] != nil {
		t.Errorf("USD rates: %d %v", st, m)
	}
	if st, _ := get("currency=AAA"); st != http.StatusBadRequest {
		t.Errorf("rates of a currency without a USD price: %d", st)
	}
}

func TestCoinbaseHistoryFilters(t *testing.T) {
	c := newCBClient(t, exchange.Permissions{Read: true, Trade: true})
	place := func(body string) {
		t.Helper()
		if st, m, raw := c.do("POST", "/api/v3/brokerage/orders", "", body); st != 200 || m["success"] != true {
			t.Fatalf("%s", raw)
		}
	}
	place(`{"client_order_id":"a","product_id":"ETH-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"50"}}}`)
	place(`{"client_order_id":"b","product_id":"ETH-USD","side":"SELL","order_configuration":{"market_market_ioc":{"base_size":"0.01"}}}`)
	place(`{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"40000"}}}`)
	orders := func(q string) []string {
		t.Helper()
		st, m, raw := c.do("GET", "/api/v3/brokerage/orders/historical/batch", q, "")
		if st != 200 {
			t.Fatalf("orders?%s: %d %s", q, st, raw)
		}
		var ids []string
		for _, o := range m["orders"].([]any) {
			ids = append(ids, o.(map[string]any)["client_order_id"].(string))
		}
		return ids
	}
	for q, want := range map[string]string{
		"":                            "c b a",
		"order_side=BUY":              "c a",
		"order_types=MARKET":          "b a",
		"order_status=OPEN":           "c",
		"product_ids=ETH-USD&limit=1": "b",
		"product_ids=ETH-USD&order_side=SELL&order_types=MARKET": "b",
		"end_date=2000-01-01T00:00:00Z":                          "",
	} {
		if got := strings.Join(orders(q), " "); got != want {
			t.Errorf("orders?%s: %q, want %q", q, got, want)
		}
	}
	for _, q := range []string{"order_status=DONE", "order_side=BOTH", "order_types=ICEBERG", "start_date=yesterday"} {
		if st, _, _ := c.do("GET", "/api/v3/brokerage/orders/historical/batch", q, ""); st != http.StatusBadRequest {
			t.Errorf("orders?%s: %d", q, st)
		}
	}
	st, m, raw := c.do("GET", "/api/v3/brokerage/orders/historical/fills", "product_ids=ETH-USD", "")
	fills, _ := m["fills"].([]any)
	if st != 200 || len(fills) != 2 || fills[0].(map[string]any)["side"] != "SELL" {
		t.Errorf("fills newest first: %s", raw)
	}
	if st, _, _ := c.do("GET", "/api/v3/brokerage/orders/historical/fills", "start_sequence_timestamp=x", ""); st != http.StatusBadRequest {
		t.Errorf("a malformed timestamp: %d", st)
	}
}
