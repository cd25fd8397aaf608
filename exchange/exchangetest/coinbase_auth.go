package exchangetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// CoinbaseKey is a CDP API key the simulated Coinbase accepts: its name
// (organizations/{org}/apiKeys/{id}), the public half of its ECDSA P-256
// or Ed25519 key, and its permissions (Read = can_view, Trade =
// can_trade, Transfer or Withdraw = can_transfer).
type CoinbaseKey struct {
	Name string
	// PublicKey is an *ecdsa.PublicKey on P-256 or an ed25519.PublicKey.
	PublicKey   crypto.PublicKey
	Permissions exchange.Permissions
}

// String describes the key.
func (k CoinbaseKey) String() string {
	kind := "unknown"
	switch k.PublicKey.(type) {
	case *ecdsa.PublicKey:
		kind = "ecdsa"
	case ed25519.PublicKey:
		kind = "ed25519"
	}
	return "coinbase key " + k.Name + " (" + kind + ")"
}

// JWT rules of the venue.
const (
	cbMaxLifetime = 120 // seconds between nbf and exp
	cbSkew        = 5   // seconds a JWT may be used before its nbf
)

// authenticate verifies the request's CDP JWT as Coinbase does and
// returns the key, or nil and why it refused. The reason never quotes the
// token.
func (cb *Coinbase) authenticate(r *http.Request, now time.Time) (*CoinbaseKey, string) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return nil, "no bearer token"
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, "not a compact JWS"
	}
	raw := make([][]byte, 3)
	for i, p := range parts {
		b, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil {
			return nil, "part is not base64url"
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
		return nil, "header is not JSON"
	}
	if h.Typ != "JWT" {
		return nil, "typ is not JWT"
	}
	if h.Nonce == "" {
		return nil, "no nonce"
	}
	k := cb.keys.get(h.Kid)
	if k == nil {
		return nil, "unknown kid"
	}
	input := []byte(parts[0] + "." + parts[1])
	switch pub := k.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if h.Alg != "ES256" {
			return nil, "alg does not match the key"
		}
		if len(raw[2]) != 64 {
			return nil, "ES256 signature is not 64 bytes of r||s"
		}
		digest := sha256.Sum256(input)
		rr, ss := new(big.Int).SetBytes(raw[2][:32]), new(big.Int).SetBytes(raw[2][32:])
		if !ecdsa.Verify(pub, digest[:], rr, ss) {
			return nil, "bad signature"
		}
	case ed25519.PublicKey:
		if h.Alg != "EdDSA" {
			return nil, "alg does not match the key"
		}
		if len(raw[2]) != ed25519.SignatureSize || !ed25519.Verify(pub, input, raw[2]) {
			return nil, "bad signature"
		}
	default:
		return nil, "key has no usable public key"
	}
	var c struct {
		Sub string `json:"sub"`
		Iss string `json:"iss"`
		Nbf *int64 `json:"nbf"`
		Exp *int64 `json:"exp"`
		URI string `json:"uri"`
	}
	if err := json.Unmarshal(raw[1], &c); err != nil {
		return nil, "claims are not JSON"
	}
	switch {
	case c.Sub != h.Kid:
		return nil, "sub does not match kid"
	case c.Iss != "cdp":
		return nil, "iss is not cdp"
	case c.Nbf == nil || c.Exp == nil:
		return nil, "nbf or exp missing"
	case *c.Exp <= *c.Nbf || *c.Exp-*c.Nbf > cbMaxLifetime:
		return nil, "lifetime is not within 120 s"
	case now.Unix() >= *c.Exp:
		return nil, "expired"
	case now.Unix() < *c.Nbf-cbSkew:
		return nil, "not yet valid"
	case c.URI != r.Method+" "+r.Host+r.URL.Path:
		return nil, "uri does not match the request"
	}
	return k, ""
}

// ParseCoinbaseKeyFlag parses a --key value of `keyfence sim --venue
// coinbase`, NAME:@PUBLIC_KEY.pem: the CDP key name
// (organizations/{org}/apiKeys/{id}) and a file holding its public key as
// a PEM "PUBLIC KEY" block (ECDSA P-256 or Ed25519). The key may view and
// trade, and cannot transfer. The key name may hold colons; the last ":@"
// separates the file. Errors wrap ErrBadFlag.
func ParseCoinbaseKeyFlag(s string) (CoinbaseKey, error) {
	i := strings.LastIndex(s, ":@")
	if i <= 0 || i+2 >= len(s) {
		return CoinbaseKey{}, fmt.Errorf("%w: --key wants NAME:@PUBLIC_KEY.pem for coinbase", ErrBadFlag)
	}
	name, file := s[:i], s[i+2:]
	b, err := os.ReadFile(file)
	if err != nil {
		return CoinbaseKey{}, fmt.Errorf("%w: --key %s: reading the key file: %w", ErrBadFlag, name, err)
	}
	pub, err := ParseCoinbasePublicKey(b)
	if err != nil {
		return CoinbaseKey{}, fmt.Errorf("%w: --key %s: %s: %w", ErrBadFlag, name, file, err)
	}
	return CoinbaseKey{Name: name, PublicKey: pub, Permissions: commandLinePermissions}, nil
}

// ParseCoinbasePublicKey decodes a PEM "PUBLIC KEY" block holding an
// ECDSA P-256 or Ed25519 public key.
func ParseCoinbasePublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("no PEM PUBLIC KEY block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the public key: %w", err)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("ECDSA key is not on P-256")
		}
		return k, nil
	case ed25519.PublicKey:
		return k, nil
	}
	return nil, fmt.Errorf("%T is not an ECDSA P-256 or Ed25519 key", pub)
}
