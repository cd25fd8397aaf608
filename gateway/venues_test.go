package gateway

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kucoinCall sends a KuCoin request signed as KuCoin's clients sign (key
// version 2), or replays the headers of a previous call when h is given.
func (e *env) kucoinCall(c Issued, secret, method, pathQuery, body string, h http.Header) (int, []byte, http.Header) {
	e.t.Helper()
	if h == nil {
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		mac := func(msg string) string {
			m := hmac.New(sha256.New, []byte(secret))
			m.Write([]byte(msg))
			return base64.StdEncoding.EncodeToString(m.Sum(nil))
		}
		h = http.Header{}
		h.Set("KC-API-KEY", c.APIKey)
		h.Set("KC-API-TIMESTAMP", ts)
		h.Set("KC-API-KEY-VERSION", "2")
		h.Set("KC-API-PASSPHRASE", mac(c.Passphrase))
		h.Set("KC-API-SIGN", mac(ts+method+pathQuery+body))
		h.Set("Content-Type", "application/json")
	}
	req, err := http.NewRequest(method, e.srv[KuCoin].URL+pathQuery, strings.NewReader(body))
	must(e.t, err)
	req.Header = h.Clone()
	st, b := e.do(req)
	return st, b, h
}

func (e *env) do(req *http.Request) (int, []byte) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	must(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(e.t, err)
	if strings.Contains(string(b), canary) {
		e.t.Fatal("the venue secret leaked into an answer")
	}
	return resp.StatusCode, b
}

