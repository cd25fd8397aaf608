package exchangetest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"strconv"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/internal/venueauth"
)

// BinanceKey is an API key the simulated Binance accepts. Exactly one of
// HMACSecret and PublicKey is set: an HMAC key is verified with its secret,
// an Ed25519 or RSA key with its public half, as on Binance.
type BinanceKey struct {
	APIKey     string
	HMACSecret []byte
	// PublicKey is an ed25519.PublicKey or an *rsa.PublicKey.
	PublicKey crypto.PublicKey
	// Permissions are what the key may do: Read for account data, Trade
	// for orders and cancels, Withdraw for withdrawals. They are served by
	// GET /sapi/v1/account/apiRestrictions.
	Permissions exchange.Permissions
}

// String describes the key without its secret.
func (k BinanceKey) String() string {
	kind := "hmac"
	switch k.PublicKey.(type) {
	case ed25519.PublicKey:
		kind = "ed25519"
	case *rsa.PublicKey:
		kind = "rsa"
	}
	return "binance key " + k.APIKey + " (" + kind + ")"
}

// GoString is String, so that %#v does not print the secret either.
func (k BinanceKey) GoString() string { return k.String() }

// keyEntry is a registered key.
type keyEntry struct {
	key     BinanceKey
	created time.Time
}

// apiError is an error answer: HTTP status, Binance code and message.
type apiError struct {
	status int
	code   int
	msg    string
}

func (e *apiError) Error() string { return strconv.Itoa(e.code) + " " + e.msg }

// fromVenueAuth is the simulator's form of a verifier's answer.
func fromVenueAuth(e *venueauth.BinanceError) *apiError {
	if e == nil {
		return nil
	}
	return &apiError{e.Status, e.Code, e.Msg}
}

func errMandatory(name string) *apiError { return fromVenueAuth(venueauth.BinanceMandatory(name)) }

var errRejectedKey = fromVenueAuth(venueauth.BinanceRejectedKey)

// rawParts are the query and body of a request as received on the wire.
type rawParts struct {
	query string
	body  string
}

// permitted reports whether the key's permissions allow an endpoint that
// needs perm.
func permitted(p exchange.Permissions, perm permission) bool {
	switch perm {
	case permRead:
		return p.Read
	case permTrade:
		return p.Trade
	case permWithdraw:
		return p.Withdraw
	}
	return true
}

// permission is what an endpoint requires of a key.
type permission int

const (
	permNone permission = iota
	permRead
	permTrade
	permWithdraw
)
