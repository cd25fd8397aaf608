package coinbase

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
)

func mustScheme(t testing.TB, base string) *Scheme {
	t.Helper()
	s, err := NewScheme(base)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// decodeJWT splits a compact JWS and decodes its header and claims into
// generic maps, failing on anything but three base64url parts.
func decodeJWT(t *testing.T, jwt string) (header, claims map[string]any, input, sig []byte) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT has %d parts", len(parts))
	}
	raw := make([][]byte, 3)
	for i, p := range parts {
		b, err := b64.Strict().DecodeString(p)
		if err != nil {
			t.Fatalf("part %d is not unpadded base64url: %v", i, err)
		}
		raw[i] = b
	}
	dec := func(b []byte) map[string]any {
		m := map[string]any{}
		dj := json.NewDecoder(bytes.NewReader(b))
		dj.UseNumber()
		if err := dj.Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	return dec(raw[0]), dec(raw[1]), []byte(parts[0] + "." + parts[1]), raw[2]
}

func TestMintJWT(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		kt  signer.KeyType
		alg string
	}{{signer.KeyECDSAP256, "ES256"}, {signer.KeyEd25519, "EdDSA"}} {
		t.Run(tc.alg, func(t *testing.T) {
			k := newTestKey(t, tc.kt)
			s := mustScheme(t, "https://api.coinbase.com")
			jwt, err := s.MintJWT(context.Background(), k.store, k.info, "POST", "/api/v3/brokerage/orders", now)
			if err != nil {
				t.Fatal(err)
			}
			h, c, input, sig := decodeJWT(t, jwt)
			if len(h) != 4 || h["alg"] != tc.alg || h["kid"] != keyName || h["typ"] != "JWT" {
				t.Errorf("header %v", h)
			}
			nonce, _ := h["nonce"].(string)
			if b, err := hex.DecodeString(nonce); err != nil || len(b) != 16 {
				t.Errorf("nonce %q is not 16 random bytes in hex", nonce)
			}
			want := map[string]any{"sub": keyName, "iss": "cdp", "nbf": json.Number("1700000000"), "exp": json.Number("1700000120"),
				"uri": "POST api.coinbase.com/api/v3/brokerage/orders"}
			if len(c) != len(want) {
				t.Errorf("claims %v", c)
			}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("claim %s = %v, want %v", k, c[k], v)
				}
			}
			// The header's field order is alg, kid, nonce, typ.
			hj, _ := b64.DecodeString(strings.Split(jwt, ".")[0])
			if !bytes.HasPrefix(hj, []byte(`{"alg":"`+tc.alg+`","kid":`)) {
				t.Errorf("header JSON %s", hj)
			}
			switch pub := k.info.Public.(type) {
			case *ecdsa.PublicKey:
				if len(sig) != 64 {
					t.Fatalf("ES256 signature has %d bytes, want r||s of 64", len(sig))
				}
				dg := sha256.Sum256(input)
				if !ecdsa.Verify(pub, dg[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
					t.Error("ES256 signature does not verify with the public key")
				}
			case ed25519.PublicKey:
				if !ed25519.Verify(pub, input, sig) {
					t.Error("EdDSA signature does not verify with the public key")
				}
			default:
				t.Fatalf("public key %T", pub)
			}
			// Two JWTs for the same request differ by their nonce.
			again, err := s.MintJWT(context.Background(), k.store, k.info, "POST", "/api/v3/brokerage/orders", now)
			if err != nil || again == jwt {
				t.Errorf("second JWT identical or failed: %v", err)
			}
		})
	}
}

func TestMintJWTRefusesOtherKeys(t *testing.T) {
	s := mustScheme(t, "")
	k := newTestKey(t, signer.KeyECDSAP256)
	noName := k.info
	noName.APIKey = ""
	if _, err := s.MintJWT(context.Background(), k.store, noName, "GET", "/x", time.Now()); err == nil || !strings.Contains(err.Error(), "API key name") {
		t.Errorf("no key name: %v", err)
	}
	hm := signer.NewMemory()
	t.Cleanup(func() { _ = hm.Close() })
	if err := hm.Import(signer.KeyInfo{Name: "h", Venue: Venue, APIKey: keyName, Type: signer.KeyHMAC}, []byte("not-a-cdp-key"), nil); err != nil {
		t.Fatal(err)
	}
	info, _ := hm.Info(context.Background(), "h")
	if _, err := s.MintJWT(context.Background(), hm, info, "GET", "/x", time.Now()); err == nil || !strings.Contains(err.Error(), "ecdsa") {
		t.Errorf("hmac key: %v", err)
	}
}

