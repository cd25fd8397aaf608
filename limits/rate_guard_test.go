package limits

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keyfence/keyfence/exchange"
)

// rateFake is a fake venue clock; the guard's sleeps advance it.
type rateFake struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
	// during, if set, runs at the start of a sleep (to let the venue answer
	// while a request waits).
	during func()
}

func (f *rateFake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *rateFake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *rateFake) sleep(ctx context.Context, d time.Duration, _ <-chan struct{}) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if fn := f.during; fn != nil {
		f.during = nil
		fn()
	}
	f.mu.Lock()
	f.slept = append(f.slept, d)
	f.now = f.now.Add(d)
	f.mu.Unlock()
	return nil
}

func (f *rateFake) sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.slept...)
}

// rateT0 is 12.5 s into a minute, inside every window's usable part.
var rateT0 = time.Date(2026, 3, 2, 10, 0, 12, 500_000_000, time.UTC)

func newFakeRateGuard(t *testing.T, limits []RateLimit, opts ...RateOption) (*RateGuard, *rateFake) {
	t.Helper()
	f := &rateFake{now: rateT0}
	opts = append([]RateOption{RateClock(f.Now), RateSyncTimeout(0), RateSkew(100 * time.Millisecond)}, opts...)
	g, err := NewRateGuard("binance", limits, opts...)
	require.NoError(t, err)
	g.sleep = f.sleep
	return g, f
}

var (
	rateWeight1m = RateLimit{Name: "REQUEST_WEIGHT", Interval: time.Minute, Limit: 100, Counts: RateWeight}
	rateOrders10 = RateLimit{Name: "ORDERS", Interval: 10 * time.Second, Limit: 5, Counts: RateOrders}
	rateRaw5m    = RateLimit{Name: "RAW_REQUESTS", Interval: 5 * time.Minute, Limit: 1000, Counts: RateRequests}
)

func waitN(t *testing.T, g *RateGuard, n int, cost exchange.Cost) {
	t.Helper()
	for i := range n {
		require.NoError(t, g.Wait(context.Background(), cost), "request %d", i)
	}
}

func TestRateGuardWindowRollover(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateMargin(0))
	waitN(t, g, 50, exchange.Cost{Weight: 2})
	assert.Empty(t, f.sleeps(), "the first window's allowance is available at once")

	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	next := rateT0.Truncate(time.Minute).Add(time.Minute + 100*time.Millisecond)
	assert.Equal(t, []time.Duration{next.Sub(rateT0)}, f.sleeps(), "sleeps until the next window opens, plus the skew")
	assert.True(t, f.Now().Equal(next))

	waitN(t, g, 99, exchange.Cost{Weight: 1})
	assert.Len(t, f.sleeps(), 1, "the new window holds the rest of its allowance")
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	assert.Len(t, f.sleeps(), 2)
}

func TestRateGuardSmallRequestUsesWhatIsLeft(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateMargin(0))
	waitN(t, g, 1, exchange.Cost{Weight: 95})

	// A request of 10 does not fit and waits for the next window ...
	done := make(chan error, 1)
	f.during = func() {
		// ... while a request of 5, asked meanwhile, fits in this one.
		done <- g.Wait(context.Background(), exchange.Cost{Weight: 5})
	}
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 10}))
	require.NoError(t, <-done)
	assert.Len(t, f.sleeps(), 1, "only the large request slept")
}

func TestRateGuardSkewKeepsRequestsOffBoundaries(t *testing.T) {
	// A paced guard keeps every request off the boundaries.
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateSmooth(0.5))
	f.Advance(rateT0.Truncate(time.Minute).Add(time.Minute - 50*time.Millisecond).Sub(rateT0))
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	assert.Equal(t, []time.Duration{150 * time.Millisecond}, f.sleeps(), "a request 50ms before the boundary leaves 100ms after it")
}

