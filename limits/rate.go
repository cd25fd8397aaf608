package limits

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/keyfence/keyfence/exchange"
)

// RateGuard keeps the requests of one venue account below the venue's rate
// limits. It implements exchange.RateLimiter.
//
// # Model
//
// A venue such as Binance counts each limit in fixed windows aligned to its
// own clock: the REQUEST_WEIGHT minute resets at :00, the ORDERS day at
// 00:00 UTC, and a request over the limit in the current window is answered
// with 429. A token bucket with a burst of the limit does not model this: it
// lets nearly twice the limit through when it is drained just before a
// boundary and refilled just after. So the guard counts like the venue:
//
//   - Each limit is a bucket of fixed windows aligned to whole multiples of
//     its interval on the venue's clock (RateClock). A bucket admits at most
//     its capacity per window: the venue's limit less a safety margin
//     (RateMargin). A bucket counts Cost.Weight, Cost.Orders or 1 per
//     request (RateCounts).
//   - Wait reserves a request's cost in every bucket at once, at the
//     earliest moment every bucket has room; a reservation is all or
//     nothing. When the current window is full the reservation is taken in a
//     later window and Wait sleeps until it opens, so waiting requests are
//     placed window by window instead of racing at the boundary, and a later
//     small request may still use what is left of the current window.
//   - A request that leaves within RateSkew of a window boundary may be
//     counted by the venue in either window (clock error, signing and
//     network latency), so the guard counts it in both: it leaves at once
//     when both have room, and otherwise waits until it is RateSkew clear
//     of the boundary in a window with room. (With RateSmooth below 1, no
//     request leaves within RateSkew of a boundary.)
//   - Wait fails at once with an *exchange.RateLimitError (errors.Is
//     exchange.ErrRateLimited) when the reservation would start after the
//     context's deadline; it never sleeps to the deadline just to fail.
//   - Observe corrects the count from the venue's usage headers: a window's
//     count becomes the larger of the guard's own count and the venue's
//     report (Usage.Used, by exchange.BucketKey), and later reservations
//     add to it. So what other processes on the same IP spent, or what was
//     spent before a restart, is not spent again; a request that waited for
//     a window the venue reports over capacity is placed again. A report is
//     counted in the window holding Usage.At: one read just after a boundary
//     but counted by the venue before it can only overcount. Until the
//     first report (or RateSyncTimeout), a new guard lets one request at a
//     time through, so a restart learns the venue's count first.
//   - A 429 stops every request until its Retry-After has passed; requests
//     whose reservation falls inside the pause are placed after it. A 418
//     (Binance's IP ban) refuses every request until the ban ends, at once
//     and whatever the deadline (errors.Is exchange.ErrBanned, Until says
//     when).
//
// Within a window, requests may be paced by a token bucket from
// golang.org/x/time/rate (RateSmooth); by default a window's whole allowance
// is available at its start, as it is at the venue.
//
// Processes that share an IP share its limits but reserve independently: give
// each its own share of the limits, and Observe keeps each of them from
// spending what the others already did.
//
// A RateGuard is safe for concurrent use.
type RateGuard struct {
	venue       string
	buckets     []*rateBucket
	byKey       map[string]*rateBucket
	shortest    *rateBucket
	clock       func() time.Time
	syncTimeout int64
	logger      *slog.Logger
	// sleep waits for d, or until wake is closed; tests replace it.
	sleep func(ctx context.Context, d time.Duration, wake <-chan struct{}) error

	mu           sync.Mutex
	backoffUntil int64         // 429: no request leaves before (ns on the venue clock)
	banUntil     int64         // 418: every request is refused before
	synced       bool          // a usage report arrived, or the probe timed out
	probeUntil   int64         // a probe is in flight until then
	wake         chan struct{} // closed and replaced when the probe state changes
}

// rateMaxSearch bounds the search for a window with room.
const rateMaxSearch = 1 << 16

