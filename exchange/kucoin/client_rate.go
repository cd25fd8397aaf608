package kucoin

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

// PoolLimits are the quotas of the resource pools per 30-second window.
type PoolLimits struct {
	Spot, Management, Public int
}

// DefaultPoolLimits returns KuCoin's VIP0 quotas.
func DefaultPoolLimits() PoolLimits { return PoolLimits{Spot: 4000, Management: 2000, Public: 2000} }

// Limiter gives the client-side rate limiter of each pool. Every request
// waits on the limiter of its route's pool and reports the venue's
// gw-ratelimit-* headers to it.
type Limiter interface {
	Pool(p Pool) exchange.RateLimiter
}

// Pools is a Limiter with one limits.RateGuard per pool, each a single
// bucket BucketKey(pool, 30s) counting request weight. KuCoin's window
// starts at an account's first request, the guard's at multiples of 30 s
// of the venue clock; the venue's reports (used = limit − remaining) are
// what keeps the two aligned, so the guard errs on the side of waiting.
// Clients of one account (Spot, Management) or one address (Public) share
// a Pools by passing it as Config.Rate.
type Pools struct {
	guards map[Pool]*limits.RateGuard
}

var _ Limiter = (*Pools)(nil)

// NewPools returns rate guards for the pools' quotas, on the venue's clock
// now (nil: time.Now). opts are passed to every limits.NewRateGuard.
func NewPools(l PoolLimits, now func() time.Time, logger *slog.Logger, opts ...limits.RateOption) (*Pools, error) {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Pools{guards: make(map[Pool]*limits.RateGuard, 3)}
	for pool, n := range map[Pool]int{PoolSpot: l.Spot, PoolManagement: l.Management, PoolPublic: l.Public} {
		o := append([]limits.RateOption{limits.RateClock(now), limits.RateLogger(logger)}, opts...)
		g, err := limits.NewRateGuard(Venue+" "+string(pool), []limits.RateLimit{{
			Name: string(pool), Interval: PoolInterval, Limit: n, Counts: limits.RateWeight,
		}}, o...)
		if err != nil {
			return nil, fmt.Errorf("kucoin: %s pool: %w", pool, err)
		}
		p.guards[pool] = g
	}
	return p, nil
}

// Pool returns the guard of a pool; an unknown pool gets the Management
// pool's guard, the most restrictive.
func (p *Pools) Pool(pool Pool) exchange.RateLimiter {
	if g, ok := p.guards[pool]; ok {
		return g
	}
	return p.guards[PoolManagement]
}

// RateLimiter returns the client's pool limiter: pass it as Config.Rate to
// other clients of the same account so that they share the quotas.
func (c *Client) RateLimiter() Limiter { return c.rate }
