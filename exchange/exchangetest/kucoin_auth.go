package exchangetest

import (
	"net/http"
	"slices"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/internal/venueauth"
)

// kcErrDenied answers a key without the endpoint's permission.
var kcErrDenied = &kcError{http.StatusForbidden, "400007", "Access denied, require more permission."}

// authenticate checks a private request as KuCoin does
// (venueauth.VerifyKuCoin), then that the client address is in the key's
// IP whitelist and that the key has the endpoint's permission.
func (k *KuCoin) authenticate(c *kcCall) *kcError {
	c.apiKey = c.r.Header.Get("KC-API-KEY")
	var e *kcKeyEntry
	lookup := func(apiKey string) (venueauth.KuCoinKey, bool) {
		e = k.keys.get(apiKey)
		if e == nil {
			return venueauth.KuCoinKey{}, false
		}
		return venueauth.KuCoinKey{Secret: e.key.Secret, Passphrase: e.key.Passphrase, Version: e.key.Version}, true
	}
	if _, verr := venueauth.VerifyKuCoin(c.r.Header, c.r.Method, c.r.RequestURI, c.body, k.now(), lookup); verr != nil {
		return &kcError{verr.Status, verr.Code, verr.Msg}
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
