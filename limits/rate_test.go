package limits

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keyfence/keyfence/exchange"
)

// rateVenue is a test venue that counts like Binance: fixed windows aligned
// to whole multiples of each interval on its clock, X-MBX-USED-WEIGHT-<n><u>
// and X-MBX-ORDER-COUNT-<n><u> headers on every answer, 429 with
// Retry-After when a request would go over a limit, and a 418 ban for a
// request that arrives while a 429's Retry-After runs.
type rateVenue struct {
	limits []RateLimit
	offset time.Duration // the venue clock is time.Now() + offset
	ban    time.Duration

	mu           sync.Mutex
	counts       map[string]map[int64]int // bucket key → window → accepted
	backoffUntil time.Time
	banUntil     time.Time
	accepted     int
	n429, n418   int
	inBackoff    int // requests that arrived during a 429 backoff
	// misplaced counts requests that arrived in another window than the
	// one they left the guard in (the "sent" parameter): the machine was
	// slower than the guard's RateSkew allows for.
	misplaced int
}

func newRateVenue(offset time.Duration, limits ...RateLimit) *rateVenue {
	return &rateVenue{limits: limits, offset: offset, ban: 2 * time.Second, counts: make(map[string]map[int64]int)}
}

// rateHeaderSuffix is Binance's interval suffix: 1S, 10S, 1M, 1H, 1D.
func rateHeaderSuffix(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dD", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dH", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dM", d/time.Minute)
	}
	return fmt.Sprintf("%dS", d/time.Second)
}

func rateHeaderPrefix(name string) string {
	if name == "ORDERS" {
		return "X-Mbx-Order-Count-"
	}
	return "X-Mbx-Used-Weight-" // REQUEST_WEIGHT; RAW_REQUESTS has no header
}

func (v *rateVenue) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	weight, _ := strconv.Atoi(r.URL.Query().Get("weight"))
	orders, _ := strconv.Atoi(r.URL.Query().Get("orders"))
	cost := exchange.Cost{Weight: weight, Orders: orders}

	sent, _ := strconv.ParseInt(r.URL.Query().Get("sent"), 10, 64)

	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now().Add(v.offset)
	for _, l := range v.limits {
		if sent != 0 && sent/int64(l.Interval) != now.UnixNano()/int64(l.Interval) {
			v.misplaced++
			break
		}
	}
	retry := func(until time.Time) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(until.Sub(now).Seconds()))))
	}
	if now.Before(v.banUntil) {
		v.n418++
		retry(v.banUntil)
		w.WriteHeader(http.StatusTeapot)
		return
	}
	if now.Before(v.backoffUntil) {
		v.inBackoff++
		v.n418++
		v.banUntil = now.Add(v.ban)
		retry(v.banUntil)
		w.WriteHeader(http.StatusTeapot)
		return
	}
	status := http.StatusOK
	for _, l := range v.limits {
		win := now.UnixNano() / int64(l.Interval)
		if v.counts[l.Key()][win]+l.Counts.of(cost) > l.Limit {
			status = http.StatusTooManyRequests
			v.n429++
			v.backoffUntil = time.Unix(0, (win+1)*int64(l.Interval))
			retry(v.backoffUntil)
			break
		}
	}
	for _, l := range v.limits {
		win := now.UnixNano() / int64(l.Interval)
		m := v.counts[l.Key()]
		if m == nil {
			m = make(map[int64]int)
			v.counts[l.Key()] = m
		}
		if status == http.StatusOK {
			m[win] += l.Counts.of(cost)
		}
		if l.Name != "RAW_REQUESTS" {
			w.Header().Set(rateHeaderPrefix(l.Name)+rateHeaderSuffix(l.Interval), strconv.Itoa(m[win]))
		}
	}
	if status == http.StatusOK {
		v.accepted++
	}
	w.WriteHeader(status)
}

