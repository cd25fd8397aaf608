package venueauth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// BinanceKey is what verifies the signatures of one Binance API key:
// exactly one of HMACSecret and PublicKey is set, as on Binance.
type BinanceKey struct {
	HMACSecret []byte
	// PublicKey is an ed25519.PublicKey or an *rsa.PublicKey.
	PublicKey crypto.PublicKey
}

// String describes the key without its secret.
func (k BinanceKey) String() string {
	switch k.PublicKey.(type) {
	case ed25519.PublicKey:
		return "binance verification key (ed25519)"
	case *rsa.PublicKey:
		return "binance verification key (rsa)"
	}
	return "binance verification key (hmac)"
}

// GoString is String, so that %#v does not print the secret either.
func (k BinanceKey) GoString() string { return k.String() }

// Binance's request-security limits.
const (
	BinanceDefaultRecvWindow = 5000 * time.Millisecond
	BinanceMaxRecvWindow     = 60000 * time.Millisecond
	BinanceFutureTolerance   = 1000 * time.Millisecond
)

// BinanceError is a Binance error answer: HTTP status, Binance code and
// message.
type BinanceError struct {
	Status int
	Code   int
	Msg    string
}

func (e *BinanceError) Error() string { return strconv.Itoa(e.Code) + " " + e.Msg }

// Body is the error as Binance answers it: {"code":C,"msg":"M"}.
func (e *BinanceError) Body() []byte {
	b, _ := json.Marshal(struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}{e.Code, e.Msg})
	return b
}

// BinanceMandatory is Binance's answer to a missing parameter.
func BinanceMandatory(name string) *BinanceError {
	return &BinanceError{http.StatusBadRequest, -1102, "Mandatory parameter '" + name + "' was not sent, was empty/null, or malformed."}
}

// Binance's authentication and parameter errors.
var (
	BinanceBadKeyFormat = &BinanceError{http.StatusUnauthorized, -2014, "API-key format invalid."}
	BinanceRejectedKey  = &BinanceError{http.StatusUnauthorized, -2015, "Invalid API-key, IP, or permissions for action."}
	BinanceBadSignature = &BinanceError{http.StatusBadRequest, -1022, "Signature for this request is not valid."}
	BinanceRecvWindow   = &BinanceError{http.StatusBadRequest, -1021, "Timestamp for this request is outside of the recvWindow."}
	BinanceAhead        = &BinanceError{http.StatusBadRequest, -1021, "Timestamp for this request was 1000ms ahead of the server's time."}
	BinanceBadRecv      = &BinanceError{http.StatusBadRequest, -1131, "recvWindow must be less than 60000"}
	BinanceDuplicate    = &BinanceError{http.StatusBadRequest, -1101, "Duplicate values for a parameter detected."}
	BinanceIllegal      = &BinanceError{http.StatusBadRequest, -1100, "Illegal characters found in a parameter."}
)

// BinanceParams decodes the query and the body as Binance does. A
// parameter sent in both takes the query's value; one sent twice in the
// same part is refused.
func BinanceParams(query, body string) (exchange.Params, *BinanceError) {
	q, err := exchange.ParseParams(query)
	if err != nil {
		return nil, BinanceIllegal
	}
	bd, err := exchange.ParseParams(body)
	if err != nil {
		return nil, BinanceIllegal
	}
	seen := make(map[string]bool, len(q)+len(bd))
	var out exchange.Params
	for _, part := range []exchange.Params{q, bd} {
		inPart := make(map[string]bool, len(part))
		for _, kv := range part {
			if inPart[kv.Key] {
				return nil, BinanceDuplicate
			}
			inPart[kv.Key] = true
			if !seen[kv.Key] {
				seen[kv.Key] = true
				out = append(out, kv)
			}
		}
	}
	return out, nil
}

// BinanceSigned is what VerifyBinance found in a request it accepted.
type BinanceSigned struct {
	// Signature is the signature parameter, decoded from the URL.
	Signature string
	// Expires is when the request leaves its receive window: a replay of
	// the same signature before then would be accepted by Binance.
	Expires time.Time
}

