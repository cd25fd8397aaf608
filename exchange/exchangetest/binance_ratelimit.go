package exchangetest

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Binance rate-limit types, as exchangeInfo names them.
const (
	BinanceRequestWeight = "REQUEST_WEIGHT" // per IP, weighted by endpoint
	BinanceOrders        = "ORDERS"         // per account, new unfilled orders
	BinanceRawRequests   = "RAW_REQUESTS"   // per IP, one per request
)

// BinanceRateLimit is one limit the simulated Binance enforces and serves
// in exchangeInfo rateLimits. Interval is a whole number of seconds,
// minutes, hours or days.
type BinanceRateLimit struct {
	Type     string // BinanceRequestWeight, BinanceOrders or BinanceRawRequests
	Interval time.Duration
	Limit    int
}

// DefaultBinanceRateLimits are the limits the simulated Binance enforces
// unless WithBinanceRateLimits replaces them: those the venue documents.
func DefaultBinanceRateLimits() []BinanceRateLimit {
	return []BinanceRateLimit{
		{BinanceRequestWeight, time.Minute, 6000},
		{BinanceOrders, 10 * time.Second, 100},
		{BinanceOrders, 24 * time.Hour, 200000},
		{BinanceRawRequests, 5 * time.Minute, 61000},
	}
}

// noBinanceRateLimits are the limits of WithBinanceNoRateLimits: the
// documented ones, each raised to one no client reaches.
func noBinanceRateLimits() []BinanceRateLimit {
	out := DefaultBinanceRateLimits()
	for i := range out {
		out[i].Limit = noLimit
	}
	return out
}

// DefaultBinanceBanDuration is how long the simulated Binance bans an
// address that keeps sending after a 429, unless WithBinanceBanDuration
// changes it.
const DefaultBinanceBanDuration = 2 * time.Minute

// unit returns the exchangeInfo interval name, its count and the header
// suffix ("1M", "10S") of an interval.
func intervalParts(d time.Duration) (name string, num int, suffix string) {
	switch {
	case d%(24*time.Hour) == 0:
		name, num, suffix = "DAY", int(d/(24*time.Hour)), "D"
	case d%time.Hour == 0:
		name, num, suffix = "HOUR", int(d/time.Hour), "H"
	case d%time.Minute == 0:
		name, num, suffix = "MINUTE", int(d/time.Minute), "M"
	default:
		name, num, suffix = "SECOND", int(d/time.Second), "S"
	}
	return name, num, strconv.Itoa(num) + suffix
}

func validRateLimit(l BinanceRateLimit) error {
	switch l.Type {
	case BinanceRequestWeight, BinanceOrders, BinanceRawRequests:
	default:
		return fmt.Errorf("exchangetest: rate limit type %q: use REQUEST_WEIGHT, ORDERS or RAW_REQUESTS", l.Type)
	}
	if l.Interval < time.Second || l.Interval%time.Second != 0 || l.Limit <= 0 {
		return fmt.Errorf("exchangetest: %s limit %d per %s: use a positive limit and a whole number of seconds", l.Type, l.Limit, l.Interval)
	}
	return nil
}

// binanceLimiter keeps Binance's counters: weight and raw requests per
// client address, unfilled orders per account, and bans.
type binanceLimiter struct {
	mu       sync.Mutex
	limits   []BinanceRateLimit
	ban      time.Duration
	ips      map[string]*ipUsage
	accounts map[string][]*window // ORDERS windows, in limits order
}

type ipUsage struct {
	weight  []*window // REQUEST_WEIGHT windows, in limits order
	raw     []*window
	backoff time.Time // told to wait until then by a 429
	banned  time.Time // banned until then
}

func newBinanceLimiter(limits []BinanceRateLimit, ban time.Duration) *binanceLimiter {
	return &binanceLimiter{limits: limits, ban: ban, ips: make(map[string]*ipUsage), accounts: make(map[string][]*window)}
}

func (l *binanceLimiter) windows(typ string) []*window {
	var out []*window
	for _, rl := range l.limits {
		if rl.Type == typ {
			out = append(out, &window{interval: rl.Interval, limit: rl.Limit})
		}
	}
	return out
}

// weightVerdict is the outcome of counting a request's weight.
type weightVerdict struct {
	status     int // 0: go on; 429 or 418
	retryAfter int // seconds
	msg        string
}

