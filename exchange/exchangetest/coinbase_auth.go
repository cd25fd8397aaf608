package exchangetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"net/http"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/internal/venueauth"
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

// authenticate verifies the request's CDP JWT as Coinbase does
// (venueauth.VerifyCoinbase), refuses a nonce its key already used in a
// token that has not expired yet (a replay), and returns the key, or nil
// and why it refused. The reason never quotes the token.
func (cb *Coinbase) authenticate(r *http.Request, now time.Time) (*CoinbaseKey, string) {
	var k *CoinbaseKey
	lookup := func(kid string) (crypto.PublicKey, bool) {
		k = cb.keys.get(kid)
		if k == nil {
			return nil, false
		}
		return k.PublicKey, true
	}
	signed, reason := venueauth.VerifyCoinbase(r, now, lookup)
	if reason != "" {
		return nil, reason
	}
	if !cb.freshNonce(signed, now) {
		return nil, "nonce already used"
	}
	return k, ""
}

// freshNonce records the nonce of an accepted token until the token
// expires and reports whether the key had not used it in a token that is
// still valid. Records are dropped in the order they were made once their
// token expired, so the record holds about two minutes of tokens and each
// call costs only what it drops.
func (cb *Coinbase) freshNonce(s venueauth.CoinbaseSigned, now time.Time) bool {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	for len(cb.nonceOrder) > 0 {
		r := cb.nonceOrder[0]
		if now.Before(r.expires) {
			break
		}
		if exp, ok := cb.nonces[r.id]; ok && exp.Equal(r.expires) {
			delete(cb.nonces, r.id)
		}
		cb.nonceOrder[0] = nonceRecord{}
		cb.nonceOrder = cb.nonceOrder[1:]
	}
	id := s.Kid + "\x00" + s.Nonce
	if exp, seen := cb.nonces[id]; seen && now.Before(exp) {
		return false
	}
	cb.nonces[id] = s.Expires
	cb.nonceOrder = append(cb.nonceOrder, nonceRecord{id: id, expires: s.Expires})
	return true
}

// nonceRecord is one accepted token's nonce, in the order accepted.
type nonceRecord struct {
	id      string
	expires time.Time
}
