package exchangetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

const cbTestKey = "organizations/test/apiKeys/sim"

// cbJWT mints a CDP JWT for method and path at the simulator's host.
func cbJWT(t *testing.T, priv *ecdsa.PrivateKey, name, method, host, path string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	h, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": name, "nonce": hex.EncodeToString(nonce[:]), "typ": "JWT"})
	now := time.Now().Unix()
	c, _ := json.Marshal(map[string]any{"sub": name, "iss": "cdp", "nbf": now, "exp": now + 120, "uri": method + " " + host + path})
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	dg := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, priv, dg[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
}

type cbClient struct {
	t    *testing.T
	sim  *Coinbase
	priv *ecdsa.PrivateKey
	name string
}

func (c *cbClient) do(method, path, query, body string) (int, map[string]any, string) {
	c.t.Helper()
	u, _ := url.Parse(c.sim.URL())
	target := c.sim.URL() + path
	if query != "" {
		target += "?" + query
	}
	req, _ := http.NewRequest(method, target, strings.NewReader(body))
	if c.priv != nil {
		req.Header.Set("Authorization", "Bearer "+cbJWT(c.t, c.priv, c.name, method, u.Host, path))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, string(raw)
}

func newCBClient(t *testing.T, perms exchange.Permissions, opts ...CoinbaseOption) *cbClient {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sim := NewCoinbase(append(opts, WithCoinbaseKeys(CoinbaseKey{Name: cbTestKey, PublicKey: &priv.PublicKey, Permissions: perms}))...)
	t.Cleanup(sim.Close)
	return &cbClient{t: t, sim: sim, priv: priv, name: cbTestKey}
}

func TestCoinbaseSimOrders(t *testing.T) {
	c := newCBClient(t, exchange.Permissions{Read: true, Trade: true})
	const p = "/api/v3/brokerage/orders"
	limit := `{"client_order_id":"a1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.01","limit_price":"40000"}}}`
	st, m, raw := c.do("POST", p, "", limit)
	if st != 200 || m["success"] != true {
		t.Fatalf("%d %s", st, raw)
	}
	id := m["success_response"].(map[string]any)["order_id"].(string)
	// The same client order id returns the same order.
	if _, m2, _ := c.do("POST", p, "", limit); m2["success_response"].(map[string]any)["order_id"] != id {
		t.Errorf("idempotent create returned %v", m2)
	}
	if n := c.sim.OrdersPlaced(); n != 1 {
		t.Errorf("%d orders placed", n)
	}
	st, m, raw = c.do("GET", "/api/v3/brokerage/orders/historical/"+id, "", "")
	order, _ := m["order"].(map[string]any)
	if st != 200 || order["status"] != "OPEN" || order["time_in_force"] != "GOOD_UNTIL_CANCELLED" || order["outstanding_hold_amount"] != "404.8" {
		t.Fatalf("%d %s", st, raw)
	}
	for _, tc := range []struct{ body, code string }{
		{`{"client_order_id":"b","product_id":"LIMIT-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}`, "UNSUPPORTED_ORDER_CONFIGURATION"},
		{`{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"1","limit_price":"40000"}}}`, "INSUFFICIENT_FUND"},
		{`{"client_order_id":"d","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"60000","post_only":true}}}`, "INVALID_LIMIT_PRICE_POST_ONLY"},
		{`{"client_order_id":"e","product_id":"NOPE-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}`, "INVALID_PRODUCT_ID"},
		{`{"client_order_id":"f","product_id":"BTC-USD","side":"BUY","order_configuration":{"twap_limit_gtd":{"base_size":"1"}}}`, "UNSUPPORTED_ORDER_CONFIGURATION"},
	} {
		st, m, raw := c.do("POST", p, "", tc.body)
		er, _ := m["error_response"].(map[string]any)
		if st != 200 || m["success"] != false || er["error"] != tc.code {
			t.Errorf("%s: %d %s", tc.code, st, raw)
		}
	}
	// The venue reads the last copy of a duplicated key: the reason
	// keyfence refuses duplicates.
	st, m, _ = c.do("POST", p, "", `{"client_order_id":"g","product_id":"BTC-USD","side":"SELL","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}`)
	if st != 200 || m["success_response"].(map[string]any)["side"] != "BUY" {
		t.Errorf("duplicate key: %v", m)
	}
	st, m, raw = c.do("POST", "/api/v3/brokerage/orders/batch_cancel", "", `{"order_ids":["`+id+`","nope"]}`)
	res, _ := m["results"].([]any)
	if st != 200 || len(res) != 2 || res[0].(map[string]any)["success"] != true || res[1].(map[string]any)["failure_reason"] != "UNKNOWN_CANCEL_ORDER" {
		t.Errorf("batch cancel %d %s", st, raw)
	}
	if st, _, _ := c.do("GET", "/api/v3/brokerage/orders/historical/nope", "", ""); st != 404 {
		t.Errorf("unknown order: %d", st)
	}
}

func TestCoinbaseSimAuthAndPermissions(t *testing.T) {
	c := newCBClient(t, exchange.Permissions{Read: true})
	if st, _, raw := c.do("POST", "/api/v3/brokerage/orders", "", `{}`); st != 403 || !strings.Contains(raw, "PERMISSION_DENIED") {
		t.Errorf("view-only key trading: %d %s", st, raw)
	}
	anon := &cbClient{t: t, sim: c.sim}
	if st, _, raw := anon.do("GET", "/api/v3/brokerage/accounts", "", ""); st != 401 || raw != "Unauthorized\n" {
		t.Errorf("no JWT: %d %q", st, raw)
	}
	if st, m, _ := c.do("GET", "/api/v3/brokerage/key_permissions", "", ""); st != 200 || m["can_view"] != true || m["can_trade"] != false || m["can_transfer"] != false {
		t.Errorf("key_permissions %v", m)
	}
	if st, _, _ := anon.do("GET", "/api/v3/brokerage/time", "", ""); st != 200 {
		t.Errorf("public time: %d", st)
	}
}

func TestCoinbaseSimMovesFunds(t *testing.T) {
	c := newCBClient(t, exchange.Permissions{Read: true, Trade: true, Transfer: true})
	st, _, raw := c.do("POST", "/api/v3/brokerage/portfolios/move_funds", "", `{"funds":{"value":"100","currency":"USD"},"source_portfolio_uuid":"a","target_portfolio_uuid":"b"}`)
	if st != 200 {
		t.Fatalf("%d %s", st, raw)
	}
	acct := accountUUID(cbTestKey, "BTC")
	st, m, raw := c.do("POST", "/v2/accounts/"+acct+"/transactions", "", `{"type":"send","to":"addr","amount":"0.25","currency":"BTC"}`)
	if st != 201 || m["data"] == nil {
		t.Fatalf("%d %s", st, raw)
	}
	tr := c.sim.Transfers()
	if len(tr) != 2 || !tr[0].Amount.Equal(dec("100")) || tr[1].Asset != "BTC" {
		t.Fatalf("%+v", tr)
	}
	for _, b := range c.sim.Balances(cbTestKey) {
		if (b.Asset == "USD" && !b.Free.Equal(dec("9900"))) || (b.Asset == "BTC" && !b.Free.Equal(dec("0.75"))) {
			t.Errorf("%+v", b)
		}
	}
}

func TestListenCoinbase(t *testing.T) {
	sim, err := ListenCoinbase("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	resp, err := http.Get(sim.URL() + "/api/v3/brokerage/time")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("time: %d", resp.StatusCode)
	}
	if _, err := ListenCoinbase("256.0.0.1:0"); err == nil {
		t.Error("bad address accepted")
	}
}

func TestCoinbaseSimRateLimit(t *testing.T) {
	now := time.Now()
	c := newCBClient(t, exchange.Permissions{Read: true}, WithCoinbaseRateLimits(3, 0), WithCoinbaseClock(func() time.Time { return now }))
	for i := range 3 {
		if st, _, _ := c.do("GET", "/api/v3/brokerage/accounts", "", ""); st != 200 {
			t.Fatalf("request %d: %d", i, st)
		}
	}
	if st, m, _ := c.do("GET", "/api/v3/brokerage/accounts", "", ""); st != 429 || m["error"] != "RATE_LIMIT_EXCEEDED" {
		t.Errorf("fourth request: %d %v", st, m)
	}
	if c.sim.Count429() != 1 {
		t.Errorf("429s %d", c.sim.Count429())
	}
}
