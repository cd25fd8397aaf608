package venueauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Coinbase's JWT rules.
const (
	CoinbaseMaxLifetime = 120 // seconds between nbf and exp
	CoinbaseSkew        = 5   // seconds a JWT may be used before its nbf
)

// CoinbaseSigned is what VerifyCoinbase found in a token it accepted.
type CoinbaseSigned struct {
	// Kid is the CDP key name.
	Kid string
	// Nonce is the header's nonce.
	Nonce string
	// Expires is the token's exp: a replay before then would be accepted
	// by Coinbase.
	Expires time.Time
}

// VerifyCoinbase verifies the request's CDP JWT (Authorization: Bearer) as
// Coinbase accepts the tokens its documentation, its SDKs and CCXT build:
// a compact JWS of typ JWT with a nonce, signed ES256 (r||s) or EdDSA by
// the key lookup finds for its kid, whose claims have
//   - sub = kid;
//   - iss "cdp" (the documentation, the CDP SDKs) or "coinbase-cloud" (the
//     Advanced Trade Go SDK, CCXT's ES256 tokens);
//   - aud, when present, naming "retail_rest_api_proxy" or "cdp_service";
//   - nbf and exp at most 120 s apart, now before exp and no earlier than
//     5 s before nbf;
//   - uri = "METHOD host/path" of the request, or uris (the CDP SDK's and
//     CCXT's EdDSA tokens) holding it, with no query string. A client that
//     derives host from its base URL by cutting "https://" sends
//     "http://host/path" to a plain-HTTP server; that spelling is accepted
//     when the request did come over plain HTTP.
//
// It returns the token's identity, or why it refused; the reason never
// quotes the token. Whether the nonce was seen before is the caller's.
func VerifyCoinbase(r *http.Request, now time.Time, lookup func(kid string) (crypto.PublicKey, bool)) (CoinbaseSigned, string) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return CoinbaseSigned{}, "no bearer token"
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return CoinbaseSigned{}, "not a compact JWS"
	}
	raw := make([][]byte, 3)
	for i, p := range parts {
		b, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil {
			return CoinbaseSigned{}, "part is not base64url"
		}
		raw[i] = b
	}
	var h struct {
		Alg   string `json:"alg"`
		Kid   string `json:"kid"`
		Nonce string `json:"nonce"`
		Typ   string `json:"typ"`
	}
	if err := json.Unmarshal(raw[0], &h); err != nil {
		return CoinbaseSigned{}, "header is not JSON"
	}
	if h.Typ != "JWT" {
		return CoinbaseSigned{}, "typ is not JWT"
	}
	if h.Nonce == "" {
		return CoinbaseSigned{}, "no nonce"
	}
	pubKey, ok := lookup(h.Kid)
	if !ok {
		return CoinbaseSigned{}, "unknown kid"
	}
	input := []byte(parts[0] + "." + parts[1])
	switch pub := pubKey.(type) {
	case *ecdsa.PublicKey:
		if h.Alg != "ES256" {
			return CoinbaseSigned{}, "alg does not match the key"
		}
		if len(raw[2]) != 64 {
			return CoinbaseSigned{}, "ES256 signature is not 64 bytes of r||s"
		}
		digest := sha256.Sum256(input)
		rr, ss := new(big.Int).SetBytes(raw[2][:32]), new(big.Int).SetBytes(raw[2][32:])
		if !ecdsa.Verify(pub, digest[:], rr, ss) {
			return CoinbaseSigned{}, "bad signature"
		}
	case ed25519.PublicKey:
		if h.Alg != "EdDSA" {
			return CoinbaseSigned{}, "alg does not match the key"
		}
		if len(raw[2]) != ed25519.SignatureSize || !ed25519.Verify(pub, input, raw[2]) {
			return CoinbaseSigned{}, "bad signature"
		}
	default:
		return CoinbaseSigned{}, "key has no usable public key"
	}
	var c struct {
		Sub  string          `json:"sub"`
		Iss  string          `json:"iss"`
		Aud  json.RawMessage `json:"aud"`
		Nbf  *int64          `json:"nbf"`
		Exp  *int64          `json:"exp"`
		URI  *string         `json:"uri"`
		URIs []string        `json:"uris"`
	}
	if err := json.Unmarshal(raw[1], &c); err != nil {
		return CoinbaseSigned{}, "claims are not JSON"
	}
	switch {
	case c.Sub != h.Kid:
		return CoinbaseSigned{}, "sub does not match kid"
	case c.Iss != "cdp" && c.Iss != "coinbase-cloud":
		return CoinbaseSigned{}, "iss is neither cdp nor coinbase-cloud"
	case !coinbaseAudience(c.Aud):
		return CoinbaseSigned{}, "aud names no Coinbase API"
	case c.Nbf == nil || c.Exp == nil:
		return CoinbaseSigned{}, "nbf or exp missing"
	case *c.Exp <= *c.Nbf || *c.Exp-*c.Nbf > CoinbaseMaxLifetime:
		return CoinbaseSigned{}, "lifetime is not within 120 s"
	case now.Unix() >= *c.Exp:
		return CoinbaseSigned{}, "expired"
	case now.Unix() < *c.Nbf-CoinbaseSkew:
		return CoinbaseSigned{}, "not yet valid"
	case (c.URI == nil) == (c.URIs == nil):
		return CoinbaseSigned{}, "the claims must hold either uri or uris"
	case !coinbaseURIMatches(r, c.URI, c.URIs):
		return CoinbaseSigned{}, "uri does not match the request"
	}
	return CoinbaseSigned{Kid: h.Kid, Nonce: h.Nonce, Expires: time.Unix(*c.Exp, 0)}, ""
}

// coinbaseAudiences are the aud values of the tokens Coinbase's clients
// build: the Advanced Trade proxy (ES256 keys) and the CDP service (EdDSA
// keys).
var coinbaseAudiences = []string{"retail_rest_api_proxy", "cdp_service"}

// coinbaseAudience reports whether a token's aud claim (absent, a string
// or a list of strings) is acceptable: absent, or naming a Coinbase API.
func coinbaseAudience(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return true
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		var one string
		if err := json.Unmarshal(raw, &one); err != nil {
			return false
		}
		list = []string{one}
	}
	for _, a := range list {
		if slices.Contains(coinbaseAudiences, a) {
			return true
		}
	}
	return false
}

// coinbaseURIMatches reports whether the uri claim, or one of the uris
// claim, names the request: "METHOD host/path", the path without its
// query, or "METHOD http://host/path" for a request that came over plain
// HTTP.
func coinbaseURIMatches(r *http.Request, uri *string, uris []string) bool {
	want := r.Method + " " + r.Host + r.URL.Path
	plain := ""
	if r.TLS == nil {
		plain = r.Method + " http://" + r.Host + r.URL.Path
	}
	match := func(u string) bool { return u == want || (plain != "" && u == plain) }
	if uri != nil {
		return match(*uri)
	}
	return slices.ContainsFunc(uris, match)
}
