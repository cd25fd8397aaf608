package limits

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// Errors of the rate guard.
var (
	// ErrRateConfig: NewRateGuard was given limits or options it cannot
	// enforce.
	ErrRateConfig = errors.New("limits: invalid rate limit configuration")
	// ErrRateCost: a request costs more than a bucket may ever admit in one
	// window, so it can never be sent; split the request or fix the limits.
	ErrRateCost = errors.New("limits: request cost exceeds a rate bucket's capacity per window")
)

// RateCounts says what a bucket counts of a request's exchange.Cost.
type RateCounts int

// What a bucket counts.
const (
	RateWeight   RateCounts = iota + 1 // Cost.Weight (Binance REQUEST_WEIGHT)
	RateOrders                         // Cost.Orders (Binance ORDERS)
	RateRequests                       // 1 per request (Binance RAW_REQUESTS)
)

func (c RateCounts) String() string {
	switch c {
	case RateWeight:
		return "weight"
	case RateOrders:
		return "orders"
	case RateRequests:
		return "requests"
	}
	return fmt.Sprintf("RateCounts(%d)", int(c))
}

// of returns what a request of the given cost consumes of the bucket.
func (c RateCounts) of(cost exchange.Cost) int {
	switch c {
	case RateWeight:
		return cost.Weight
	case RateOrders:
		return cost.Orders
	}
	return 1
}

// RateLimit is one of a venue's limits, in the venue's own numbers: Binance
// exchangeInfo's rateLimits entry {rateLimitType, interval, intervalNum,
// limit} is RateLimit{Name: rateLimitType, Interval: intervalNum × interval,
// Limit: limit, Counts: RateWeight, RateOrders or RateRequests}.
type RateLimit struct {
	Name     string        // "REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS"
	Interval time.Duration // window length: a whole number of seconds
	Limit    int           // the venue's limit per window
	Counts   RateCounts
}

// Key is the bucket's key in exchange.Usage.Used, e.g. "REQUEST_WEIGHT:1m".
func (l RateLimit) Key() string { return exchange.BucketKey(l.Name, l.Interval) }

// Defaults of the rate guard options.
const (
	// DefaultRateMargin is the fraction of each limit the guard leaves unused.
	DefaultRateMargin = 0.03
	// DefaultRateSkew is how far a request may land from the moment it leaves
	// the guard, on the venue's clock: clock error plus signing and network
	// latency.
	DefaultRateSkew = 100 * time.Millisecond
	// DefaultRateSyncTimeout is how long the guard waits for the first usage
	// report before it trusts its own count.
	DefaultRateSyncTimeout = 2 * time.Second
	// DefaultRateBanTime is the ban assumed when a 418 carries no Retry-After
	// (Binance bans for 2 minutes at least).
	DefaultRateBanTime = 2 * time.Minute
)

// RateOption configures a RateGuard.
type RateOption func(*rateConfig)

type rateConfig struct {
	clock       func() time.Time
	margin      float64
	skew        time.Duration
	smooth      float64
	syncTimeout time.Duration
	logger      *slog.Logger
}

// RateClock sets the clock the guard reads: the venue's clock as the client
// knows it (time.Now plus the server-time offset). Windows are aligned to
// this clock and Usage.At is read on it. The default is time.Now.
func RateClock(now func() time.Time) RateOption {
	return func(c *rateConfig) { c.clock = now }
}

// RateMargin sets the fraction of every limit left unused, in [0, 0.5]
// (default DefaultRateMargin). The guard admits at most
// floor(Limit × (1 − margin)) per window, and at most Limit − 1 when the
// margin is above zero.
func RateMargin(fraction float64) RateOption {
	return func(c *rateConfig) { c.margin = fraction }
}

// RateSkew sets how far, on the venue's clock, a request may land from the
// moment it leaves the guard (default DefaultRateSkew). A request that
// leaves within skew of a window boundary is reserved in both windows around
// it (while what straddles the boundary stays within a twentieth of the
// capacity; otherwise it waits until it is clear of the boundary), so none is
// counted by the venue in a window the guard did not reserve it in. It must
// be at most a quarter of the shortest interval.
func RateSkew(d time.Duration) RateOption {
	return func(c *rateConfig) { c.skew = d }
}

// RateSmooth spreads each window's allowance: within a window, requests
// leave through a token bucket (golang.org/x/time/rate) holding fraction ×
// the allowance and refilling the whole allowance over half the window's
// usable time. fraction is in (0, 1]; 1, the default, admits the whole
// allowance at once, as the venue does.
func RateSmooth(fraction float64) RateOption {
	return func(c *rateConfig) { c.smooth = fraction }
}

// RateSyncTimeout sets how long a new guard lets a single request probe the
// venue before it trusts its own count (default DefaultRateSyncTimeout).
// Until the first Observe, or until the timeout, one request is in flight at
// a time, so a restarted process learns what the venue already counted
// before it spends the window. Zero disables the probe.
func RateSyncTimeout(d time.Duration) RateOption {
	return func(c *rateConfig) { c.syncTimeout = d }
}

// RateLogger sets the logger for 429s and bans (default: discard).
func RateLogger(l *slog.Logger) RateOption {
	return func(c *rateConfig) { c.logger = l }
}

func rateConfigErr(venue, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrRateConfig, venue, fmt.Sprintf(format, args...))
}

// rateCapacity is what the guard admits per window of a limit.
func rateCapacity(limit int, margin float64) int {
	c := int(math.Floor(float64(limit) * (1 - margin)))
	if margin > 0 && c >= limit {
		c = limit - 1
	}
	return c
}
