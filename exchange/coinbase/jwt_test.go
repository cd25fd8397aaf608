package coinbase

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/signer"
)

// simCall sends a request with a bearer token to the simulator and
// returns the HTTP status.
func simCall(t *testing.T, sim *exchangetest.Coinbase, method, path, jwt string) int {
	t.Helper()
	req, err := http.NewRequest(method, sim.URL()+path, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if jwt != "" {
		req.Header.Set("Authorization", "Bearer "+jwt)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// partsOf splits a JWT into its decoded header and claims (kept as raw
// JSON values so that numbers stay exact) and its signature.
func partsOf(t *testing.T, jwt string) (h, c map[string]json.RawMessage, sig []byte) {
	t.Helper()
	p := strings.Split(jwt, ".")
	hb, _ := b64.DecodeString(p[0])
	cb, _ := b64.DecodeString(p[1])
	sig, _ = b64.DecodeString(p[2])
	if json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		t.Fatal("JWT parts are not JSON")
	}
	return h, c, sig
}

func encodeJWT(h, c map[string]json.RawMessage, sig []byte) string {
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	return b64.EncodeToString(hb) + "." + b64.EncodeToString(cb) + "." + b64.EncodeToString(sig)
}

// signJWT signs header and claims with the test's private key, as a
// forger holding the key (or a buggy client) would.
func signJWT(t *testing.T, k *testKey, h, c map[string]json.RawMessage) string {
	t.Helper()
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	var sig []byte
	switch priv := k.priv.(type) {
	case *ecdsa.PrivateKey:
		dg := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, priv, dg[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	case ed25519.PrivateKey:
		sig = ed25519.Sign(priv, []byte(input))
	}
	return input + "." + b64.EncodeToString(sig)
}

func js(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func clone(m map[string]json.RawMessage) map[string]json.RawMessage {
	c := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestSimulatorRejectsTamperedJWT: a JWT changed in any field, or used
// for another request than the one it was minted for, is refused by the
// simulated venue with 401.
func TestSimulatorRejectsTamperedJWT(t *testing.T) {
	for _, kt := range []signer.KeyType{signer.KeyECDSAP256, signer.KeyEd25519} {
		t.Run(string(kt), func(t *testing.T) { testTamper(t, kt) })
	}
}

func testTamper(t *testing.T, kt signer.KeyType) {
	k := newTestKey(t, kt)
	other := newTestKey(t, signer.KeyECDSAP256)
	now := time.Now()
	sim := exchangetest.NewCoinbase(exchangetest.WithCoinbaseClock(func() time.Time { return now }))
	t.Cleanup(sim.Close)
	sim.AddKey(k.simKey(exchange.Permissions{Read: true, Trade: true}))
	otherKey := other.simKey(exchange.Permissions{Read: true})
	otherKey.Name = "organizations/o/apiKeys/other"
	sim.AddKey(otherKey)
	u, _ := url.Parse(sim.URL())
	s := mustScheme(t, sim.URL())
	path := Prefix + "/accounts"
	mint := func() string {
		j, err := s.mintJWT(context.Background(), k.store, k.info, "GET", path, now)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	good := mint()
	if st := simCall(t, sim, "GET", path, good); st != 200 {
		t.Fatalf("untampered JWT: HTTP %d, failures %v", st, sim.AuthFailures())
	}
	otherAlg := "EdDSA"
	if kt == signer.KeyEd25519 {
		otherAlg = "ES256"
	}
	h, c, sig := partsOf(t, good)

	// Changed bytes: the signature no longer matches (or the header no
	// longer names the key).
	type tamper struct {
		name   string
		jwt    func() string
		method string
		path   string
		reason string // "" = any refusal
	}
	withHeader := func(k string, v any) func() string {
		return func() string { hh := clone(h); hh[k] = js(v); return encodeJWT(hh, c, sig) }
	}
	withClaim := func(k string, v any) func() string {
		return func() string { cc := clone(c); cc[k] = js(v); return encodeJWT(h, cc, sig) }
	}
	resigned := func(hm, cm func(h, c map[string]json.RawMessage)) func() string {
		return func() string {
			hh, cc := clone(h), clone(c)
			if hm != nil {
				hm(hh, cc)
			}
			if cm != nil {
				cm(hh, cc)
			}
			return signJWT(t, k, hh, cc)
		}
	}
	nbf := now.Unix()
	cases := []tamper{
		{name: "header alg", jwt: withHeader("alg", otherAlg), reason: "alg does not match the key"},
		{name: "header alg none", jwt: withHeader("alg", "none"), reason: "alg does not match the key"},
		{name: "header kid other key", jwt: withHeader("kid", otherKey.Name)},
		{name: "header kid unknown", jwt: withHeader("kid", "organizations/o/apiKeys/nope"), reason: "unknown kid"},
		{name: "header nonce", jwt: withHeader("nonce", "00112233445566778899aabbccddeeff"), reason: "bad signature"},
		{name: "header typ", jwt: withHeader("typ", "JWS"), reason: "typ is not JWT"},
		{name: "claim sub", jwt: withClaim("sub", otherKey.Name), reason: "bad signature"},
		{name: "claim iss", jwt: withClaim("iss", "coinbase-cloud"), reason: "bad signature"},
		{name: "claim nbf", jwt: withClaim("nbf", nbf-1), reason: "bad signature"},
		{name: "claim exp", jwt: withClaim("exp", nbf+60), reason: "bad signature"},
		{name: "claim uri", jwt: withClaim("uri", "GET "+u.Host+Prefix+"/key_permissions"), reason: "bad signature"},
		{name: "signature byte", jwt: func() string { b := append([]byte(nil), sig...); b[len(b)/2] ^= 1; return encodeJWT(h, c, b) }, reason: "bad signature"},
		{name: "signature truncated", jwt: func() string { return encodeJWT(h, c, sig[:len(sig)-1]) }},
		{name: "padded base64", jwt: func() string { return good + "=" }, reason: "part is not base64url"},
		{name: "two parts", jwt: func() string { return good[:strings.LastIndexByte(good, '.')] }, reason: "not a compact JWS"},
		{name: "no token", jwt: func() string { return "" }, reason: "no bearer token"},
		// A valid JWT used for another request.
		{name: "uri method", jwt: func() string { return good }, method: "POST", path: Prefix + "/orders", reason: "uri does not match the request"},
		{name: "uri path", jwt: func() string { return good }, path: Prefix + "/key_permissions", reason: "uri does not match the request"},
		// Correctly signed, but wrong claims.
		{name: "signed: sub not kid", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { c["sub"] = js(otherKey.Name) }), reason: "sub does not match kid"},
		{name: "signed: iss", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { c["iss"] = js("coinbase") }), reason: "iss is neither cdp nor coinbase-cloud"},
		{name: "signed: aud", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { c["aud"] = js([]string{"other_service"}) }), reason: "aud names no Coinbase API"},
		{name: "signed: uri and uris", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { c["uris"] = js([]string{"GET " + u.Host + path}) }), reason: "the claims must hold either uri or uris"},
		// The same token again, once the simulator has accepted it: a replay.
		{name: "replayed token", jwt: func() string { return good }, reason: "nonce already used"},
		{name: "signed: lifetime 121 s", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { c["exp"] = js(nbf + 121) }), reason: "lifetime is not within 120 s"},
		{name: "signed: expired", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { c["nbf"], c["exp"] = js(nbf-121), js(nbf-1) }), reason: "expired"},
		{name: "signed: exp now", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { c["nbf"], c["exp"] = js(nbf-120), js(nbf) }), reason: "expired"},
		{name: "signed: not yet valid", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { c["nbf"], c["exp"] = js(nbf+60), js(nbf+120) }), reason: "not yet valid"},
		{name: "signed: no exp", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { delete(c, "exp") }), reason: "nbf or exp missing"},
		{name: "signed: float nbf", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { c["nbf"] = json.RawMessage("1.5") }), reason: "claims are not JSON"},
		{name: "signed: other host", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { c["uri"] = js("GET api.coinbase.com" + path) }), reason: "uri does not match the request"},
		{name: "signed: uri with query", jwt: resigned(nil, func(_, c map[string]json.RawMessage) { c["uri"] = js("GET " + u.Host + path + "?limit=1") }), reason: "uri does not match the request"},
		{name: "signed: no nonce", jwt: resigned(func(h, _ map[string]json.RawMessage) { delete(h, "nonce") }, nil), reason: "no nonce"},
	}
	if kt == signer.KeyECDSAP256 {
		cases = append(cases, tamper{name: "DER signature", reason: "ES256 signature is not 64 bytes of r||s", jwt: func() string {
			der, err := signer.ECDSARawToDER(sig)
			if err != nil {
				t.Fatal(err)
			}
			return encodeJWT(h, c, der)
		}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method, p := "GET", path
			if tc.method != "" {
				method = tc.method
			}
			if tc.path != "" {
				p = tc.path
			}
			n := len(sim.AuthFailures())
			if st := simCall(t, sim, method, p, tc.jwt()); st != http.StatusUnauthorized {
				t.Fatalf("HTTP %d, want 401", st)
			}
			f := sim.AuthFailures()
			if len(f) != n+1 || (tc.reason != "" && f[n] != tc.reason) {
				t.Errorf("refused for %v, want %q", f[n:], tc.reason)
			}
		})
	}
	// A fresh untampered JWT still works: the table did not pass by accident.
	if st := simCall(t, sim, "GET", path, mint()); st != 200 {
		t.Fatalf("untampered JWT after the table: HTTP %d", st)
	}
}