// A request within the skew of a boundary may be counted by the venue in
// either window: it leaves at once when both have room, counted in both,
// as long as what straddles the boundary stays within a twentieth of the
// capacity.
func TestRateGuardBoundaryCountsBothWindows(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateMargin(0))
	boundary := rateT0.Truncate(time.Minute).Add(time.Minute)
	waitN(t, g, 1, exchange.Cost{Weight: 60})
	f.Advance(boundary.Add(-50 * time.Millisecond).Sub(rateT0))
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 5}))
	assert.Empty(t, f.sleeps(), "50ms before the boundary, with room on both sides: leaves at once")

	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	assert.Equal(t, []time.Duration{150 * time.Millisecond}, f.sleeps(), "5 of 100 straddle the boundary already: the next waits until it is clear of it")

	// The 5 count in the window after the boundary too: with the 1, 94
	// more fill it.
	waitN(t, g, 1, exchange.Cost{Weight: 94})
	assert.Len(t, f.sleeps(), 1)
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	assert.Len(t, f.sleeps(), 2, "5 + 1 + 94 fill the window after the boundary")
	assert.True(t, f.Now().Equal(boundary.Add(time.Minute+100*time.Millisecond)), "the next request waits for the window after: %v", f.Now())
}

// The window just before the boundary is not forgotten while requests
// straddle it: one that it has no room for waits.
func TestRateGuardBoundaryRemembersTheWindowBefore(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateMargin(0))
	boundary := rateT0.Truncate(time.Minute).Add(time.Minute)
	waitN(t, g, 1, exchange.Cost{Weight: 95})
	f.Advance(boundary.Add(30 * time.Millisecond).Sub(rateT0))
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 10}))
	assert.Equal(t, []time.Duration{70 * time.Millisecond}, f.sleeps(), "95 + 10 would overfill the window before if the venue counted it there")
}

func TestRateGuardCapacity(t *testing.T) {
	for _, tc := range []struct {
		limit  int
		margin float64
		want   int
	}{
		{6000, DefaultRateMargin, 5820},
		{100, DefaultRateMargin, 97},
		{50, DefaultRateMargin, 48},
		{10, DefaultRateMargin, 9}, // strictly below the limit
		{2, 0.01, 1},
		{100, 0, 100},
		{1, 0, 1},
	} {
		l := RateLimit{Name: "REQUEST_WEIGHT", Interval: time.Minute, Limit: tc.limit, Counts: RateWeight}
		g, err := NewRateGuard("binance", []RateLimit{l}, RateMargin(tc.margin))
		require.NoError(t, err)
		c, ok := g.Capacity("REQUEST_WEIGHT:1m")
		assert.True(t, ok)
		assert.Equal(t, tc.want, c, "limit %d margin %v", tc.limit, tc.margin)
	}
}

func TestRateGuardObserveRaisesCount(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}) // capacity 97
	waitN(t, g, 10, exchange.Cost{Weight: 1})

	// Another process on the same IP spent 80 more.
	g.Observe(exchange.Usage{At: f.Now(), Status: 200, Used: map[string]int{"REQUEST_WEIGHT:1m": 90, "UNKNOWN:1m": 5}})
	// A lower report (an older answer) does not lower the count.
	g.Observe(exchange.Usage{Status: 200, Used: map[string]int{"REQUEST_WEIGHT:1m": 3}})
	// A report for a window that is over is ignored.
	g.Observe(exchange.Usage{At: f.Now().Add(-time.Minute), Status: 200, Used: map[string]int{"REQUEST_WEIGHT:1m": 97}})

	waitN(t, g, 7, exchange.Cost{Weight: 1})
	assert.Empty(t, f.sleeps(), "90 + 7 = capacity")
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	assert.Len(t, f.sleeps(), 1, "the 98th waits for the next window")
}

func TestRateGuardObserveDuringWaitReplans(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}) // capacity 97
	waitN(t, g, 1, exchange.Cost{Weight: 97})
	// While the next request waits for the next window, the venue reports
	// that window over capacity (another process).
	f.during = func() {
		next := rateT0.Truncate(time.Minute).Add(time.Minute + time.Second)
		g.Observe(exchange.Usage{At: next, Status: 200, Used: map[string]int{"REQUEST_WEIGHT:1m": 98}})
	}
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	s := f.sleeps()
	require.Len(t, s, 2, "replanned into the window after")
	assert.True(t, f.Now().Equal(rateT0.Truncate(time.Minute).Add(2*time.Minute+100*time.Millisecond)), "now %v", f.Now())
}

