package exchangetest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
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

// Binance's request-security limits.
const (
	defaultRecvWindow = 5000 * time.Millisecond
	maxRecvWindow     = 60000 * time.Millisecond
	futureTolerance   = 1000 * time.Millisecond
)

// apiError is an error answer: HTTP status, Binance code and message.
type apiError struct {
	status int
	code   int
	msg    string
}

func (e *apiError) Error() string { return strconv.Itoa(e.code) + " " + e.msg }

func errMandatory(name string) *apiError {
	return &apiError{http.StatusBadRequest, -1102, "Mandatory parameter '" + name + "' was not sent, was empty/null, or malformed."}
}

var (
	errBadKeyFormat = &apiError{http.StatusUnauthorized, -2014, "API-key format invalid."}
	errRejectedKey  = &apiError{http.StatusUnauthorized, -2015, "Invalid API-key, IP, or permissions for action."}
	errBadSignature = &apiError{http.StatusBadRequest, -1022, "Signature for this request is not valid."}
	errRecvWindow   = &apiError{http.StatusBadRequest, -1021, "Timestamp for this request is outside of the recvWindow."}
	errAhead        = &apiError{http.StatusBadRequest, -1021, "Timestamp for this request was 1000ms ahead of the server's time."}
	errBadRecv      = &apiError{http.StatusBadRequest, -1131, "recvWindow must be less than 60000"}
	errDuplicate    = &apiError{http.StatusBadRequest, -1101, "Duplicate values for a parameter detected."}
)

// rawParts are the query and body of a request as received on the wire.
type rawParts struct {
	query string
	body  string
}

// splitSignature removes the signature parameter from the part that holds
// it and returns the signed payload (query + body with no separator, as on
// the wire) and the decoded signature. The signature must be the last
// parameter of its part and must appear once.
func splitSignature(p rawParts) (payload, sig string, err *apiError) {
	var found int
	strip := func(part string) string {
		segs := strings.Split(part, "&")
		for i, seg := range segs {
			k, v, _ := strings.Cut(seg, "=")
			if k != "signature" {
				continue
			}
			found++
			if i != len(segs)-1 {
				found = 99 // not last: the payload cannot be recovered
				return part
			}
			dv, derr := url.QueryUnescape(v)
			if derr != nil {
				found = 99
				return part
			}
			sig = dv
			return strings.Join(segs[:i], "&")
		}
		return part
	}
	q, b := strip(p.query), strip(p.body)
	switch {
	case found == 0:
		return "", "", errMandatory("signature")
	case found > 1:
		return "", "", errBadSignature
	}
	return q + b, sig, nil
}

// verifySignature checks sig over payload with the key, as Binance does:
// HMAC-SHA256 in hex (any case), Ed25519 or RSASSA-PKCS1-v1_5 SHA-256 in
// standard base64.
func verifySignature(k *BinanceKey, payload, sig string) bool {
	switch pub := k.PublicKey.(type) {
	case ed25519.PublicKey:
		raw, err := base64.StdEncoding.DecodeString(sig)
		return err == nil && len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, []byte(payload), raw)
	case *rsa.PublicKey:
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || pub == nil {
			return false
		}
		sum := sha256.Sum256([]byte(payload))
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], raw) == nil
	case nil:
		if len(k.HMACSecret) == 0 {
			return false
		}
		raw, err := hex.DecodeString(sig)
		if err != nil {
			return false
		}
		mac := hmac.New(sha256.New, k.HMACSecret)
		mac.Write([]byte(payload))
		return hmac.Equal(mac.Sum(nil), raw)
	}
	return false
}

// recvWindowRE admits milliseconds with up to three decimals and no
// exponent, so that no value is expensive to convert.
var recvWindowRE = regexp.MustCompile(`^[0-9]{1,10}(\.[0-9]{1,3})?$`)

// checkTimestamp applies Binance's timing rule to the timestamp and
// recvWindow parameters: accept when timestamp < server + 1 s and
// server − timestamp ≤ recvWindow. Timestamps are in milliseconds, or in
// microseconds when they have 16 digits; recvWindow is in milliseconds
// with up to three decimals.
func checkTimestamp(params exchange.Params, server time.Time) *apiError {
	tsRaw, ok := params.Get("timestamp")
	if !ok || tsRaw == "" {
		return errMandatory("timestamp")
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil || ts <= 0 {
		return errMandatory("timestamp")
	}
	var at time.Time
	if ts >= 1e14 {
		at = time.UnixMicro(ts)
	} else {
		at = time.UnixMilli(ts)
	}
	window := defaultRecvWindow
	if rw, ok := params.Get("recvWindow"); ok {
		if !recvWindowRE.MatchString(rw) {
			return errBadRecv
		}
		d, err := decimal.NewFromString(rw)
		if err != nil || d.Sign() <= 0 {
			return errBadRecv
		}
		window = time.Duration(d.Mul(decimal.NewFromInt(int64(time.Millisecond))).IntPart())
		if window > maxRecvWindow {
			return errBadRecv
		}
	}
	if !at.Before(server.Add(futureTolerance)) {
		return errAhead
	}
	if server.Sub(at) > window {
		return errRecvWindow
	}
	return nil
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
