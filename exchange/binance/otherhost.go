package binance

import (
	"strconv"
	"time"
)

// OtherHostAnswer reports whether the route of method and path is one the
// route table classifies but another Binance host serves (the USDⓈ-M and
// COIN-M futures exchangeInfo, which CCXT's loadMarkets asks for beside
// the Spot one), and returns that host and the answer a Spot-only front
// gives it: the route's answer listing nothing (no symbols, no assets, no
// rate limits), as if the product had no markets.
//
// A front for Binance Spot (the keyfence gateway) answers these itself
// rather than forward them: its upstream is the Spot API, which does not
// serve them (api.binance.com answers 404), and it has no upstream for the
// other host, whose markets the bot cannot trade through it anyway. Listing
// no futures markets is what makes a client load the Spot markets only,
// with no option set.
func OtherHostAnswer(method, path string, now time.Time) (host string, body []byte, ok bool) {
	r, found := routes[routeKey{method, path}]
	if !found || r.spec.otherHost == "" {
		return "", nil, false
	}
	body = append([]byte(`{"timezone":"UTC","serverTime":`), strconv.FormatInt(now.UnixMilli(), 10)...)
	body = append(body, `,"rateLimits":[],"exchangeFilters":[],"assets":[],"symbols":[]}`...)
	return r.spec.otherHost, body, true
}
