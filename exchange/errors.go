package exchange

import (
	"errors"
	"fmt"
	"time"
)

// Errors of the venue layer. Venue clients wrap what the venue answered in
// an *APIError whose Unwrap gives one of these, so callers test the category
// with errors.Is and read the venue's code with errors.As.
var (
	// ErrUnknownEndpoint: the venue scheme does not classify the route, so
	// nothing is signed.
	ErrUnknownEndpoint = errors.New("exchange: endpoint not classified; refusing to sign")
	// ErrMalformedRequest: the request cannot be parsed into an intent.
	ErrMalformedRequest = errors.New("exchange: malformed request")
	// ErrWrongVenue: the credential belongs to another venue.
	ErrWrongVenue = errors.New("exchange: credential belongs to another venue")
	// ErrAudit: the decision could not be recorded, so nothing was signed.
	ErrAudit = errors.New("exchange: audit log not writable; refusing to sign")
	// ErrFilter: the order breaks one of the venue's symbol filters.
	ErrFilter = errors.New("exchange: order breaks a venue filter")
	// ErrClientID: an order to create has no client order id, or one the
	// audit log cannot hold plainly; nothing is signed.
	ErrClientID = errors.New("exchange: every order needs a client order id of 1 to 64 letters, digits or ._:/-")
	// ErrForeignOrder: reconciliation found a venue order of the
	// credential that no allow record of the audit log accounts for.
	ErrForeignOrder = errors.New("exchange: foreign order: the venue holds an order keyfence never signed")

	ErrClock          = errors.New("exchange: request timestamp outside the venue's window; check the clock")
	ErrSignature      = errors.New("exchange: the venue rejected the signature")
	ErrPermission     = errors.New("exchange: the venue refused the key (invalid key, IP or permission)")
	ErrRateLimited    = errors.New("exchange: rate limited by the venue")
	ErrBanned         = errors.New("exchange: banned by the venue for exceeding rate limits")
	ErrRejected       = errors.New("exchange: the venue rejected the request")
	ErrNotFound       = errors.New("exchange: not found at the venue")
	ErrOutcomeUnknown = errors.New("exchange: outcome unknown; look the order up before retrying")
	// ErrNotSent: the request never reached the venue (no connection, a
	// TLS failure, https to a plain-HTTP port), so nothing happened there.
	ErrNotSent        = errors.New("exchange: request not sent to the venue; check the URL and the network")
	ErrKeyTooPowerful = errors.New("exchange: key permissions exceed what the policy accepts")
)

// APIError is an error answer from a venue.
type APIError struct {
	Venue  string
	Status int    // HTTP status
	Code   string // venue error code, e.g. "-1021", "429000"
	Msg    string // venue message
	Kind   error  // one of the Err* categories
	// RetryAfter is set on rate-limit answers.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	kind := "error"
	if e.Kind != nil {
		kind = e.Kind.Error()
	}
	return fmt.Sprintf("%s: HTTP %d code %s: %s (%s)", e.Venue, e.Status, e.Code, e.Msg, kind)
}

// Unwrap returns the category.
func (e *APIError) Unwrap() error { return e.Kind }

// RateLimitError says the local rate guard or the venue refuses requests
// until a point in time.
type RateLimitError struct {
	Venue  string
	Limit  string    // bucket or reason, e.g. "REQUEST_WEIGHT 1m", "ban"
	Until  time.Time // requests are refused until then
	Banned bool      // an IP ban (Binance 418), not a plain 429
}

func (e *RateLimitError) Error() string {
	what := "rate limited"
	if e.Banned {
		what = "banned"
	}
	return fmt.Sprintf("%s: %s (%s) until %s; wait, and lower the request rate", e.Venue, what, e.Limit, e.Until.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrBanned or ErrRateLimited.
func (e *RateLimitError) Unwrap() error {
	if e.Banned {
		return ErrBanned
	}
	return ErrRateLimited
}

// FilterError says which venue filter an order breaks and by how much.
type FilterError struct {
	Symbol string
	Filter string // "PRICE_FILTER tickSize", "LOT_SIZE minQty", "NOTIONAL minNotional", ...
	Detail string // "price 100.005 is not a multiple of 0.01 (nearest 100.00 or 100.01)"
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("exchange: %s: %s: %s", e.Symbol, e.Filter, e.Detail)
}

// Unwrap returns ErrFilter.
func (e *FilterError) Unwrap() error { return ErrFilter }