func TestNewSchemeBaseURL(t *testing.T) {
	for _, tc := range []struct {
		base, host string
		ok         bool
	}{
		{"", "api.coinbase.com", true},
		{"https://api.coinbase.com", "api.coinbase.com", true},
		{"http://127.0.0.1:8080/", "127.0.0.1:8080", true},
		{"https://api.coinbase.com/api/v3", "", false},
		{"ftp://x", "", false},
		{"api.coinbase.com", "", false},
	} {
		s, err := NewScheme(tc.base)
		if (err == nil) != tc.ok || (tc.ok && s.Host() != tc.host) {
			t.Errorf("%q: %v", tc.base, err)
		}
	}
}

func TestClassify(t *testing.T) {
	s := mustScheme(t, "")
	for _, tc := range []struct {
		method, path string
		class        exchange.Class // "" = unknown
		signed       bool
	}{
		{"GET", Prefix + "/time", exchange.ClassPublic, false},
		{"GET", Prefix + "/market/products/BTC-USD/ticker", exchange.ClassPublic, false},
		{"GET", Prefix + "/products", exchange.ClassRead, true},
		{"GET", Prefix + "/products/BTC-USD", exchange.ClassRead, true},
		{"GET", Prefix + "/products/BTC-USD/ticker", exchange.ClassRead, true},
		{"GET", Prefix + "/best_bid_ask", exchange.ClassRead, true},
		{"GET", Prefix + "/product_book", exchange.ClassRead, true},
		{"GET", Prefix + "/accounts", exchange.ClassRead, true},
		{"GET", Prefix + "/orders/historical/batch", exchange.ClassRead, true},
		{"GET", Prefix + "/orders/historical/fills", exchange.ClassRead, true},
		{"GET", Prefix + "/orders/historical/0000-abc", exchange.ClassRead, true},
		{"GET", Prefix + "/key_permissions", exchange.ClassRead, true},
		{"POST", Prefix + "/orders", exchange.ClassTrade, true},
		{"POST", Prefix + "/orders/preview", exchange.ClassTrade, true},
		{"POST", Prefix + "/orders/edit", exchange.ClassTrade, true},
		{"POST", Prefix + "/orders/edit_preview", exchange.ClassTrade, true},
		{"POST", Prefix + "/orders/close_position", exchange.ClassTrade, true},
		{"POST", Prefix + "/convert/quote", exchange.ClassTrade, true},
		{"POST", Prefix + "/convert/trade/abc", exchange.ClassTrade, true},
		{"POST", Prefix + "/orders/batch_cancel", exchange.ClassCancel, true},
		{"POST", Prefix + "/portfolios/move_funds", exchange.ClassTransfer, true},
		{"POST", Prefix + "/intx/allocate", exchange.ClassTransfer, true},
		{"POST", Prefix + "/cfm/sweeps/schedule", exchange.ClassTransfer, true},
		{"POST", "/v2/accounts/abc-123/transactions", exchange.ClassWithdraw, true},
		{"POST", "/v2/accounts/abc-123/withdrawals", exchange.ClassWithdraw, true},
		{"PUT", Prefix + "/orders", "", false},
		{"GET", Prefix + "/orders", "", false},
		{"POST", Prefix + "/orders/", "", false},
		{"POST", Prefix + "//orders", "", false},
		{"POST", Prefix + "/orders/../orders", "", false},
		{"POST", Prefix + "/%6Frders", "", false},
		{"GET", Prefix + "/orders/historical/a/b", "", false},
		{"GET", Prefix + "/portfolios", "", false},
		{"GET", "/v2/accounts", exchange.ClassRead, true},
		{"GET", "/v2/accounts/abc-123", "", false},
		{"GET", "/v2/accounts/abc-123/transactions", "", false},
		{"GET", "/v2/user", "", false},
	} {
		r, err := s.Classify(&exchange.Request{Method: tc.method, Path: tc.path})
		if tc.class == "" {
			if !errors.Is(err, exchange.ErrUnknownEndpoint) {
				t.Errorf("%s %s: %v, want ErrUnknownEndpoint", tc.method, tc.path, err)
			}
			continue
		}
		if err != nil || r.Class != tc.class || r.Signed != tc.signed || r.Cost.Weight != 1 {
			t.Errorf("%s %s: %+v %v", tc.method, tc.path, r, err)
		}
	}
	r, _ := s.Classify(&exchange.Request{Method: "POST", Path: Prefix + "/orders"})
	if r.Cost.Orders != 1 {
		t.Errorf("create order cost %+v", r.Cost)
	}
}