// rateUsage translates a Binance answer's headers into exchange.Usage, as
// the Binance client does.
func rateUsage(resp *http.Response, at time.Time) exchange.Usage {
	u := exchange.Usage{At: at, Status: resp.StatusCode, Used: make(map[string]int)}
	for name, vals := range resp.Header {
		var bucket string
		switch upper := strings.ToUpper(name); {
		case strings.HasPrefix(upper, "X-MBX-USED-WEIGHT-"):
			bucket, name = "REQUEST_WEIGHT", upper[len("X-MBX-USED-WEIGHT-"):]
		case strings.HasPrefix(upper, "X-MBX-ORDER-COUNT-"):
			bucket, name = "ORDERS", upper[len("X-MBX-ORDER-COUNT-"):]
		default:
			continue
		}
		if len(name) < 2 {
			continue
		}
		n, err := strconv.Atoi(name[:len(name)-1])
		if err != nil {
			continue
		}
		unit := map[byte]time.Duration{'S': time.Second, 'M': time.Minute, 'H': time.Hour, 'D': 24 * time.Hour}[name[len(name)-1]]
		used, err := strconv.Atoi(vals[0])
		if unit == 0 || err != nil {
			continue
		}
		u.Used[exchange.BucketKey(bucket, time.Duration(n)*unit)] = used
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		u.RetryAfter = time.Duration(s) * time.Second
	}
	return u
}

// rateSend reserves cost with the guard, sends the request and reports the
// answer's usage to the guard. It returns the guard's error, if any, and the
// venue's status.
func rateSend(ctx context.Context, g *RateGuard, client *http.Client, url string, cost exchange.Cost, clock func() time.Time) (int, error) {
	if err := g.Wait(ctx, cost); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet,
		fmt.Sprintf("%s/api/v3/x?weight=%d&orders=%d&sent=%d", url, cost.Weight, cost.Orders, clock().UnixNano()), nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	g.Observe(rateUsage(resp, clock()))
	return resp.StatusCode, nil
}

// TestRateGuardAgainstVenue bursts ten times the allowance from many
// goroutines at a venue that counts in fixed one-second windows, and checks
// that the venue never answers 429 or 418 and that the guard used at least
// 95% of the venue's limit over the complete windows of the run.
//
// The guard's promise holds while a request reaches the venue within
// RateSkew of leaving the guard, and its efficiency while the process runs.
// On a machine so loaded that this fails (the venue sees a request in another
// window than the one it left in, or the process is not scheduled for longer
// than the skew), the run says nothing of the guard and is repeated, up to
// rateAttempts times.
func TestRateGuardAgainstVenue(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a few seconds")
	}
	for _, offset := range []time.Duration{0, 437 * time.Millisecond} {
		t.Run("offset="+offset.String(), func(t *testing.T) {
			t.Parallel()
			for attempt := 1; ; attempt++ {
				r := rateAgainstVenue(t, offset)
				t.Logf("attempt %d, venue clock offset %v: utilisation %.1f%% of the venue's limit over %d complete windows (per window %v, capacity %d); %d requests accepted, %d misplaced, %d 429s, %d 418s, longest stall %v",
					attempt, offset, 100*r.util, len(r.windows), r.windows, rateCapacity(rateVenueLimit, DefaultRateMargin), r.accepted, r.misplaced, r.n429, r.n418, r.stall.Round(time.Millisecond))
				if len(r.failed) > 0 {
					t.Logf("workers stopped on errors: %q", r.failed)
				}
				if r.good() {
					return
				}
				if r.misplaced > 0 || r.stall > rateSkew {
					if attempt == rateAttempts {
						t.Skipf("the process stalled, or requests took longer than the guard's skew to reach the venue, in all %d attempts: the machine is too loaded to judge the guard", rateAttempts)
					}
					continue
				}
				// The run met the guard's premise: it must have kept its promise.
				assert.Zero(t, r.n429, "429s")
				assert.Zero(t, r.n418, "418s")
				for _, n := range r.windows {
					assert.LessOrEqual(t, n, rateVenueLimit)
				}
				assert.Empty(t, r.failed)
				assert.Equal(t, r.workers, r.refused, "every worker ran to the deadline: demand exceeded the allowance")
				assert.GreaterOrEqual(t, r.util, 0.95, "utilisation")
				return
			}
		})
	}
}

