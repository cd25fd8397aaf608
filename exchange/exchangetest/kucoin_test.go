package exchangetest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// kcReq is a KuCoin request as a test builds it, signed from the venue's
// documentation; it shares no code with package kucoin.
type kcReq struct {
	method, path, query, body string
	ts                        int64
	apiKey, version           string
	secret, passphrase        string
	// Overrides applied after signing.
	sign, pass string
}

func kcB64HMAC(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (r kcReq) signed() kcReq {
	uri := r.path
	if r.query != "" {
		uri += "?" + r.query
	}
	r.sign = kcB64HMAC(r.secret, strconv.FormatInt(r.ts, 10)+r.method+uri+r.body)
	r.pass = kcB64HMAC(r.secret, r.passphrase)
	return r
}

// send sends r and returns the HTTP status and KuCoin code.
func (r kcReq) send(t *testing.T, base string) (int, string, []byte) {
	t.Helper()
	u := base + r.path
	if r.query != "" {
		u += "?" + r.query
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("KC-API-KEY", r.apiKey)
	req.Header.Set("KC-API-SIGN", r.sign)
	req.Header.Set("KC-API-TIMESTAMP", strconv.FormatInt(r.ts, 10))
	req.Header.Set("KC-API-PASSPHRASE", r.pass)
	if r.version != "" {
		req.Header.Set("KC-API-KEY-VERSION", r.version)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(b, &env)
	return resp.StatusCode, env.Code, b
}

var kcTestKey = KuCoinKey{APIKey: "k1", Secret: []byte("s3cret"), Passphrase: []byte("pass phrase"), Permissions: traderPerms}

func newKuCoinSim(t *testing.T, clk *fakeClock, opts ...KuCoinOption) *KuCoin {
	t.Helper()
	k := NewKuCoin(append([]KuCoinOption{WithKuCoinClock(clk.Now), WithKuCoinKeys(kcTestKey)}, opts...)...)
	t.Cleanup(k.Close)
	return k
}

func kcBase(clk *fakeClock, method, path, query, body string) kcReq {
	return kcReq{method: method, path: path, query: query, body: body, ts: clk.Now().UnixMilli(),
		apiKey: "k1", version: "2", secret: "s3cret", passphrase: "pass phrase"}
}

// A request altered in any signed part after signing is refused, with the
// code the venue gives.
func TestKuCoinTamperedRequests(t *testing.T) {
	clk := newFakeClock(start)
	k := newKuCoinSim(t, clk)
	order := `{"clientOid":"t1","symbol":"BTC-USDT","side":"buy","type":"limit","price":"40000","size":"0.001"}`
	get := kcBase(clk, "GET", "/api/v1/accounts", "currency=BTC", "").signed()
	post := kcBase(clk, "POST", "/api/v1/hf/orders", "", order).signed()
	if st, code, b := get.send(t, k.URL()); st != 200 || code != "200000" {
		t.Fatalf("untampered GET: %d %s", st, b)
	}
	tests := []struct {
		name   string
		r      kcReq
		status int
		code   string
	}{
		{"timestamp", func() kcReq { r := get; r.ts++; return r }(), 401, "400005"},
		{"stale timestamp", func() kcReq { r := kcBase(clk, "GET", "/api/v1/accounts", "", ""); r.ts -= 5001; return r.signed() }(), 401, "400002"},
		{"future timestamp", func() kcReq { r := kcBase(clk, "GET", "/api/v1/accounts", "", ""); r.ts += 5001; return r.signed() }(), 401, "400002"},
		{"method", func() kcReq {
			r := post
			r.method = "DELETE"
			r.path = "/api/v1/hf/orders"
			r.body = ""
			r.query = "symbol=BTC-USDT"
			return r
		}(), 401, "400005"},
		{"path", func() kcReq { r := post; r.path = "/api/v1/hf/orders/sync"; return r }(), 401, "400005"},
		{"query", func() kcReq { r := get; r.query = "currency=ETH"; return r }(), 401, "400005"},
		{"query added", func() kcReq { r := get; r.query += "&type=main"; return r }(), 401, "400005"},
		{"body", func() kcReq { r := post; r.body = strings.Replace(order, "0.001", "0.002", 1); return r }(), 401, "400005"},
		{"body spacing", func() kcReq { r := post; r.body = strings.Replace(order, ",", ", ", 1); return r }(), 401, "400005"},
		{"signature", func() kcReq { r := get; r.sign = kcB64HMAC("s3cret", "x"); return r }(), 401, "400005"},
		{"passphrase header", func() kcReq { r := get; r.pass = kcB64HMAC("s3cret", "other"); return r }(), 401, "400004"},
		{"plaintext passphrase", func() kcReq { r := get; r.pass = "pass phrase"; return r }(), 401, "400004"},
		{"key version", func() kcReq { r := get; r.version = "3"; return r }(), 401, "400004"},
		{"key version missing", func() kcReq { r := get; r.version = ""; return r }(), 401, "400004"},
		{"unknown key", func() kcReq { r := get; r.apiKey = "k2"; return r }(), 401, "400003"},
		{"other secret", func() kcReq {
			r := kcBase(clk, "GET", "/api/v1/accounts", "", "")
			r.secret = "other"
			return r.signed()
		}(), 401, "400004"},
		{"no signature", func() kcReq { r := get; r.sign = ""; return r }(), 401, "400001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, code, b := tc.r.send(t, k.URL())
			if st != tc.status || code != tc.code {
				t.Fatalf("got %d %s, want %d %s", st, b, tc.status, tc.code)
			}
		})
	}
	if n := len(k.Orders("k1")); n != 0 {
		t.Fatalf("%d orders placed by tampered requests", n)
	}
	if st, code, b := post.send(t, k.URL()); st != 200 || code != "200000" || len(k.Orders("k1")) != 1 {
		t.Fatalf("untampered POST: %d %s", st, b)
	}
}

func TestKuCoinKeyVersion3AndPermissions(t *testing.T) {
	clk := newFakeClock(start)
	k := newKuCoinSim(t, clk,
		WithKuCoinKeys(KuCoinKey{APIKey: "v3", Secret: []byte("x"), Passphrase: []byte("p"), Version: "3",
			Permissions: exchange.Permissions{Read: true}},
			KuCoinKey{APIKey: "far", Secret: []byte("x"), Passphrase: []byte("p"), Permissions: traderPerms, IPWhitelist: []string{"203.0.113.7"}}))
	r := kcReq{method: "GET", path: "/api/v1/user/api-key", ts: clk.Now().UnixMilli(), apiKey: "v3", version: "3", secret: "x", passphrase: "p"}.signed()
	st, code, b := r.send(t, k.URL())
	if st != 200 || code != "200000" || !bytes.Contains(b, []byte(`"permission":"General"`)) || !bytes.Contains(b, []byte(`"ipWhitelist":""`)) {
		t.Fatalf("api-key: %d %s", st, b)
	}
	r = kcReq{method: "POST", path: "/api/v1/hf/orders", ts: clk.Now().UnixMilli(), apiKey: "v3", version: "3", secret: "x", passphrase: "p",
		body: `{"symbol":"BTC-USDT","side":"buy","type":"market","funds":"10"}`}.signed()
	if st, code, _ := r.send(t, k.URL()); st != 403 || code != "400007" {
		t.Fatalf("trade without Spot: %d %s", st, code)
	}
	r = kcReq{method: "GET", path: "/api/v1/accounts", ts: clk.Now().UnixMilli(), apiKey: "far", version: "2", secret: "x", passphrase: "p"}.signed()
	if st, code, _ := r.send(t, k.URL()); st != 401 || code != "400006" {
		t.Fatalf("outside the whitelist: %d %s", st, code)
	}
	r = kcBase(clk, "GET", "/api/v1/user/api-key", "", "").signed()
	if _, _, b := r.send(t, k.URL()); !bytes.Contains(b, []byte(`"permission":"General,Spot"`)) || !bytes.Contains(b, []byte(`"ipWhitelist":"127.0.0.1,::1"`)) {
		t.Fatalf("trader api-key: %s", b)
	}
}

// Pools count in fixed 30 s windows from the first request, send
// gw-ratelimit-* headers and answer 429000 over the quota.
func TestKuCoinPools(t *testing.T) {
	clk := newFakeClock(start)
	k := newKuCoinSim(t, clk, WithKuCoinPoolLimits(KuCoinPoolLimits{Spot: 5, Public: 4}))
	active := func() (*http.Response, string) {
		r := kcBase(clk, "GET", "/api/v1/hf/orders/active", "symbol=BTC-USDT", "").signed()
		u := k.URL() + r.path + "?" + r.query
		req, _ := http.NewRequest("GET", u, nil)
		for h, v := range map[string]string{"KC-API-KEY": r.apiKey, "KC-API-SIGN": r.sign, "KC-API-TIMESTAMP": strconv.FormatInt(r.ts, 10),
			"KC-API-PASSPHRASE": r.pass, "KC-API-KEY-VERSION": "2"} {
			req.Header.Set(h, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	clk.Add(7 * time.Second) // the window starts at the first request, not on a boundary
	for i, want := range []string{"3", "1"} {
		resp, b := active()
		if resp.StatusCode != 200 || resp.Header.Get("gw-ratelimit-remaining") != want || resp.Header.Get("gw-ratelimit-limit") != "5" {
			t.Fatalf("request %d: %d %v %s", i, resp.StatusCode, resp.Header, b)
		}
		clk.Add(10 * time.Second)
	}
	resp, b := active()
	if resp.StatusCode != 429 || !strings.Contains(b, `"429000"`) || resp.Header.Get("gw-ratelimit-reset") != "10000" {
		t.Fatalf("over the quota: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	if k.Count429() != 1 {
		t.Fatalf("Count429 %d", k.Count429())
	}
	clk.Add(10 * time.Second) // 30 s after the first request
	if resp, b := active(); resp.StatusCode != 200 || resp.Header.Get("gw-ratelimit-remaining") != "3" || resp.Header.Get("gw-ratelimit-reset") != "30000" {
		t.Fatalf("new window: %d %v %s", resp.StatusCode, resp.Header, b)
	}
}

func TestKuCoinTradingAndFunds(t *testing.T) {
	clk := newFakeClock(start)
	k := newKuCoinSim(t, clk, WithKuCoinKeys(KuCoinKey{APIKey: "rich", Secret: []byte("x"), Passphrase: []byte("p"),
		Permissions: exchange.Permissions{Read: true, Trade: true, Withdraw: true, Transfer: true, IPRestricted: true}}))
	send := func(key, method, path, query, body string) (int, string, []byte) {
		r := kcReq{method: method, path: path, query: query, body: body, ts: clk.Now().UnixMilli(), apiKey: key, version: "2", secret: "x", passphrase: "p"}
		if key == "k1" {
			r.secret, r.passphrase = "s3cret", "pass phrase"
		}
		return r.signed().send(t, k.URL())
	}
	// Market sell by size on the thin book walks it and runs out.
	_, code, b := send("k1", "POST", "/api/v1/hf/orders/sync", "", `{"symbol":"THIN-USDT","side":"sell","type":"market","size":"20000"}`)
	if code != "200000" || !bytes.Contains(b, []byte(`"dealSize":"10000"`)) {
		t.Fatalf("thin market sell: %s", b)
	}
	// An order the balance cannot pay: HTTP 200 with 200004.
	st, code, _ := send("k1", "POST", "/api/v1/hf/orders", "", `{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"50000","size":"1"}`)
	if st != 200 || code != "200004" {
		t.Fatalf("insufficient: %d %s", st, code)
	}
	// Test orders validate without placing.
	placed := k.OrdersPlaced()
	if _, code, _ := send("k1", "POST", "/api/v1/hf/orders/test", "", `{"symbol":"BTC-USDT","side":"buy","type":"market","funds":"10"}`); code != "200000" || k.OrdersPlaced() != placed {
		t.Fatalf("test order: %s", code)
	}
	// Rest, then cancel by client id.
	if _, code, b := send("k1", "POST", "/api/v1/hf/orders", "", `{"clientOid":"c9","symbol":"ETH-USDT","side":"buy","type":"limit","price":"2000","size":"1"}`); code != "200000" {
		t.Fatalf("rest: %s", b)
	}
	if _, code, b := send("k1", "DELETE", "/api/v1/hf/orders/client-order/c9", "symbol=ETH-USDT", ""); code != "200000" || !bytes.Contains(b, []byte(`"c9"`)) {
		t.Fatalf("cancel by client id: %s", b)
	}
	if _, code, b := send("k1", "DELETE", "/api/v1/hf/orders/client-order/c9", "symbol=ETH-USDT", ""); code != "400100" {
		t.Fatalf("second cancel: %s", b)
	}
	// A key without the permission cannot withdraw; one with it does, and
	// the simulator debits the account.
	if st, code, _ := send("k1", "POST", "/api/v3/withdrawals", "", `{"currency":"USDT","toAddress":"addr","amount":"10","withdrawType":"ADDRESS","chain":"trx"}`); st != 403 || code != "400007" {
		t.Fatalf("withdraw without permission: %d %s", st, code)
	}
	if _, code, b := send("rich", "POST", "/api/v3/withdrawals", "", `{"currency":"USDT","toAddress":"addr","amount":"10","withdrawType":"ADDRESS","chain":"trx"}`); code != "200000" {
		t.Fatalf("withdraw: %s", b)
	}
	if _, code, b := send("rich", "POST", "/api/v2/accounts/inner-transfer", "", `{"clientOid":"t","currency":"USDT","from":"trade","to":"main","amount":"5"}`); code != "200000" {
		t.Fatalf("inner transfer: %s", b)
	}
	w := k.Withdrawals()
	if len(w) != 2 || w[0].Address != "addr" || w[1].Network != "inner-transfer" {
		t.Fatalf("withdrawals %+v", w)
	}
	for _, bal := range k.Balances("rich") {
		if bal.Asset == "USDT" && !bal.Free.Equal(decimal.RequireFromString("9985")) {
			t.Fatalf("USDT after withdrawing 15: %s", bal.Free)
		}
	}
}

func TestKuCoinPublicAndRun(t *testing.T) {
	clk := newFakeClock(start)
	k := newKuCoinSim(t, clk)
	get := func(path string) []byte {
		resp, err := http.Get(k.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("gw-ratelimit-limit") != "2000" {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, resp.Header)
		}
		return b
	}
	if b := get("/api/v1/timestamp"); string(b) != `{"code":"200000","data":`+strconv.FormatInt(start.UnixMilli(), 10)+`}` {
		t.Fatalf("timestamp %s", b)
	}
	if b := get("/api/v2/symbols"); !bytes.Contains(b, []byte(`"symbol":"THIN-USDT"`)) || !bytes.Contains(b, []byte(`"priceIncrement":"0.1"`)) {
		t.Fatalf("symbols %s", b)
	}
	k.SetPrice("BTC-USDT", decimal.RequireFromString("60000"))
	if b := get("/api/v1/market/orderbook/level1?symbol=BTC-USDT"); !bytes.Contains(b, []byte(`"bestAsk":"60000.1"`)) {
		t.Fatalf("level1 %s", b)
	}
	if b := get("/api/v1/market/orderbook/level1?symbol=NOPE-USDT"); !bytes.Contains(b, []byte(`"data":null`)) {
		t.Fatalf("unknown symbol %s", b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