// VerifyBinance checks a signed Binance request as Binance does, in this
// order: the API key is sent (X-MBX-APIKEY) and known to lookup; the
// signature is the last parameter of the query or the body and appears
// once; timestamp is sent; the signature covers query + body (without the
// signature, with no separator) under the key; timestamp and recvWindow
// admit the request at now. query and body are as received; params are
// both merged (BinanceParams).
func VerifyBinance(apiKey string, lookup func(apiKey string) (BinanceKey, bool), query, body string, params exchange.Params, now time.Time) (BinanceSigned, *BinanceError) {
	if apiKey == "" {
		return BinanceSigned{}, BinanceBadKeyFormat
	}
	k, ok := lookup(apiKey)
	if !ok {
		return BinanceSigned{}, BinanceRejectedKey
	}
	payload, sig, aerr := splitBinanceSignature(query, body)
	if aerr != nil {
		return BinanceSigned{}, aerr
	}
	if !params.Has("timestamp") {
		return BinanceSigned{}, BinanceMandatory("timestamp")
	}
	if !verifyBinanceSignature(&k, payload, sig) {
		return BinanceSigned{}, BinanceBadSignature
	}
	exp, aerr := checkBinanceTimestamp(params, now)
	if aerr != nil {
		return BinanceSigned{}, aerr
	}
	return BinanceSigned{Signature: sig, Expires: exp}, nil
}

// splitBinanceSignature removes the signature parameter from the part
// that holds it and returns the signed payload (query + body with no
// separator, as on the wire) and the decoded signature. The signature must
// be the last parameter of its part and must appear once.
func splitBinanceSignature(query, body string) (payload, sig string, err *BinanceError) {
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
	q, b := strip(query), strip(body)
	switch {
	case found == 0:
		return "", "", BinanceMandatory("signature")
	case found > 1:
		return "", "", BinanceBadSignature
	}
	return q + b, sig, nil
}

// verifyBinanceSignature checks sig over payload with the key, as Binance
// does: HMAC-SHA256 in hex (any case), Ed25519 or RSASSA-PKCS1-v1_5
// SHA-256 in standard base64.
func verifyBinanceSignature(k *BinanceKey, payload, sig string) bool {
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

// checkBinanceTimestamp applies Binance's timing rule to the timestamp
// and recvWindow parameters: accept when timestamp < server + 1 s and
// server − timestamp ≤ recvWindow. Timestamps are in milliseconds, or in
// microseconds when they have 16 digits; recvWindow is in milliseconds
// with up to three decimals. It returns when the window closes.
func checkBinanceTimestamp(params exchange.Params, server time.Time) (time.Time, *BinanceError) {
	tsRaw, ok := params.Get("timestamp")
	if !ok || tsRaw == "" {
		return time.Time{}, BinanceMandatory("timestamp")
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil || ts <= 0 {
		return time.Time{}, BinanceMandatory("timestamp")
	}
	var at time.Time
	if ts >= 1e14 {
		at = time.UnixMicro(ts)
	} else {
		at = time.UnixMilli(ts)
	}
	window := BinanceDefaultRecvWindow
	if rw, ok := params.Get("recvWindow"); ok {
		if !recvWindowRE.MatchString(rw) {
			return time.Time{}, BinanceBadRecv
		}
		d, err := decimal.NewFromString(rw)
		if err != nil || d.Sign() <= 0 {
			return time.Time{}, BinanceBadRecv
		}
		window = time.Duration(d.Mul(decimal.NewFromInt(int64(time.Millisecond))).IntPart())
		if window > BinanceMaxRecvWindow {
			return time.Time{}, BinanceBadRecv
		}
	}
	if !at.Before(server.Add(BinanceFutureTolerance)) {
		return time.Time{}, BinanceAhead
	}
	if server.Sub(at) > window {
		return time.Time{}, BinanceRecvWindow
	}
	return at.Add(window), nil
}