const (
	rateVenueLimit = 100 // REQUEST_WEIGHT per second
	rateAttempts   = 5
	rateSkew       = 250 * time.Millisecond
)

type rateRun struct {
	util                            float64
	windows                         []int
	accepted, misplaced, n429, n418 int
	workers, refused                int
	failed                          []string      // workers that stopped on an error
	stall                           time.Duration // the longest the process was not scheduled
}

// good reports whether the run kept every promise: no 429 or 418, no window
// over the limit, every worker refused only at the deadline, and at least 95%
// of the limit used.
func (r rateRun) good() bool {
	for _, n := range r.windows {
		if n > rateVenueLimit {
			return false
		}
	}
	return r.n429 == 0 && r.n418 == 0 && len(r.failed) == 0 && r.refused == r.workers && r.util >= 0.95
}

func rateAgainstVenue(t *testing.T, offset time.Duration) rateRun {
	const (
		run     = 3 * time.Second
		workers = 32
	)
	weight := RateLimit{Name: "REQUEST_WEIGHT", Interval: time.Second, Limit: rateVenueLimit, Counts: RateWeight}
	raw := RateLimit{Name: "RAW_REQUESTS", Interval: 10 * time.Second, Limit: 10000, Counts: RateRequests}
	venue := newRateVenue(offset, weight, raw)
	srv := httptest.NewServer(venue)
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = workers

	// The client knows the venue's clock offset, as venue clients do.
	clock := func() time.Time { return time.Now().Add(offset) }
	g, err := NewRateGuard("testvenue", []RateLimit{weight, raw}, RateClock(clock), RateSkew(rateSkew))
	require.NoError(t, err)

	// A heartbeat measures how long the process went without being
	// scheduled: a stall longer than the skew voids the run.
	stop := make(chan struct{})
	stalls := make(chan time.Duration, 1)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		longest, last := time.Duration(0), time.Now()
		for {
			select {
			case <-stop:
				stalls <- longest
				return
			case <-tick.C:
				now := time.Now()
				longest, last = max(longest, now.Sub(last)), now
			}
		}
	}()

	start := clock()
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	end := start.Add(run)

	// Ten times the weight the run allows, split over the workers in
	// requests of weight 1, 5 and 10 (few requests per window, so that a
	// loaded machine keeps up; the small ones fill what is left).
	demand := 10 * rateVenueLimit * int(run/time.Second)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		refused int
		failed  []string
	)
	for i := range workers {
		wg.Go(func() {
			weights := [...]int{1, 10, 1, 5}
			for n, left := i, demand/workers; left > 0; n++ {
				cost := exchange.Cost{Weight: weights[n%len(weights)]}
				status, err := rateSend(ctx, g, client, srv.URL, cost, clock)
				var rl *exchange.RateLimitError
				if errors.As(err, &rl) || errors.Is(err, context.DeadlineExceeded) {
					mu.Lock()
					refused++
					mu.Unlock()
					return // the deadline is too close for another window
				}
				if err != nil || status != http.StatusOK {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("status %d: %v", status, err))
					mu.Unlock()
					return
				}
				left -= cost.Weight
			}
		})
	}
	wg.Wait()
	close(stop)
	stall := <-stalls

	venue.mu.Lock()
	defer venue.mu.Unlock()

	// The complete windows of the run: after the one holding start, before
	// the one holding end.
	r := rateRun{accepted: venue.accepted, misplaced: venue.misplaced, n429: venue.n429, n418: venue.n418, workers: workers, refused: refused, failed: failed, stall: stall}
	first := start.UnixNano()/int64(time.Second) + 1
	last := end.UnixNano()/int64(time.Second) - 1
	require.GreaterOrEqual(t, last, first, "at least one complete window")
	used := 0
	for w := first; w <= last; w++ {
		n := venue.counts[weight.Key()][w]
		used += n
		r.windows = append(r.windows, n)
	}
	r.util = float64(used) / float64(len(r.windows)*rateVenueLimit)
	return r
}

