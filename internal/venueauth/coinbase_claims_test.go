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
		d := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, ec, d[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return in + "." + base64.RawURLEncoding.EncodeToString(sig)
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
