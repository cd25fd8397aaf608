package venueauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// KuCoinTimeWindow is how far KC-API-TIMESTAMP may be from the server's
// time.
const KuCoinTimeWindow = 5 * time.Second

// KuCoinKey is what verifies the requests of one KuCoin API key: its
// secret, its passphrase in plain text and its version ("2" or "3").
type KuCoinKey struct {
	Secret     []byte
	Passphrase []byte
	Version    string
}

// String describes the key without its secret or passphrase.
func (k KuCoinKey) String() string { return "kucoin verification key (v" + k.Version + ")" }

// GoString is String, so that %#v does not print the secret either.
func (k KuCoinKey) GoString() string { return k.String() }

// KuCoinError is a KuCoin error answer: HTTP status, code and message.
type KuCoinError struct {
	Status int
	Code   string
	Msg    string
}

func (e *KuCoinError) Error() string { return e.Code + " " + e.Msg }

// Body is the error as KuCoin answers it: {"code":"C","msg":"M"}.
func (e *KuCoinError) Body() []byte {
	b, _ := json.Marshal(struct {
		Code string `json:"code"`
		Msg  string `json:"msg"`
	}{e.Code, e.Msg})
	return b
}

// KuCoin's authentication errors.
var (
	KuCoinHeaders    = &KuCoinError{http.StatusUnauthorized, "400001", "Please check the header of your request for KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE"}
	KuCoinTimestamp  = &KuCoinError{http.StatusUnauthorized, "400002", "KC-API-TIMESTAMP Invalid -- Time differs from server time by more than 5 seconds"}
	KuCoinNoKey      = &KuCoinError{http.StatusUnauthorized, "400003", "KC-API-KEY not exists"}
	KuCoinPassphrase = &KuCoinError{http.StatusUnauthorized, "400004", "Invalid KC-API-PASSPHRASE"}
	KuCoinVersion    = &KuCoinError{http.StatusUnauthorized, "400004", "Invalid KC-API-KEY-VERSION for this key"}
	KuCoinSign       = &KuCoinError{http.StatusUnauthorized, "400005", "Invalid KC-API-SIGN"}
)

// KuCoinSignature is base64(HMAC-SHA256(secret, msg)).
func KuCoinSignature(secret []byte, msg string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// KuCoinSigned is what VerifyKuCoin found in a request it accepted.
type KuCoinSigned struct {
	APIKey string
	// Sign is KC-API-SIGN.
	Sign string
	// Expires is when the timestamp leaves the window: a replay before
	// then would be accepted by KuCoin.
	Expires time.Time
}

// VerifyKuCoin checks a private request as KuCoin does, in this order:
// the four headers are present; the timestamp is within five seconds of
// now; the key is known to lookup; KC-API-KEY-VERSION is the key's
// version; KC-API-PASSPHRASE is base64(HMAC-SHA256(secret, passphrase));
// KC-API-SIGN is base64(HMAC-SHA256(secret, timestamp + method + path and
// query as received, unescaped + body)). requestURI is the request line's
// target as received. IP whitelists and permissions are the caller's.
func VerifyKuCoin(h http.Header, method, requestURI string, body []byte, now time.Time, lookup func(apiKey string) (KuCoinKey, bool)) (KuCoinSigned, *KuCoinError) {
	apiKey, sign, ts, pass := h.Get("KC-API-KEY"), h.Get("KC-API-SIGN"), h.Get("KC-API-TIMESTAMP"), h.Get("KC-API-PASSPHRASE")
	if apiKey == "" || sign == "" || ts == "" || pass == "" {
		return KuCoinSigned{}, KuCoinHeaders
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ms <= 0 {
		return KuCoinSigned{}, KuCoinTimestamp
	}
	at := time.UnixMilli(ms)
	if d := now.Sub(at); d > KuCoinTimeWindow || d < -KuCoinTimeWindow {
		return KuCoinSigned{}, KuCoinTimestamp
	}
	k, ok := lookup(apiKey)
	if !ok {
		return KuCoinSigned{}, KuCoinNoKey
	}
	if h.Get("KC-API-KEY-VERSION") != k.Version {
		return KuCoinSigned{}, KuCoinVersion
	}
	if !hmac.Equal([]byte(pass), []byte(KuCoinSignature(k.Secret, string(k.Passphrase)))) {
		return KuCoinSigned{}, KuCoinPassphrase
	}
	uri, err := url.PathUnescape(requestURI)
	if err != nil {
		return KuCoinSigned{}, KuCoinSign
	}
	if !hmac.Equal([]byte(sign), []byte(KuCoinSignature(k.Secret, ts+method+uri+string(body)))) {
		return KuCoinSigned{}, KuCoinSign
	}
	return KuCoinSigned{APIKey: apiKey, Sign: sign, Expires: at.Add(KuCoinTimeWindow)}, nil
}
