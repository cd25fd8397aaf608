package coinbase

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/internal/venue"
)

// RateBucket is the name of the client-side bucket of private requests,
// as it appears in exchange.Usage.Used ("PRIVATE:1s").
const RateBucket = "PRIVATE"

// apiError turns a non-2xx answer into an *exchange.APIError. Coinbase
// answers errors as {"error":"NOT_FOUND","message":"...",
// "error_details":"..."}, and authentication failures as a bare 401
// "Unauthorized".
//
// Categories: 5xx is exchange.ErrOutcomeUnknown (never a failed order);
// 401 ErrSignature (the JWT was refused: key name, signature, expiry or
// uri); 403 and PERMISSION_DENIED ErrPermission; 429 ErrRateLimited; 404
// and NOT_FOUND ErrNotFound; any other refusal ErrRejected.
func apiError(status int, header http.Header, body []byte) *exchange.APIError {
	var msg struct {
		Error        string `json:"error"`
		Message      string `json:"message"`
		ErrorDetails string `json:"error_details"`
	}
	e := &exchange.APIError{Venue: Venue, Status: status}
	if json.Unmarshal(body, &msg) == nil && (msg.Error != "" || msg.Message != "") {
		e.Code = venue.TrimMessage(msg.Error)
		e.Msg = venue.TrimMessage(msg.Message)
		if e.Msg == "" {
			e.Msg = venue.TrimMessage(msg.ErrorDetails)
		}
	} else {
		e.Msg = http.StatusText(status)
	}
	e.RetryAfter = exchange.RetryAfter(header)
	e.Kind = errorKind(status, e.Code)
	return e
}

func errorKind(status int, code string) error {
	switch {
	case status >= 500:
		return exchange.ErrOutcomeUnknown
	case status == http.StatusTooManyRequests:
		return exchange.ErrRateLimited
	case status == http.StatusUnauthorized:
		return exchange.ErrSignature
	case status == http.StatusForbidden, code == "PERMISSION_DENIED":
		return exchange.ErrPermission
	case status == http.StatusNotFound, code == "NOT_FOUND":
		return exchange.ErrNotFound
	}
	return exchange.ErrRejected
}

// orderFailure is the refusal of an order inside a 200 answer
// ({"success":false,"error_response":{"error":"INSUFFICIENT_FUND",...}}).
func orderFailure(code, msg string) *exchange.APIError {
	kind := exchange.ErrRejected
	if code == "UNKNOWN_CANCEL_ORDER" || code == "ORDER_NOT_FOUND" {
		kind = exchange.ErrNotFound
	}
	if code == "" {
		code = "UNKNOWN_FAILURE_REASON"
	}
	return &exchange.APIError{Venue: Venue, Status: http.StatusOK, Code: venue.TrimMessage(code), Msg: venue.TrimMessage(msg), Kind: kind}
}

// usage reads an answer's x-ratelimit-limit and x-ratelimit-remaining
// headers into the PRIVATE:1s bucket, when the venue sends them.
func usage(at time.Time, status int, h http.Header) exchange.Usage {
	u := exchange.Usage{At: at, Status: status, RetryAfter: exchange.RetryAfter(h)}
	limit, err1 := strconv.Atoi(strings.TrimSpace(h.Get("X-Ratelimit-Limit")))
	remaining, err2 := strconv.Atoi(strings.TrimSpace(h.Get("X-Ratelimit-Remaining")))
	if err1 == nil && err2 == nil && limit > 0 && remaining >= 0 && remaining <= limit {
		u.Used = map[string]int{exchange.BucketKey(RateBucket, time.Second): limit - remaining}
	}
	return u
}
