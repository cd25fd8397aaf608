package binance

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/internal/venue"
)

// apiError turns a non-2xx answer into an *exchange.APIError. Binance
// answers errors as {"code": -1021, "msg": "..."}.
//
// Categories: 5xx and the "execution status unknown" codes (-1006, -1007)
// are exchange.ErrOutcomeUnknown, never a failure; 418 is ErrBanned; 429,
// -1003 and -1015 are ErrRateLimited; -1021 ErrClock; -1022 ErrSignature;
// -2014, -2015 and -1002 ErrPermission; -2013, -2011 "Unknown order" and
// -2026 ErrNotFound; any other refusal ErrRejected.
func apiError(status int, header http.Header, body []byte) *exchange.APIError {
	var msg struct {
		Code *int64 `json:"code"`
		Msg  string `json:"msg"`
	}
	e := &exchange.APIError{Venue: Venue, Status: status}
	if json.Unmarshal(body, &msg) == nil && msg.Code != nil {
		e.Code = strconv.FormatInt(*msg.Code, 10)
		e.Msg = venue.TrimMessage(msg.Msg)
	} else {
		e.Msg = http.StatusText(status)
	}
	e.RetryAfter = exchange.RetryAfter(header)
	e.Kind = errorKind(status, e.Code, e.Msg)
	return e
}

func errorKind(status int, code, msg string) error {
	switch {
	case status >= 500, code == "-1006", code == "-1007":
		return exchange.ErrOutcomeUnknown
	case status == http.StatusTeapot:
		return exchange.ErrBanned
	case status == http.StatusTooManyRequests, code == "-1003", code == "-1015":
		return exchange.ErrRateLimited
	}
	switch code {
	case "-1021":
		return exchange.ErrClock
	case "-1022":
		return exchange.ErrSignature
	case "-1002", "-2014", "-2015":
		return exchange.ErrPermission
	case "-2013", "-2026":
		return exchange.ErrNotFound
	case "-2011":
		if strings.Contains(strings.ToLower(msg), "unknown order") {
			return exchange.ErrNotFound
		}
	}
	return exchange.ErrRejected
}

// usage reads the rate-limit headers of an answer:
// X-MBX-USED-WEIGHT-<n><S|M|H|D> into REQUEST_WEIGHT buckets and
// X-MBX-ORDER-COUNT-<n><S|M|H|D> into ORDERS buckets.
func usage(at time.Time, status int, h http.Header) exchange.Usage {
	u := exchange.Usage{At: at, Status: status, RetryAfter: exchange.RetryAfter(h)}
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		upper := strings.ToUpper(k)
		var name, iv string
		switch {
		case strings.HasPrefix(upper, "X-MBX-USED-WEIGHT-"):
			name, iv = "REQUEST_WEIGHT", upper[len("X-MBX-USED-WEIGHT-"):]
		case strings.HasPrefix(upper, "X-MBX-ORDER-COUNT-"):
			name, iv = "ORDERS", upper[len("X-MBX-ORDER-COUNT-"):]
		default:
			continue
		}
		d, ok := parseInterval(iv)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(vs[0]))
		if err != nil || n < 0 {
			continue
		}
		if u.Used == nil {
			u.Used = make(map[string]int, 3)
		}
		u.Used[exchange.BucketKey(name, d)] = n
	}
	return u
}

// parseInterval parses "1M", "10S", "1D", "1H".
func parseInterval(s string) (time.Duration, bool) {
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || n > 1000 {
		return 0, false
	}
	unit, ok := intervalUnits[s[len(s)-1]]
	if !ok {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

var intervalUnits = map[byte]time.Duration{'S': time.Second, 'M': time.Minute, 'H': time.Hour, 'D': 24 * time.Hour}

// intervalOf converts exchangeInfo's interval names.
func intervalOf(name string, num int) (time.Duration, bool) {
	var unit time.Duration
	switch name {
	case "SECOND":
		unit = time.Second
	case "MINUTE":
		unit = time.Minute
	case "HOUR":
		unit = time.Hour
	case "DAY":
		unit = 24 * time.Hour
	default:
		return 0, false
	}
	if num <= 0 {
		return 0, false
	}
	return time.Duration(num) * unit, true
}