// spend counts a request of weight w from ip at now, sets the usage
// headers on h and says whether the request may go on.
func (l *binanceLimiter) spend(ip string, w int, now time.Time, h http.Header) weightVerdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.ips[ip]
	if u == nil {
		u = &ipUsage{weight: l.windows(BinanceRequestWeight), raw: l.windows(BinanceRawRequests)}
		l.ips[ip] = u
	}
	for _, win := range append(append([]*window(nil), u.weight...), u.raw...) {
		win.roll(now)
	}
	defer func() {
		// X-MBX-USED-WEIGHT-<interval> per weight limit, e.g. -1M (clients
		// read it case-insensitively, often as x-mbx-used-weight-1m), and
		// the venue's legacy X-MBX-USED-WEIGHT with the first one's count.
		for i, win := range u.weight {
			_, _, suffix := intervalParts(win.interval)
			h.Set("X-MBX-USED-WEIGHT-"+suffix, strconv.Itoa(win.used))
			if i == 0 {
				h.Set("X-MBX-USED-WEIGHT", strconv.Itoa(win.used))
			}
		}
	}()
	if now.Before(u.banned) {
		return weightVerdict{status: http.StatusTeapot, retryAfter: ceilSeconds(u.banned.Sub(now)), msg: banMsg(ip, u.banned)}
	}
	if now.Before(u.backoff) {
		u.banned = now.Add(l.ban)
		return weightVerdict{status: http.StatusTeapot, retryAfter: ceilSeconds(l.ban), msg: banMsg(ip, u.banned)}
	}
	var over *window
	for _, win := range u.weight {
		win.used += w
		if win.used > win.limit && over == nil {
			over = win
		}
	}
	for _, win := range u.raw {
		win.used++
		if win.used > win.limit && over == nil {
			over = win
		}
	}
	if over == nil {
		return weightVerdict{}
	}
	u.backoff = over.end()
	_, num, _ := intervalParts(over.interval)
	name, _, _ := intervalParts(over.interval)
	return weightVerdict{
		status:     http.StatusTooManyRequests,
		retryAfter: over.retryAfter(now),
		msg:        fmt.Sprintf("Too many requests; current limit of IP(%s) is %d requests per %d %s. Please use WebSocket Streams for live updates to avoid polling the API.", ip, over.limit, num, name),
	}
}

func banMsg(ip string, until time.Time) string {
	return fmt.Sprintf("Way too many requests; IP(%s) banned until %d. Please use WebSocket Streams for live updates to avoid bans.", ip, until.UnixMilli())
}

func ceilSeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}

// reserveOrder counts a new order of account at now. It refuses, with the
// -1015 message and seconds to wait, when a window is full.
func (l *binanceLimiter) reserveOrder(account string, now time.Time) (ok bool, msg string, retryAfter int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ws := l.accountWindows(account, now)
	for _, win := range ws {
		if win.used+1 > win.limit {
			_, num, _ := intervalParts(win.interval)
			name, _, _ := intervalParts(win.interval)
			return false, fmt.Sprintf("Too many new orders; current limit is %d orders per %d %s.", win.limit, num, name), win.retryAfter(now)
		}
	}
	for _, win := range ws {
		win.used++
	}
	return true, "", 0
}

// unfilled lowers the unfilled-order count of account by one in every
// window: the order was refused, or it traded.
func (l *binanceLimiter) unfilled(account string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, win := range l.accountWindows(account, now) {
		if win.used > 0 {
			win.used--
		}
	}
}

func (l *binanceLimiter) accountWindows(account string, now time.Time) []*window {
	ws, ok := l.accounts[account]
	if !ok {
		ws = l.windows(BinanceOrders)
		l.accounts[account] = ws
	}
	for _, win := range ws {
		win.roll(now)
	}
	return ws
}

// orderHeaders sets X-MBX-ORDER-COUNT-<interval> for account.
func (l *binanceLimiter) orderHeaders(account string, now time.Time, h http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, win := range l.accountWindows(account, now) {
		_, _, suffix := intervalParts(win.interval)
		h.Set("X-MBX-ORDER-COUNT-"+suffix, strconv.Itoa(win.used))
	}
}
