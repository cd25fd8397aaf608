package kucoin

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/internal/venue"
)

// codeOK is the code of a successful KuCoin answer.
const codeOK = "200000"

// envelope is KuCoin's answer: {"code":"200000","data":...} or
// {"code":"400005","msg":"..."}.
type envelope struct {
	Code json.RawMessage `json:"code"`
	Msg  string          `json:"msg"`
	Data json.RawMessage `json:"data"`
}

// code returns the envelope's code as a string ("200000"), whether the
// venue sent it as a string or a number.
func (e *envelope) code() string {
	var s string
	if json.Unmarshal(e.Code, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(e.Code, &n) == nil {
		return n.String()
	}
	return ""
}

// decode reads an answer: the data of a 2xx answer with code 200000, or an
// *exchange.APIError for anything else (KuCoin answers some refusals with
// HTTP 200 and an error code).
func decode(status int, h http.Header, body []byte) (json.RawMessage, *exchange.APIError) {
	var env envelope
	err := json.Unmarshal(body, &env)
	if status/100 == 2 && err == nil && env.code() == codeOK {
		return env.Data, nil
	}
	e := &exchange.APIError{Venue: Venue, Status: status}
	if err == nil && env.code() != "" {
		e.Code, e.Msg = env.code(), venue.TrimMessage(env.Msg)
	} else {
		e.Msg = http.StatusText(status)
		if status/100 == 2 {
			e.Msg = "unreadable answer"
		}
	}
	e.Kind = errorKind(status, e.Code, e.Msg)
	if e.Kind == exchange.ErrRateLimited {
		e.RetryAfter = resetIn(h)
	}
	return nil, e
}

// errorKind maps KuCoin's codes onto exchange's categories:
//
//	5xx                               ErrOutcomeUnknown (never a failure)
//	429, 429000                       ErrRateLimited
//	400002 (KC-API-TIMESTAMP invalid) ErrClock
//	400001 (auth header missing),
//	400005 (KC-API-SIGN invalid)      ErrSignature
//	400003 (key), 400004 (passphrase),
//	400006 (IP), 400007 (access denied),
//	411100 (account frozen), 401, 403 ErrPermission
//	unknown orders                    ErrNotFound
//	anything else                     ErrRejected
func errorKind(status int, code, msg string) error {
	switch {
	case status >= 500:
		return exchange.ErrOutcomeUnknown
	case status == http.StatusTooManyRequests, code == "429000":
		return exchange.ErrRateLimited
	}
	switch code {
	case "400002":
		return exchange.ErrClock
	case "400001", "400005":
		return exchange.ErrSignature
	case "400003", "400004", "400006", "400007", "411100":
		return exchange.ErrPermission
	}
	lm := strings.ToLower(msg)
	switch {
	case strings.Contains(lm, "not exist"), strings.Contains(lm, "not found"):
		return exchange.ErrNotFound
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return exchange.ErrPermission
	case status == http.StatusNotFound && code == "":
		return exchange.ErrNotFound
	}
	return exchange.ErrRejected
}

// Rate-limit headers of every KuCoin answer; they describe the pool of the
// endpoint called.
const (
	HeaderLimit     = "gw-ratelimit-limit"
	HeaderRemaining = "gw-ratelimit-remaining"
	HeaderReset     = "gw-ratelimit-reset" // milliseconds until the pool's quota renews
)

// resetIn reads gw-ratelimit-reset as a duration.
func resetIn(h http.Header) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get(HeaderReset)), 10, 64)
	if err != nil || n < 0 || n > int64(time.Hour/time.Millisecond) {
		return 0
	}
	return time.Duration(n) * time.Millisecond
}

// usage reads an answer's gw-ratelimit-* headers into the usage of pool:
// used = limit − remaining.
func usage(pool Pool, at time.Time, status int, h http.Header) exchange.Usage {
	u := exchange.Usage{At: at, Status: status}
	limit, err1 := strconv.Atoi(strings.TrimSpace(h.Get(HeaderLimit)))
	remaining, err2 := strconv.Atoi(strings.TrimSpace(h.Get(HeaderRemaining)))
	if err1 == nil && err2 == nil && limit > 0 && remaining >= 0 && remaining <= limit {
		u.Used = map[string]int{pool.BucketKey(): limit - remaining}
	}
	if status == http.StatusTooManyRequests {
		u.RetryAfter = resetIn(h)
	}
	return u
}