func kucoinCode(t *testing.T, b []byte) (string, string) {
	t.Helper()
	var a struct {
		Code string `json:"code"`
		Msg  string `json:"msg"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("not a KuCoin answer: %s", b)
	}
	return a.Code, a.Msg
}

func TestKuCoinThroughGateway(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("kc-bot", KuCoin, "kucoin-main")
	if bot.Passphrase == "" || bot.Secret == "" {
		t.Fatalf("a KuCoin client needs a secret and a passphrase: %v", bot)
	}
	st, b, _ := e.kucoinCall(bot, bot.Secret, "GET", "/api/v1/accounts", "", nil)
	if code, _ := kucoinCode(t, b); st != 200 || code != "200000" {
		t.Fatalf("accounts: %d %s", st, b)
	}
	order := func(oid, size, price string) string {
		return `{"clientOid":"` + oid + `","symbol":"BTC-USDT","side":"buy","type":"limit","size":"` + size + `","price":"` + price + `"}`
	}
	st, b, h := e.kucoinCall(bot, bot.Secret, "POST", "/api/v1/hf/orders", order("o1", "0.001", "49000"), nil)
	if code, _ := kucoinCode(t, b); st != 200 || code != "200000" {
		t.Fatalf("order: %d %s", st, b)
	}
	if n := len(e.kucoin.Orders("venue-kucoin-main")); n != 1 {
		t.Fatalf("the venue holds %d orders of the venue key; want 1", n)
	}
	// The same signed request again: refused as a replay.
	st, b, _ = e.kucoinCall(bot, "", "POST", "/api/v1/hf/orders", order("o1", "0.001", "49000"), h)
	if code, msg := kucoinCode(t, b); st != 401 || code != "400005" || !strings.Contains(msg, "used before") {
		t.Fatalf("replay: %d %s", st, b)
	}
	st, b, _ = e.kucoinCall(bot, bot.Secret, "POST", "/api/v1/hf/orders", order("o2", "0.1", "49000"), nil)
	if code, msg := kucoinCode(t, b); st != 400 || code != "400200" || !strings.Contains(msg, "order_notional") {
		t.Fatalf("over-cap order: %d %s", st, b)
	}
	st, b, _ = e.kucoinCall(bot, bot.Secret, "POST", "/api/v3/withdrawals", `{"currency":"BTC","toAddress":"x","amount":"1","withdrawType":"ADDRESS"}`, nil)
	if code, msg := kucoinCode(t, b); st != 400 || code != "400303" || !strings.Contains(msg, "rule class") || !strings.Contains(msg, "require more permission") {
		t.Fatalf("withdrawal: %d %s", st, b)
	}
	if len(e.kucoin.Withdrawals()) != 0 {
		t.Fatal("a withdrawal reached the venue")
	}
	st, b, _ = e.kucoinCall(bot, "wrong", "GET", "/api/v1/accounts", "", nil)
	if code, _ := kucoinCode(t, b); st != 401 || code != "400004" {
		t.Fatalf("wrong secret (its passphrase signature fails first): %d %s", st, b)
	}
	// Public market data, unsigned.
	req, _ := http.NewRequest("GET", e.srv[KuCoin].URL+"/api/v1/market/orderbook/level1?symbol=BTC-USDT", nil)
	if st, b := e.do(req); st != 200 || !strings.Contains(string(b), "bestBid") {
		t.Fatalf("level1: %d %s", st, b)
	}
}

// coinbaseJWT builds a CDP JWT for method and the gateway URL u as
// Coinbase's SDKs do (ES256, 120 s, uri "METHOD host/path").
func coinbaseJWT(t testing.TB, c Issued, method string, u *url.URL) string {
	t.Helper()
	block, _ := pem.Decode([]byte(c.Secret))
	if block == nil {
		t.Fatal("the issued secret is not PEM")
	}
	priv, err := x509.ParseECPrivateKey(block.Bytes)
	must(t, err)
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	in := enc(map[string]string{"alg": "ES256", "kid": c.APIKey, "nonce": hex.EncodeToString(nonce), "typ": "JWT"}) + "." +
		enc(map[string]any{"sub": c.APIKey, "iss": "cdp", "nbf": now, "exp": now + 120, "uri": method + " " + u.Host + u.Path})
	d := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, priv, d[:])
	must(t, err)
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (e *env) coinbaseCall(c Issued, method, path, body, token string) (int, []byte, string) {
	e.t.Helper()
	u, err := url.Parse(e.srv[Coinbase].URL + path)
	must(e.t, err)
	if token == "" {
		token = coinbaseJWT(e.t, c, method, u)
	}
	req, err := http.NewRequest(method, u.String(), strings.NewReader(body))
	must(e.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	st, b := e.do(req)
	return st, b, token
}

func TestCoinbaseThroughGateway(t *testing.T) {
	e := newEnv(t, envOpts{})
	bot := e.issue("cb-bot", Coinbase, "coinbase-main")
	if !strings.HasPrefix(bot.APIKey, "organizations/") || !strings.Contains(bot.Secret, "EC PRIVATE KEY") {
		t.Fatalf("a Coinbase client is a CDP key name and an EC private key: %v", bot)
	}
	st, b, _ := e.coinbaseCall(bot, "GET", "/api/v3/brokerage/accounts", "", "")
	if st != 200 || !strings.Contains(string(b), "accounts") {
		t.Fatalf("accounts: %d %s", st, b)
	}
	order := func(oid, size, price string) string {
		return `{"client_order_id":"` + oid + `","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"` + size + `","limit_price":"` + price + `"}}}`
	}
	st, b, tok := e.coinbaseCall(bot, "POST", "/api/v3/brokerage/orders", order("o1", "0.001", "49000"), "")
	if st != 200 || !strings.Contains(string(b), `"success":true`) {
		t.Fatalf("order: %d %s", st, b)
	}
	if n := len(e.coinbase.Orders(coinbaseVenueKey)); n != 1 {
		t.Fatalf("the venue holds %d orders of the venue key; want 1", n)
	}
	// The same token again: refused.
	if st, b, _ = e.coinbaseCall(bot, "POST", "/api/v3/brokerage/orders", order("o2", "0.001", "49000"), tok); st != 401 {
		t.Fatalf("replayed JWT: %d %s", st, b)
	}
	st, b, _ = e.coinbaseCall(bot, "POST", "/api/v3/brokerage/orders", order("o3", "0.1", "49000"), "")
	if st != 403 || !strings.Contains(string(b), "PERMISSION_DENIED") || !strings.Contains(string(b), "order_notional") {
		t.Fatalf("over-cap order: %d %s", st, b)
	}
	st, b, _ = e.coinbaseCall(bot, "POST", "/v2/accounts/btc/transactions", `{"type":"send","to":"x","amount":"1","currency":"BTC"}`, "")
	if st != 403 || !strings.Contains(string(b), "rule class") {
		t.Fatalf("send: %d %s", st, b)
	}
	if len(e.coinbase.Transfers()) != 0 {
		t.Fatal("a transfer reached the venue")
	}
	// Another key under this key name: Coinbase's 401.
	_, other, err := NewClient("other", Coinbase, "coinbase-main", IssueOptions{})
	must(t, err)
	other.APIKey = bot.APIKey
	if st, b, _ = e.coinbaseCall(other, "GET", "/api/v3/brokerage/accounts", "", ""); st != 401 {
		t.Fatalf("wrong key: %d %s", st, b)
	}
}