func TestRateGuard429Backoff(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m})
	g.Observe(exchange.Usage{At: f.Now(), Status: 429, RetryAfter: 30 * time.Second, Used: map[string]int{"REQUEST_WEIGHT:1m": 50}})
	until := rateT0.Add(30 * time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := g.Wait(ctx, exchange.Cost{Weight: 1})
	var rl *exchange.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.ErrorIs(t, err, exchange.ErrRateLimited)
	assert.False(t, rl.Banned)
	assert.True(t, rl.Until.Equal(until), "until %v, want %v", rl.Until, until)
	assert.Equal(t, "429 Retry-After", rl.Limit)
	assert.Empty(t, f.sleeps(), "fails at once when the pause outlasts the deadline")

	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	assert.Equal(t, []time.Duration{30 * time.Second}, f.sleeps(), "waits out Retry-After")
}

func TestRateGuard429WithoutRetryAfter(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m, rateOrders10})
	g.Observe(exchange.Usage{Status: 429})
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	want := rateT0.Truncate(10 * time.Second).Add(10*time.Second + 100*time.Millisecond)
	assert.True(t, f.Now().Equal(want), "pauses to the next window of the shortest limit: now %v, want %v", f.Now(), want)
}

func TestRateGuard418BanRefusesAtOnce(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m})
	g.Observe(exchange.Usage{At: f.Now(), Status: 418, RetryAfter: 3 * time.Minute})
	until := rateT0.Add(3 * time.Minute)

	err := g.Wait(context.Background(), exchange.Cost{Weight: 1}) // no deadline at all
	var rl *exchange.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.ErrorIs(t, err, exchange.ErrBanned)
	assert.True(t, rl.Banned)
	assert.True(t, rl.Until.Equal(until), "until %v, want %v", rl.Until, until)
	assert.Contains(t, err.Error(), "banned")
	assert.Contains(t, err.Error(), until.Format(time.RFC3339))
	assert.Empty(t, f.sleeps(), "never sleeps through a ban")

	f.Advance(3 * time.Minute)
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}), "the ban is over")
}

func TestRateGuard418DefaultBan(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m})
	g.Observe(exchange.Usage{Status: 418})
	var rl *exchange.RateLimitError
	require.ErrorAs(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}), &rl)
	assert.True(t, rl.Until.Equal(rateT0.Add(DefaultRateBanTime)))
	_ = f
}

func TestRateGuardBanDuringWait(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateMargin(0))
	waitN(t, g, 1, exchange.Cost{Weight: 100})
	f.during = func() { g.Observe(exchange.Usage{Status: 418, RetryAfter: time.Hour}) }
	err := g.Wait(context.Background(), exchange.Cost{Weight: 1})
	assert.ErrorIs(t, err, exchange.ErrBanned, "a request that waited is not sent into a ban")
}

func TestRateGuardDeadlineShorterThanWait(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateMargin(0))
	waitN(t, g, 1, exchange.Cost{Weight: 100})
	next := rateT0.Truncate(time.Minute).Add(time.Minute + 100*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := g.Wait(ctx, exchange.Cost{Weight: 60})
	var rl *exchange.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.ErrorIs(t, err, exchange.ErrRateLimited)
	assert.Equal(t, "REQUEST_WEIGHT 1m", rl.Limit)
	assert.True(t, rl.Until.Equal(next), "until %v, want %v", rl.Until, next)
	assert.Empty(t, f.sleeps())

	// The refused request reserved nothing in the next window.
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 100}))
	assert.True(t, f.Now().Equal(next))
}

func TestRateGuardCanceledWhileWaiting(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateMargin(0))
	waitN(t, g, 1, exchange.Cost{Weight: 100})
	ctx, cancel := context.WithCancel(context.Background())
	g.sleep = func(ctx context.Context, d time.Duration, wake <-chan struct{}) error {
		cancel()
		return ctx.Err()
	}
	err := g.Wait(ctx, exchange.Cost{Weight: 100})
	assert.ErrorIs(t, err, context.Canceled)

	g.sleep = f.sleep
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 100}), "the canceled reservation was given back")
	assert.Len(t, f.sleeps(), 1)

	cancel()
	assert.ErrorIs(t, g.Wait(ctx, exchange.Cost{Weight: 1}), context.Canceled)
}

