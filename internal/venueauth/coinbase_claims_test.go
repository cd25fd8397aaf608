package venueauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// TestVerifyCoinbaseClaims holds VerifyCoinbase to the tokens Coinbase's
// clients build: the documentation's (iss cdp, uri), the Advanced Trade Go
// SDK's and CCXT's ES256 ones (iss coinbase-cloud, aud
// retail_rest_api_proxy, iat, uri), CCXT's and the CDP SDK's EdDSA ones
// (iss cdp, aud cdp_service, uris); and refuses everything else.
func TestVerifyCoinbaseClaims(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const kid = "organizations/o/apiKeys/k"
	now := time.Unix(1_700_000_000, 0)
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	mint := func(ed bool, claims map[string]any) string {
		alg := "ES256"
		if ed {
			alg = "EdDSA"
		}
		in := enc(map[string]string{"alg": alg, "kid": kid, "nonce": "6e6f6e6365", "typ": "JWT"}) + "." + enc(claims)
		if ed {
			return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(edPriv, []byte(in)))
		}
		return in + "." + es256(t, ec, in)
	}
	base := func(iss string) map[string]any {
		return map[string]any{"sub": kid, "iss": iss, "nbf": now.Unix(), "exp": now.Unix() + 120}
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	const path = "/api/v3/brokerage/accounts"
	uri := "GET gw.example" + path
	for _, tc := range []struct {
		name   string
		ed     bool
		claims map[string]any
		tls    bool
		reason string
	}{
		{name: "documented", claims: with(base("cdp"), "uri", uri)},
		{name: "go sdk and ccxt es256", claims: with(base("coinbase-cloud"), "aud", []string{"retail_rest_api_proxy"}, "iat", now.Unix(), "uri", uri)},
		{name: "ccxt eddsa", ed: true, claims: with(base("cdp"), "aud", []string{"cdp_service"}, "iat", now.Unix(), "uris", []string{uri})},
		{name: "aud as a string", claims: with(base("cdp"), "aud", "retail_rest_api_proxy", "uri", uri)},
		{name: "plain-http spelling", claims: with(base("coinbase-cloud"), "uri", "GET http://gw.example"+path)},
		{name: "plain-http spelling over tls", tls: true, claims: with(base("cdp"), "uri", "GET http://gw.example"+path), reason: "uri does not match the request"},
		{name: "https spelling", claims: with(base("cdp"), "uri", "GET https://gw.example"+path), reason: "uri does not match the request"},
		{name: "other issuer", claims: with(base("coinbase"), "uri", uri), reason: "iss is neither cdp nor coinbase-cloud"},
		{name: "other audience", claims: with(base("cdp"), "aud", []string{"other"}, "uri", uri), reason: "aud names no Coinbase API"},
		{name: "audience not a string", claims: with(base("cdp"), "aud", 7, "uri", uri), reason: "aud names no Coinbase API"},
		{name: "no uri", claims: base("cdp"), reason: "the claims must hold either uri or uris"},
		{name: "uri and uris", claims: with(base("cdp"), "uri", uri, "uris", []string{uri}), reason: "the claims must hold either uri or uris"},
		{name: "uris for another path", ed: true, claims: with(base("cdp"), "uris", []string{"GET gw.example/api/v3/brokerage/orders"}), reason: "uri does not match the request"},
		{name: "empty uris", ed: true, claims: with(base("cdp"), "uris", []string{}), reason: "uri does not match the request"},
		{name: "uri with the query", claims: with(base("cdp"), "uri", uri+"?limit=250"), reason: "uri does not match the request"},
		{name: "other method", claims: with(base("cdp"), "uri", "POST gw.example"+path), reason: "uri does not match the request"},
		{name: "expired", claims: with(base("cdp"), "uri", uri, "nbf", now.Unix()-130, "exp", now.Unix()-10), reason: "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "http://gw.example"+path+"?limit=250", nil)
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			req.Header.Set("Authorization", "Bearer "+mint(tc.ed, tc.claims))
			lookup := func(k string) (crypto.PublicKey, bool) {
				if tc.ed {
					return edPub, k == kid
				}
				return &ec.PublicKey, k == kid
			}
			got, reason := VerifyCoinbase(req, now, lookup)
			if reason != tc.reason {
				t.Fatalf("reason %q, want %q", reason, tc.reason)
			}
			if reason == "" && (got.Kid != kid || got.Nonce != "6e6f6e6365") {
				t.Fatalf("accepted as %+v", got)
			}
		})
	}
}

// FuzzVerifyCoinbaseClaims signs arbitrary claims with a real key: the
// verifier must not panic, and a token it accepts must name an accepted
// issuer, the request's method, host and path, and a lifetime of at most
// 120 s that covers now.
func FuzzVerifyCoinbaseClaims(f *testing.F) {
	const kid = "organizations/o/apiKeys/k"
	for _, s := range []string{
		`{"sub":"` + kid + `","iss":"cdp","nbf":1700000000,"exp":1700000120,"uri":"GET gw.example/p"}`,
		`{"sub":"` + kid + `","iss":"coinbase-cloud","aud":["retail_rest_api_proxy"],"nbf":1700000000,"exp":1700000120,"iat":1700000000,"uri":"GET http://gw.example/p"}`,
		`{"sub":"` + kid + `","iss":"cdp","aud":"cdp_service","nbf":1700000000,"exp":1700000120,"uris":["GET gw.example/q","GET gw.example/p"]}`,
		`{"sub":"` + kid + `","iss":"cdp","nbf":1700000000,"exp":1700000120,"uri":null,"uris":null}`,
		`{"sub":"` + kid + `","iss":"cdp","aud":[1],"nbf":1700000000,"exp":1700000120,"uri":"GET gw.example/p"}`,
	} {
		f.Add(s)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_700_000_060, 0)
	lookup := func(k string) (crypto.PublicKey, bool) { return &ec.PublicKey, k == kid }
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"` + kid + `","nonce":"n","typ":"JWT"}`))
	f.Fuzz(func(t *testing.T, claims string) {
		in := header + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
		req := httptest.NewRequest("GET", "http://gw.example/p?x=1", nil)
		req.Header.Set("Authorization", "Bearer "+in+"."+es256(t, ec, in))
		if _, reason := VerifyCoinbase(req, now, lookup); reason != "" {
			return
		}
		var c struct {
			Iss      string
			Nbf, Exp int64
			URI      *string
			URIs     []string
		}
		if err := json.Unmarshal([]byte(claims), &c); err != nil {
			t.Fatalf("accepted claims that do not decode: %v", err)
		}
		names := func(u string) bool { return u == "GET gw.example/p" || u == "GET http://gw.example/p" }
		named := (c.URI != nil && names(*c.URI)) || (c.URI == nil && slices.ContainsFunc(c.URIs, names))
		if (c.Iss != "cdp" && c.Iss != "coinbase-cloud") || !named || c.Exp-c.Nbf > 120 || now.Unix() >= c.Exp {
			t.Fatalf("accepted %s", claims)
		}
	})
}

// es256 returns the base64url JWS signature of in: ES256, r||s.
func es256(t testing.TB, k *ecdsa.PrivateKey, in string) string {
	t.Helper()
	d := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return base64.RawURLEncoding.EncodeToString(sig)
}