// NewRateGuard returns a guard for the venue's limits. It fails (errors.Is
// ErrRateConfig) on an empty venue or limit list, on a limit without a name,
// with an interval that is not a whole number of seconds, with a limit that
// leaves nothing after the margin, with an unknown RateCounts, on duplicate
// limits, and on options out of range.
func NewRateGuard(venue string, limits []RateLimit, opts ...RateOption) (*RateGuard, error) {
	cfg := rateConfig{
		clock:       time.Now,
		margin:      DefaultRateMargin,
		skew:        DefaultRateSkew,
		smooth:      1,
		syncTimeout: DefaultRateSyncTimeout,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if venue == "" {
		return nil, rateConfigErr("(no venue)", "name the venue")
	}
	switch {
	case len(limits) == 0:
		return nil, rateConfigErr(venue, "no limits; give the venue's rate limits")
	case cfg.clock == nil:
		return nil, rateConfigErr(venue, "RateClock is nil")
	case !(cfg.margin >= 0 && cfg.margin <= 0.5):
		return nil, rateConfigErr(venue, "margin %v out of [0, 0.5]", cfg.margin)
	case cfg.skew < 0:
		return nil, rateConfigErr(venue, "negative skew %v", cfg.skew)
	case !(cfg.smooth > 0 && cfg.smooth <= 1):
		return nil, rateConfigErr(venue, "smoothing %v out of (0, 1]", cfg.smooth)
	case cfg.syncTimeout < 0:
		return nil, rateConfigErr(venue, "negative sync timeout %v", cfg.syncTimeout)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	g := &RateGuard{
		venue:       venue,
		byKey:       make(map[string]*rateBucket, len(limits)),
		clock:       cfg.clock,
		syncTimeout: int64(cfg.syncTimeout),
		logger:      cfg.logger,
		sleep:       rateSleep,
		synced:      cfg.syncTimeout == 0,
		wake:        make(chan struct{}),
	}
	for i, l := range limits {
		switch {
		case l.Name == "":
			return nil, rateConfigErr(venue, "limit %d has no name", i)
		case l.Interval < time.Second || l.Interval%time.Second != 0:
			return nil, rateConfigErr(venue, "%s: interval %v is not a whole number of seconds", l.Name, l.Interval)
		case l.Limit < 1:
			return nil, rateConfigErr(venue, "%s: limit %d is below 1", l.Key(), l.Limit)
		case l.Counts < RateWeight || l.Counts > RateRequests:
			return nil, rateConfigErr(venue, "%s: unknown %v; use RateWeight, RateOrders or RateRequests", l.Key(), l.Counts)
		case 4*cfg.skew > l.Interval:
			return nil, rateConfigErr(venue, "%s: skew %v is more than a quarter of the interval", l.Key(), cfg.skew)
		}
		capacity := rateCapacity(l.Limit, cfg.margin)
		if capacity < 1 {
			return nil, rateConfigErr(venue, "%s: limit %d leaves nothing after a margin of %v", l.Key(), l.Limit, cfg.margin)
		}
		b := newRateBucket(l, capacity, cfg.skew, cfg.smooth)
		if _, dup := g.byKey[b.key]; dup {
			return nil, rateConfigErr(venue, "%s given twice", b.key)
		}
		g.byKey[b.key] = b
		g.buckets = append(g.buckets, b)
		if g.shortest == nil || b.interval < g.shortest.interval {
			g.shortest = b
		}
	}
	return g, nil
}

// Capacity returns what the guard admits per window of the bucket with the
// given key (exchange.BucketKey), and false for an unknown key.
func (g *RateGuard) Capacity(key string) (int, bool) {
	b, ok := g.byKey[key]
	if !ok {
		return 0, false
	}
	return b.capacity, true
}

// rateHold is a reservation: the parts taken from each bucket and the moment
// the request may leave (ns on the venue clock).
type rateHold struct {
	at    int64
	parts []rateHoldPart
}

type rateHoldPart struct {
	b     *rateBucket
	w     int64
	n     int
	pacer *rate.Reservation
	edge  bool  // the neighbouring window of a request within skew of its boundary
	later int64 // with edge: the window that starts at that boundary
}

// Wait reserves cost in every bucket and returns when the request may be
// signed and sent. It fails at once with an *exchange.RateLimitError during
// a ban or when the reservation would start after the context's deadline,
// with an error wrapping ErrRateCost when a bucket can never admit the cost,
// and with the context's error when the context ends while it waits. The
// one wait it cannot size in advance, for the first usage report of a new
// guard (RateSyncTimeout), ends at the deadline with a *RateLimitError.
func (g *RateGuard) Wait(ctx context.Context, cost exchange.Cost) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("limits: %s: rate guard: %w", g.venue, err)
	}
	for {
		g.mu.Lock()
		now := g.now()
		if now < g.banUntil {
			err := g.banErr()
			g.mu.Unlock()
			return err
		}
		if wait, wake, until := g.probeWait(now); wait > 0 {
			g.mu.Unlock()
			if err := g.pause(ctx, wait, wake, "usage sync", until); err != nil {
				return err
			}
			continue
		}
		h, label, err := g.reserve(now, cost)
		if err != nil {
			g.mu.Unlock()
			return err
		}
		wait := time.Duration(h.at - now)
		if dl, ok := ctx.Deadline(); ok && wait > time.Until(dl) {
			g.cancel(h, now)
			g.mu.Unlock()
			return &exchange.RateLimitError{Venue: g.venue, Limit: label, Until: rateTime(h.at)}
		}
		probe := !g.synced
		if probe {
			g.probeUntil = h.at + g.syncTimeout
		}
		g.mu.Unlock()
		if wait <= 0 {
			return nil
		}

		if err := g.sleep(ctx, wait, nil); err != nil {
			g.mu.Lock()
			g.cancel(h, g.now())
			g.releaseProbe(probe)
			g.mu.Unlock()
			return fmt.Errorf("limits: %s: waiting for rate capacity: %w", g.venue, err)
		}

		// The venue may have answered 429 or 418, or reported a fuller
		// window, while this request slept: check again before it leaves.
		g.mu.Lock()
		now = g.now()
		switch {
		case now < g.banUntil:
			g.cancel(h, now)
			g.releaseProbe(probe)
			err := g.banErr()
			g.mu.Unlock()
			return err
		case now < g.backoffUntil || g.overcommitted(h) || rateLate(h, now):
			g.cancel(h, now)
			g.releaseProbe(probe)
			g.mu.Unlock()
			continue
		}
		g.mu.Unlock()
		return nil
	}
}