func TestRateGuardMultiBucketAtomic(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m, rateOrders10, rateRaw5m}, RateMargin(0))
	order := exchange.Cost{Weight: 1, Orders: 1}
	waitN(t, g, 5, order)

	// The ORDERS bucket is full: the sixth order is refused and must not
	// take weight or a raw request.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var rl *exchange.RateLimitError
	require.ErrorAs(t, g.Wait(ctx, order), &rl)
	assert.Equal(t, "ORDERS 10s", rl.Limit)

	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 95}), "weight 5 + 95 = 100: none taken by the refused order")
	assert.Empty(t, f.sleeps())
	assert.Equal(t, 6, g.byKey["RAW_REQUESTS:5m"].used(g.byKey["RAW_REQUESTS:5m"].window(rateT0.UnixNano())), "one raw request each")

	// A weight-only request is not held back by the full ORDERS bucket ...
	// but the weight bucket is full now, so it waits for the minute.
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	assert.True(t, f.Now().Equal(rateT0.Truncate(time.Minute).Add(time.Minute+100*time.Millisecond)))
}

func TestRateGuardOrdersFullDoesNotBlockReads(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m, rateOrders10}, RateMargin(0))
	waitN(t, g, 5, exchange.Cost{Weight: 1, Orders: 1})
	waitN(t, g, 10, exchange.Cost{Weight: 1})
	assert.Empty(t, f.sleeps())
}

func TestRateGuardCostTooLarge(t *testing.T) {
	g, _ := newFakeRateGuard(t, []RateLimit{rateWeight1m})
	err := g.Wait(context.Background(), exchange.Cost{Weight: 98})
	assert.ErrorIs(t, err, ErrRateCost)
	assert.Contains(t, err.Error(), "at most 97")
	assert.ErrorIs(t, g.Wait(context.Background(), exchange.Cost{Weight: -1}), ErrRateCost)
}

func TestRateGuardSyncProbe(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateSyncTimeout(time.Second))
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}), "the probe leaves at once")
	// No usage report yet: the next request waits for it, then for the
	// timeout, and then trusts the guard's own count.
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	assert.Equal(t, []time.Duration{time.Second}, f.sleeps())
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	assert.Len(t, f.sleeps(), 1)

	// A report ends the probe at once, with the venue's count.
	g2, f2 := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateSyncTimeout(time.Second))
	require.NoError(t, g2.Wait(context.Background(), exchange.Cost{Weight: 1}))
	g2.Observe(exchange.Usage{Status: 200, Used: map[string]int{"REQUEST_WEIGHT:1m": 96}}) // spent before a restart
	require.NoError(t, g2.Wait(context.Background(), exchange.Cost{Weight: 1}))
	assert.Empty(t, f2.sleeps())
	require.NoError(t, g2.Wait(context.Background(), exchange.Cost{Weight: 1}))
	assert.Len(t, f2.sleeps(), 1, "the restarted guard does not spend what was spent before")
}

func TestRateGuardSyncProbeConcurrent(t *testing.T) {
	// Real sleeps: requests behind the probe are woken by the first report.
	g, err := NewRateGuard("binance", []RateLimit{{Name: "REQUEST_WEIGHT", Interval: time.Hour, Limit: 1000, Counts: RateWeight}},
		RateSyncTimeout(time.Hour), RateSkew(0))
	require.NoError(t, err)
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- g.Wait(context.Background(), exchange.Cost{Weight: 1}) }()
	}
	select {
	case err := <-errs:
		t.Fatalf("a request left before the probe was answered: %v", err)
	default:
	}
	g.Observe(exchange.Usage{Status: 200, Used: map[string]int{"REQUEST_WEIGHT:1h": 1}})
	for range 4 {
		assert.NoError(t, <-errs)
	}
}

func TestRateGuardSmooth(t *testing.T) {
	g, f := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateMargin(0), RateSmooth(0.1))
	start := f.Now()
	windowEnd := rateT0.Truncate(time.Minute).Add(time.Minute - 100*time.Millisecond)
	waitN(t, g, 10, exchange.Cost{Weight: 1})
	assert.Empty(t, f.sleeps(), "a tenth of the allowance at once")
	waitN(t, g, 40, exchange.Cost{Weight: 1})
	assert.NotEmpty(t, f.sleeps(), "the rest is paced")
	assert.True(t, f.Now().After(start))
	assert.True(t, f.Now().Before(windowEnd), "paced within the window: %v", f.Now())
}