// TestRateGuardHonoursVenue429 runs a guard that believes the venue allows
// twice what it does: the venue answers 429, and the guard sends nothing
// more until Retry-After has passed, so the venue never bans it.
func TestRateGuardHonoursVenue429(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a few seconds")
	}
	weight := RateLimit{Name: "REQUEST_WEIGHT", Interval: time.Second, Limit: 20, Counts: RateWeight}
	venue := newRateVenue(0, weight)
	srv := httptest.NewServer(venue)
	defer srv.Close()

	wrong := weight
	wrong.Limit = 40
	g, err := NewRateGuard("testvenue", []RateLimit{wrong}, RateSyncTimeout(0))
	require.NoError(t, err)

	// Send until the venue answered 429 and then accepted a request again.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var statuses []int
	for !slices.Contains(statuses, http.StatusTooManyRequests) || statuses[len(statuses)-1] != http.StatusOK {
		status, err := rateSend(ctx, g, srv.Client(), srv.URL, exchange.Cost{Weight: 1}, time.Now)
		require.NoError(t, err)
		statuses = append(statuses, status)
	}
	venue.mu.Lock()
	defer venue.mu.Unlock()
	t.Logf("%d requests, %d answered 429", len(statuses), venue.n429)
	assert.Zero(t, venue.inBackoff, "no request during Retry-After")
	assert.Zero(t, venue.n418, "never banned")
	assert.Equal(t, 1, venue.n429, "after a 429 the guard waits for the next window")
}

// TestRateGuardRestartLearnsVenueCount starts a second guard (a restarted
// bot) in a window the first one nearly filled: it probes with a single
// request, learns the venue's count and fills only what is left.
func TestRateGuardRestartLearnsVenueCount(t *testing.T) {
	weight := RateLimit{Name: "REQUEST_WEIGHT", Interval: 10 * time.Second, Limit: 100, Counts: RateWeight}
	// Put the venue's clock 1 s into a window, so the test runs well inside it.
	now := time.Now()
	offset := time.Second - time.Duration(now.UnixNano()%int64(weight.Interval))
	clock := func() time.Time { return time.Now().Add(offset) }
	venue := newRateVenue(offset, weight)
	srv := httptest.NewServer(venue)
	defer srv.Close()
	ctx := context.Background()

	before, err := NewRateGuard("testvenue", []RateLimit{weight}, RateClock(clock))
	require.NoError(t, err)
	for range 9 {
		_, err := rateSend(ctx, before, srv.Client(), srv.URL, exchange.Cost{Weight: 10}, clock)
		require.NoError(t, err)
	}

	// However loaded the machine, the probe's answer is awaited.
	after, err := NewRateGuard("testvenue", []RateLimit{weight}, RateClock(clock), RateSyncTimeout(time.Minute))
	require.NoError(t, err)
	deadline, cancel := context.WithTimeout(ctx, 5*time.Second) // well before the next window
	defer cancel()
	var wg sync.WaitGroup
	results := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			status, err := rateSend(deadline, after, srv.Client(), srv.URL, exchange.Cost{Weight: 1}, clock)
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("status %d", status)
			}
			results <- err
		})
	}
	wg.Wait()
	close(results)
	sent, refused := 0, 0
	for err := range results {
		switch {
		case err == nil:
			sent++
		case errors.Is(err, exchange.ErrRateLimited):
			refused++
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	venue.mu.Lock()
	defer venue.mu.Unlock()
	assert.Zero(t, venue.n429)
	assert.Equal(t, 7, sent, "90 spent before the restart + 7 = capacity 97")
	assert.Equal(t, 13, refused)
}
