package venueauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Binance's documented HMAC example (Spot API, "SIGNED endpoint examples").
const (
	docSecret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
	docQuery  = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	docSig    = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
)

func TestVerifyBinanceDocumentedExample(t *testing.T) {
	lookup := func(k string) (BinanceKey, bool) {
		return BinanceKey{HMACSecret: []byte(docSecret)}, k == "key"
	}
	query := docQuery + "&signature=" + docSig
	params, perr := BinanceParams(query, "")
	if perr != nil {
		t.Fatal(perr)
	}
	at := time.UnixMilli(1499827319559)
	got, verr := VerifyBinance("key", lookup, query, "", params, at.Add(time.Second))
	if verr != nil {
		t.Fatalf("documented example refused: %v", verr)
	}
	if got.Signature != docSig || !got.Expires.Equal(at.Add(5*time.Second)) {
		t.Fatalf("got %+v; want the signature and an expiry 5 s after the timestamp", got)
	}
	// The same request in body form verifies too: query + body is the payload.
	if _, verr := VerifyBinance("key", lookup, "", query, params, at); verr != nil {
		t.Fatalf("body form refused: %v", verr)
	}
	cases := []struct {
		name   string
		apiKey string
		query  string
		now    time.Time
		want   *BinanceError
	}{
		{"no key", "", query, at, BinanceBadKeyFormat},
		{"unknown key", "other", query, at, BinanceRejectedKey},
		{"tampered", "key", "symbol=LTCBTC&side=SELL" + query[len("symbol=LTCBTC&side=BUY"):], at, BinanceBadSignature},
		{"late", "key", query, at.Add(5001 * time.Millisecond), BinanceRecvWindow},
		{"early", "key", query, at.Add(-time.Second), BinanceAhead},
	}
	for _, c := range cases {
		p, _ := BinanceParams(c.query, "")
		if _, verr := VerifyBinance(c.apiKey, lookup, c.query, "", p, c.now); verr != c.want {
			t.Errorf("%s: got %v, want %v", c.name, verr, c.want)
		}
	}
}

func TestBinanceParamsDuplicate(t *testing.T) {
	if _, err := BinanceParams("a=1&a=2", ""); err != BinanceDuplicate {
		t.Fatalf("got %v, want the duplicate error", err)
	}
	p, err := BinanceParams("a=1", "a=2&b=3")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := p.Get("a"); v != "1" || len(p) != 2 {
		t.Fatalf("query must win over the body: %v", p)
	}
}

func TestVerifyKuCoin(t *testing.T) {
	key := KuCoinKey{Secret: []byte("secret"), Passphrase: []byte("pass"), Version: "2"}
	lookup := func(k string) (KuCoinKey, bool) { return key, k == "key" }
	now := time.UnixMilli(1_700_000_000_000)
	ts := "1700000000000"
	uri := "/api/v1/hf/orders?symbol=BTC-USDT"
	h := http.Header{}
	h.Set("KC-API-KEY", "key")
	h.Set("KC-API-TIMESTAMP", ts)
	h.Set("KC-API-KEY-VERSION", "2")
	h.Set("KC-API-PASSPHRASE", KuCoinSignature(key.Secret, "pass"))
	h.Set("KC-API-SIGN", KuCoinSignature(key.Secret, ts+"GET"+uri))
	got, verr := VerifyKuCoin(h, "GET", uri, nil, now, lookup)
	if verr != nil {
		t.Fatalf("refused: %v", verr)
	}
	if got.APIKey != "key" || !got.Expires.Equal(now.Add(KuCoinTimeWindow)) {
		t.Fatalf("got %+v", got)
	}
	if _, verr := VerifyKuCoin(h, "POST", uri, nil, now, lookup); verr != KuCoinSign {
		t.Fatalf("another method: got %v, want the sign error", verr)
	}
	if _, verr := VerifyKuCoin(h, "GET", uri, nil, now.Add(6*time.Second), lookup); verr != KuCoinTimestamp {
		t.Fatalf("late: got %v, want the timestamp error", verr)
	}
	h.Set("KC-API-KEY-VERSION", "3")
	if _, verr := VerifyKuCoin(h, "GET", uri, nil, now, lookup); verr != KuCoinVersion {
		t.Fatalf("wrong version: got %v", verr)
	}
}

func TestVerifyCoinbase(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const kid = "organizations/o/apiKeys/k"
	now := time.Unix(1_700_000_000, 0)
	token := func(uri string) string {
		enc := func(v any) string {
			b, _ := json.Marshal(v)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		in := enc(map[string]string{"alg": "ES256", "kid": kid, "nonce": "n1", "typ": "JWT"}) + "." +
			enc(map[string]any{"sub": kid, "iss": "cdp", "nbf": now.Unix(), "exp": now.Unix() + 120, "uri": uri})
		d := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, priv, d[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return in + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	lookup := func(k string) (crypto.PublicKey, bool) { return &priv.PublicKey, k == kid }
	req := httptest.NewRequest("GET", "http://gw.example/api/v3/brokerage/accounts", nil)
	req.Header.Set("Authorization", "Bearer "+token("GET gw.example/api/v3/brokerage/accounts"))
	got, reason := VerifyCoinbase(req, now, lookup)
	if reason != "" {
		t.Fatalf("refused: %s", reason)
	}
	if got.Kid != kid || got.Nonce != "n1" || !got.Expires.Equal(now.Add(120*time.Second)) {
		t.Fatalf("got %+v", got)
	}
	if _, reason := VerifyCoinbase(req, now.Add(120*time.Second), lookup); reason != "expired" {
		t.Fatalf("at exp: got %q, want expired", reason)
	}
	req.Header.Set("Authorization", "Bearer "+token("GET other.example/api/v3/brokerage/accounts"))
	if _, reason := VerifyCoinbase(req, now, lookup); reason != "uri does not match the request" {
		t.Fatalf("other host: got %q", reason)
	}
}