func TestNewRateGuardInvalid(t *testing.T) {
	ok := rateWeight1m
	for _, tc := range []struct {
		name   string
		venue  string
		limits []RateLimit
		opts   []RateOption
		msg    string
	}{
		{"no venue", "", []RateLimit{ok}, nil, "name the venue"},
		{"no limits", "binance", nil, nil, "no limits"},
		{"no name", "binance", []RateLimit{{Interval: time.Minute, Limit: 1, Counts: RateWeight}}, nil, "no name"},
		{"zero interval", "binance", []RateLimit{{Name: "X", Limit: 1, Counts: RateWeight}}, nil, "whole number of seconds"},
		{"fractional interval", "binance", []RateLimit{{Name: "X", Interval: 1500 * time.Millisecond, Limit: 1, Counts: RateWeight}}, nil, "whole number of seconds"},
		{"zero limit", "binance", []RateLimit{{Name: "X", Interval: time.Minute, Counts: RateWeight}}, nil, "below 1"},
		{"unknown counts", "binance", []RateLimit{{Name: "X", Interval: time.Minute, Limit: 1}}, nil, "unknown"},
		{"duplicate", "binance", []RateLimit{ok, ok}, nil, "given twice"},
		{"nothing after margin", "binance", []RateLimit{{Name: "X", Interval: time.Minute, Limit: 1, Counts: RateWeight}}, nil, "leaves nothing"},
		{"negative margin", "binance", []RateLimit{ok}, []RateOption{RateMargin(-0.1)}, "margin"},
		{"huge margin", "binance", []RateLimit{ok}, []RateOption{RateMargin(0.9)}, "margin"},
		{"skew too large", "binance", []RateLimit{{Name: "X", Interval: time.Second, Limit: 10, Counts: RateWeight}}, []RateOption{RateSkew(300 * time.Millisecond)}, "quarter"},
		{"negative skew", "binance", []RateLimit{ok}, []RateOption{RateSkew(-1)}, "skew"},
		{"smooth zero", "binance", []RateLimit{ok}, []RateOption{RateSmooth(0)}, "smoothing"},
		{"nil clock", "binance", []RateLimit{ok}, []RateOption{RateClock(nil)}, "RateClock"},
		{"negative sync", "binance", []RateLimit{ok}, []RateOption{RateSyncTimeout(-1)}, "sync"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewRateGuard(tc.venue, tc.limits, tc.opts...)
			assert.Nil(t, g)
			require.ErrorIs(t, err, ErrRateConfig)
			assert.Contains(t, err.Error(), tc.msg)
			assert.False(t, strings.Contains(err.Error(), "\n"), "one-line message")
		})
	}
}

func TestRateCountsString(t *testing.T) {
	assert.Equal(t, "weight", RateWeight.String())
	assert.Equal(t, "orders", RateOrders.String())
	assert.Equal(t, "requests", RateRequests.String())
	assert.Equal(t, "RateCounts(9)", RateCounts(9).String())
	assert.Equal(t, "ORDERS:10s", rateOrders10.Key())
}

func TestRateGuardImplementsRateLimiter(t *testing.T) {
	var _ exchange.RateLimiter = (*RateGuard)(nil)
	g, _ := newFakeRateGuard(t, []RateLimit{rateWeight1m})
	_, ok := g.Capacity("ORDERS:10s")
	assert.False(t, ok)
	assert.True(t, errors.Is(&exchange.RateLimitError{}, exchange.ErrRateLimited))
}

func TestRateGuardSyncProbeDeadline(t *testing.T) {
	g, _ := newFakeRateGuard(t, []RateLimit{rateWeight1m}, RateSyncTimeout(time.Minute))
	require.NoError(t, g.Wait(context.Background(), exchange.Cost{Weight: 1}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := g.Wait(ctx, exchange.Cost{Weight: 1})
	var rl *exchange.RateLimitError
	require.ErrorAs(t, err, &rl, "no report before the deadline")
	assert.Equal(t, "usage sync", rl.Limit)
	assert.True(t, rl.Until.Equal(rateT0.Add(time.Minute)))
}