// TestSignSendsCheckedBody: the body on the wire is the body the intent
// was parsed from and the audit payload covers, byte for byte, and the
// JWT is only in the Authorization header.
func TestSignSendsCheckedBody(t *testing.T) {
	k := newTestKey(t, signer.KeyECDSAP256)
	s := mustScheme(t, "")
	body := []byte(`{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"50000"}}}`)
	req := &exchange.Request{Credential: "cb", Method: "POST", Path: Prefix + "/orders", Body: body,
		Params: exchange.Params{{Key: "x", Value: "1"}}}
	route, err := s.Classify(req)
	if err != nil {
		t.Fatal(err)
	}
	var in exchange.Intent
	// The intent parser refuses a query on an order route (it is sent
	// unsigned and never read); the scheme still signs what it is given.
	if err := s.Intent(req, route, &in); !errors.Is(err, exchange.ErrMalformedRequest) {
		t.Fatalf("a query on an order route: %v", err)
	}
	noQuery := *req
	noQuery.Params = nil
	err = s.Intent(&noQuery, route, &in)
	if err != nil || len(in.Orders) != 1 {
		t.Fatal(in, err)
	}
	now := time.Now()
	payload, err := s.Prepare(nil, req, k.info, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := "POST " + Prefix + "/orders?x=1\n" + string(body); string(payload) != want {
		t.Fatalf("payload %q", payload)
	}
	w := new(exchange.Wire)
	err = s.Sign(context.Background(), k.store, k.info, req, payload, now, w)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Body, body) || w.Query != "x=1" || w.Header.Get("Content-Type") != "application/json" {
		t.Errorf("wire %+v", w)
	}
	jwt, ok := strings.CutPrefix(w.Header.Get("Authorization"), "Bearer ")
	if !ok || bytes.Contains(payload, []byte(jwt)) {
		t.Error("JWT missing, or inside the audited payload")
	}
	_, c, _, _ := decodeJWT(t, jwt)
	if c["uri"] != "POST api.coinbase.com"+Prefix+"/orders" {
		t.Errorf("uri %v (no query string expected)", c["uri"])
	}
	// A body changed after Prepare is refused.
	req.Body = bytes.Replace(body, []byte("0.001"), []byte("1.000"), 1)
	if err := s.Sign(context.Background(), k.store, k.info, req, payload, now, &exchange.Wire{}); err == nil {
		t.Error("Sign accepted a body that changed after Prepare")
	}
	// A caller cannot smuggle its own Authorization header.
	req2 := &exchange.Request{Method: "GET", Path: Prefix + "/accounts", Header: exchange.Header{{Name: "Authorization", Value: "Bearer x"}}}
	if _, err := s.Prepare(nil, req2, k.info, now); !errors.Is(err, exchange.ErrMalformedRequest) {
		t.Errorf("own Authorization header: %v", err)
	}
	// Public routes go unsigned.
	pub := &exchange.Request{Method: "GET", Path: Prefix + "/time"}
	p, _ := s.Prepare(nil, pub, k.info, now)
	w = &exchange.Wire{}
	err = s.Sign(context.Background(), k.store, k.info, pub, p, now, w)
	if err != nil || w.Header.Get("Authorization") != "" {
		t.Errorf("public route signed: %v", err)
	}
}

// TestAuthorizerBodyIsTheCheckedBody runs the full Authorizer: a caller
// that changes its request after handing it over changes nothing on the
// wire.
func TestAuthorizerBodyIsTheCheckedBody(t *testing.T) {
	k := newTestKey(t, signer.KeyECDSAP256)
	g, a := &recorder{}, &memAudit{}
	auth := &exchange.Authorizer{Scheme: mustScheme(t, ""), Signer: k.store, Guard: g, Audit: a}
	body := []byte(`{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}`)
	req := &exchange.Request{Credential: "cb", Method: "POST", Path: Prefix + "/orders", Body: bytes.Clone(body)}
	out, err := auth.Authorize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	copy(req.Body, bytes.Repeat([]byte("x"), len(req.Body)))
	if !bytes.Equal(out.Wire.Body, body) {
		t.Error("the wire body follows the caller's buffer")
	}
	sum := sha256.Sum256(append([]byte("POST "+Prefix+"/orders\n"), body...))
	recs := a.records()
	if len(recs) != 1 || recs[0].PayloadSHA256 != sum {
		t.Errorf("audit payload hash does not cover the sent body: %+v", recs)
	}
	if !g.intents[0].Orders[0].QuoteQuantity.Equal(d("10")) {
		t.Errorf("intent %+v", g.intents[0])
	}
}
