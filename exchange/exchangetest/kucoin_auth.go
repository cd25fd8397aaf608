package exchangetest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// kcTimeWindow is how far KC-API-TIMESTAMP may be from the server's time.
const kcTimeWindow = 5 * time.Second

// KuCoin's authentication errors.
var (
	kcErrHeaders    = &kcError{http.StatusUnauthorized, "400001", "Please check the header of your request for KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE"}
	kcErrTimestamp  = &kcError{http.StatusUnauthorized, "400002", "KC-API-TIMESTAMP Invalid -- Time differs from server time by more than 5 seconds"}
	kcErrKey        = &kcError{http.StatusUnauthorized, "400003", "KC-API-KEY not exists"}
	kcErrPassphrase = &kcError{http.StatusUnauthorized, "400004", "Invalid KC-API-PASSPHRASE"}
	kcErrVersion    = &kcError{http.StatusUnauthorized, "400004", "Invalid KC-API-KEY-VERSION for this key"}
	kcErrSign       = &kcError{http.StatusUnauthorized, "400005", "Invalid KC-API-SIGN"}
	kcErrDenied     = &kcError{http.StatusForbidden, "400007", "Access denied, require more permission."}
)

// kcSign is base64(HMAC-SHA256(secret, msg)).
func kcSign(secret []byte, msg string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// kcAuthenticate checks a private request as KuCoin does, in this order:
// the four headers are present; the timestamp is within five seconds of
// the server's clock; the key exists; KC-API-KEY-VERSION is the key's
// version; KC-API-PASSPHRASE is base64(HMAC-SHA256(secret, passphrase));
// KC-API-SIGN is base64(HMAC-SHA256(secret, timestamp + method + path and
// query as received, unescaped + body)); the client address is in the
// key's IP whitelist; the key has the endpoint's permission.
func (k *KuCoin) authenticate(c *kcCall) *kcError {
	h := c.r.Header
	apiKey, sign, ts, pass := h.Get("KC-API-KEY"), h.Get("KC-API-SIGN"), h.Get("KC-API-TIMESTAMP"), h.Get("KC-API-PASSPHRASE")
	c.apiKey = apiKey
	if apiKey == "" || sign == "" || ts == "" || pass == "" {
		return kcErrHeaders
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ms <= 0 {
		return kcErrTimestamp
	}
	if d := k.now().Sub(time.UnixMilli(ms)); d > kcTimeWindow || d < -kcTimeWindow {
		return kcErrTimestamp
	}
	e := k.keys.get(apiKey)
	if e == nil {
		return kcErrKey
	}
	if h.Get("KC-API-KEY-VERSION") != e.key.Version {
		return kcErrVersion
	}
	if !hmac.Equal([]byte(pass), []byte(kcSign(e.key.Secret, string(e.key.Passphrase)))) {
		return kcErrPassphrase
	}
	uri, err := url.PathUnescape(c.r.RequestURI)
	if err != nil {
		return kcErrSign
	}
	if !hmac.Equal([]byte(sign), []byte(kcSign(e.key.Secret, ts+c.r.Method+uri+string(c.body)))) {
		return kcErrSign
	}
	if len(e.key.IPWhitelist) > 0 {
		ip := remoteIP(c.r)
		if !slices.Contains(e.key.IPWhitelist, ip) {
			return &kcError{http.StatusUnauthorized, "400006", "Invalid request ip, the current clientIp is:" + ip}
		}
	}
	if !kcPermitted(e.key.Permissions, c.ep.perm) {
		return kcErrDenied
	}
	c.key = e
	return nil
}

// kcPerm is what an endpoint requires of a key.
type kcPerm int

const (
	kcPermNone kcPerm = iota
	kcPermGeneral
	kcPermSpot
	kcPermWithdraw
	kcPermTransfer
)

func kcPermitted(p exchange.Permissions, perm kcPerm) bool {
	switch perm {
	case kcPermGeneral:
		return p.Read
	case kcPermSpot:
		return p.Trade
	case kcPermWithdraw:
		return p.Withdraw
	case kcPermTransfer:
		return p.Transfer
	}
	return true
}