// now reads the venue clock; g.mu is held.
func (g *RateGuard) now() int64 {
	now := g.clock().UnixNano()
	for _, b := range g.buckets {
		b.prune(now)
	}
	return now
}

func rateTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func (g *RateGuard) banErr() error {
	return &exchange.RateLimitError{Venue: g.venue, Limit: "ban", Until: rateTime(g.banUntil), Banned: true}
}

// probeWait says how long a request must wait for the probe in flight; g.mu
// is held.
func (g *RateGuard) probeWait(now int64) (time.Duration, <-chan struct{}, int64) {
	if g.synced || g.probeUntil == 0 {
		return 0, nil, 0
	}
	if now >= g.probeUntil {
		// No report in time: trust the guard's own count from now on.
		g.synced = true
		g.broadcast()
		return 0, nil, 0
	}
	return time.Duration(g.probeUntil - now), g.wake, g.probeUntil
}

// releaseProbe lets another request probe when the probe was not sent; g.mu
// is held.
func (g *RateGuard) releaseProbe(probe bool) {
	if probe && !g.synced {
		g.probeUntil = 0
		g.broadcast()
	}
}

func (g *RateGuard) broadcast() {
	close(g.wake)
	g.wake = make(chan struct{})
}

// pause waits for d or wake. It fails with a *exchange.RateLimitError when
// the context's deadline comes first.
func (g *RateGuard) pause(ctx context.Context, d time.Duration, wake <-chan struct{}, label string, until int64) error {
	short := false
	if dl, ok := ctx.Deadline(); ok && d > time.Until(dl) {
		d, short = max(0, time.Until(dl)), true
	}
	err := g.sleep(ctx, d, wake)
	select {
	case <-wake:
		return nil
	default:
	}
	switch {
	case short && (err == nil || errors.Is(err, context.DeadlineExceeded)):
		return &exchange.RateLimitError{Venue: g.venue, Limit: label, Until: rateTime(until)}
	case err != nil:
		return fmt.Errorf("limits: %s: waiting for rate capacity: %w", g.venue, err)
	}
	return nil
}

// reserve takes cost from every bucket at the earliest moment from now on
// at which all of them have room; g.mu is held. It returns the hold and the
// label of the limit that delayed it most.
func (g *RateGuard) reserve(now int64, cost exchange.Cost) (rateHold, string, error) {
	for _, b := range g.buckets {
		n := b.limit.Counts.of(cost)
		if n < 0 {
			return rateHold{}, "", fmt.Errorf("%w: %s: negative cost %+v", ErrRateCost, g.venue, cost)
		}
		if n > b.capacity {
			return rateHold{}, "", fmt.Errorf("%w: %s: %s: cost %d, at most %d per window; split the request", ErrRateCost, g.venue, b.label, n, b.capacity)
		}
	}
	t, label := now, ""
	if g.backoffUntil > t {
		t, label = g.backoffUntil, "429 Retry-After"
	}
	for range rateMaxSearch {
		if moved, l := g.fit(&t, cost); moved {
			if l != "" {
				label = l
			}
			continue
		}
		h, late := g.take(t, cost)
		if late == nil {
			if label == "" && h.at > now {
				label = "window boundary"
			}
			return h, label, nil
		}
		// Pacing pushed the request to the end of a window: next window.
		t, label = late.usableFrom(late.window(t)+1), late.label
	}
	return rateHold{}, "", fmt.Errorf("%w: %s: no window with room found", ErrRateCost, g.venue)
}

func (b *rateBucket) usableFrom(w int64) int64 {
	from, _ := b.usable(w)
	return from
}

// fit moves *t to the next moment a bucket would refuse less; it reports
// whether it moved and the label of a full bucket that moved it.
func (g *RateGuard) fit(t *int64, cost exchange.Cost) (bool, string) {
	moved, label := false, ""
	for _, b := range g.buckets {
		n := b.limit.Counts.of(cost)
		if n == 0 {
			continue
		}
		w := b.window(*t)
		from, to := b.usable(w)
		if nb, edge := b.edge(*t); edge && b.straddle(w, nb, n) {
			continue // counted in both windows (take)
		}
		switch {
		case *t < from:
			*t, moved = from, true
		case *t > to:
			*t, moved = b.usableFrom(w+1), true
		case b.used(w)+n > b.capacity:
			*t, moved, label = b.usableFrom(w+1), true, b.label
		}
	}
	return moved, label
}

// take reserves cost at t, where every bucket has room. When pacing would
// move the request past the usable end of a window, it takes nothing and
// returns that bucket.
func (g *RateGuard) take(t int64, cost exchange.Cost) (rateHold, *rateBucket) {
	h := rateHold{at: t, parts: make([]rateHoldPart, 0, len(g.buckets))}
	at := rateTime(t)
	for _, b := range g.buckets {
		n := b.limit.Counts.of(cost)
		if n == 0 {
			continue
		}
		w := b.window(t)
		p := rateHoldPart{b: b, w: w, n: n}
		if s := b.slot(w); s.pacer != nil {
			p.pacer = s.pacer.ReserveN(at, min(n, s.pacer.Burst()))
			h.at = max(h.at, t+int64(p.pacer.DelayFrom(at)))
		}
		h.parts = append(h.parts, p)
		if nb, edge := b.edge(t); edge && b.smooth >= 1 {
			// fit found room in both windows (straddle).
			b.slot(nb)
			h.parts = append(h.parts, rateHoldPart{b: b, w: nb, n: n, edge: true, later: max(w, nb)})
		}
	}
	for _, p := range h.parts {
		if p.edge {
			continue
		}
		if _, edge := p.b.edge(t); edge && h.at == t && p.b.smooth >= 1 {
			continue // leaves at t, counted in both windows
		}
		if _, to := p.b.usable(p.w); h.at > to {
			for _, q := range h.parts {
				if q.pacer != nil {
					q.pacer.CancelAt(at)
				}
			}
			return rateHold{}, p.b
		}
	}
	for _, p := range h.parts {
		p.b.slots[p.w].count += p.n
		if p.edge {
			p.b.slots[p.later].edge += p.n
		}
	}
	return h, nil
}

// cancel gives back what h reserved; g.mu is held.
func (g *RateGuard) cancel(h rateHold, now int64) {
	for _, p := range h.parts {
		if s := p.b.slots[p.w]; s != nil {
			s.count -= p.n
		}
		if s := p.b.slots[p.later]; p.edge && s != nil {
			s.edge -= p.n
		}
		if p.pacer != nil {
			p.pacer.CancelAt(rateTime(now))
		}
	}
}

// overcommitted reports whether a window h reserved in is now counted above
// capacity, because the venue reported more than the guard knew of.
func (g *RateGuard) overcommitted(h rateHold) bool {
	for _, p := range h.parts {
		if s := p.b.slots[p.w]; s != nil && s.count > p.b.capacity {
			return true
		}
	}
	return false
}

// late reports whether the request woke after the usable part of a window it
// reserved in: it would be counted in a window it did not reserve.
func rateLate(h rateHold, now int64) bool {
	for _, p := range h.parts {
		if _, to := p.b.usable(p.w); now > to {
			return true
		}
	}
	return false
}

// Observe corrects the guard from a venue answer: the counts the venue
// reports for its current windows, a 429's pause and a 418's ban. u.At is
// read on the guard's clock; zero means now.
func (g *RateGuard) Observe(u exchange.Usage) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	at := now
	if !u.At.IsZero() {
		at = u.At.UnixNano()
	}
	if !g.synced {
		g.synced = true
		g.broadcast()
	}
	for key, n := range u.Used {
		b := g.byKey[key]
		if b == nil {
			continue
		}
		w := b.window(at)
		if w < b.window(now) {
			continue // a window that is over
		}
		b.slot(w).observe(n)
	}
	switch u.Status {
	case 429:
		until := at + int64(u.RetryAfter)
		if u.RetryAfter <= 0 {
			until = g.shortest.usableFrom(g.shortest.window(at) + 1)
		}
		if until > g.backoffUntil {
			g.backoffUntil = until
		}
		g.logger.Warn("rate limited by the venue; pausing requests", "venue", g.venue, "until", rateTime(until))
	case 418:
		until := at + int64(u.RetryAfter)
		if u.RetryAfter <= 0 {
			until = at + int64(DefaultRateBanTime)
		}
		if until > g.banUntil {
			g.banUntil = until
		}
		g.logger.Error("banned by the venue for exceeding rate limits; refusing requests", "venue", g.venue, "until", rateTime(until))
	}
}

// rateSleep waits for d, for wake to be closed, or for ctx to be done.
func rateSleep(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
