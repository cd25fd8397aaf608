package binance

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
)

// TestRateGuardEfficiencyOnSimulator sends a burst of ten times the weight
// allowance through the client, from many goroutines, to the simulated
// Binance enforcing the same limit: the venue answers no 429 and no 418,
// and the client uses at least 95% of the weight allowed in every complete
// window. The venue's count per window is read from X-MBX-USED-WEIGHT-1S,
// by the second of the answer's Date header.
func TestRateGuardEfficiencyOnSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a few seconds")
	}
	// The guard's promise holds when a request reaches the venue within
	// the guard's skew (100 ms) of leaving, and the utilisation it reaches
	// is the guard's only while the test process runs: a stall of the
	// process loses its share of a one-second window whatever the guard
	// does (a 40 ms stall alone costs 4% of a window). A run whose
	// heartbeat saw such a stall measured the machine, not the guard, and
	// is discarded whatever it measured; a run without one must pass
	// every check. A missing guard fails every undisturbed run with 429s.
	for try := 1; ; try++ {
		r := burstRun(t)
		if r.stall < disturbed {
			r.check(t)
			return
		}
		t.Logf("run %d disturbed: the test process stalled for %v (%d answers 429/418, utilisation %.1f%%); repeating",
			try, r.stall, r.rejected, 100*r.util)
		if try == 3 {
			t.Skipf("the test process stalled for %v or more in %d runs; the machine is too loaded to measure", disturbed, try)
		}
	}
}

// disturbed is the longest stall of the test process after which a run
// still measures the rate guard: the heartbeat ticks every 10 ms, so a
// gap of 40 ms is three missed ticks.
const disturbed = 40 * time.Millisecond

type burstResult struct {
	rejected       int64         // 429 and 418 answers
	stall          time.Duration // longest gap of a 10 ms heartbeat
	sent, attempts int
	util           float64
	windows        int
	errs           []error
}

func (r burstResult) check(t *testing.T) {
	t.Helper()
	for _, err := range r.errs {
		t.Errorf("unexpected error: %v", err)
	}
	t.Logf("%d requests sent of %d attempted; %d complete windows, utilisation %.1f%% of the venue's limit (longest stall %v)",
		r.sent, r.attempts, r.windows, 100*r.util, r.stall)
	if r.rejected != 0 {
		t.Fatalf("the venue answered %d times with 429/418", r.rejected)
	}
	if r.windows < 2 {
		t.Fatalf("answers in %d complete windows; want at least 2", r.windows)
	}
	if r.util < 0.95 {
		t.Errorf("utilisation %.1f%% of the allowed weight, want at least 95%%", 100*r.util)
	}
}

// burstRun sends ten times the weight the venue allows over four seconds.
func burstRun(t *testing.T) burstResult {
	const (
		limit    = 100 // weight per second
		weight   = 2   // GET /api/v3/ticker/price with a symbol
		duration = 4 * time.Second
		workers  = 32
		requests = 10 * limit * int(duration/time.Second) / weight
	)
	env := mustSim(t, simOpts{simOpts: []exchangetest.BinanceOption{
		exchangetest.WithBinanceRateLimits(
			exchangetest.BinanceRateLimit{Type: exchangetest.BinanceRequestWeight, Interval: time.Second, Limit: limit},
			exchangetest.BinanceRateLimit{Type: exchangetest.BinanceOrders, Interval: 10 * time.Second, Limit: 100},
		),
	}})
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()

	var r burstResult
	hb := make(chan time.Duration)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		last, worst := time.Now(), time.Duration(0)
		for {
			select {
			case <-ctx.Done():
				hb <- worst
				return
			case now := <-tick.C:
				worst = max(worst, now.Sub(last))
				last = now
			}
		}
	}()

	var (
		mu   sync.Mutex
		used = map[string]int{} // Date second -> venue's used weight
		jobs = make(chan struct{}, requests)
		wg   sync.WaitGroup
	)
	for range requests {
		jobs <- struct{}{}
	}
	close(jobs)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				resp, err := env.c.Do(ctx, &exchange.Request{Method: http.MethodGet, Path: "/api/v3/ticker/price",
					Params: exchange.Params{{Key: "symbol", Value: "BTCUSDT"}}})
				mu.Lock()
				r.attempts++
				if err == nil {
					r.sent++
					n, _ := strconv.Atoi(resp.Header.Get("X-MBX-USED-WEIGHT-1S"))
					if d := resp.Header.Get("Date"); n > used[d] {
						used[d] = n
					}
				} else if !errors.Is(err, exchange.ErrRateLimited) && !errors.Is(err, context.DeadlineExceeded) {
					r.errs = append(r.errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	<-ctx.Done()
	r.stall = <-hb
	r.rejected = env.sim.Count429() + env.sim.Count418()

	// Complete windows: every second answered in but the first and the last.
	var first, last time.Time
	for d := range used {
		at, err := http.ParseTime(d)
		if err != nil {
			t.Fatal(err)
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	total := 0
	for d, n := range used {
		if at, _ := http.ParseTime(d); at.After(first) && at.Before(last) {
			total += n
			r.windows++
		}
	}
	if r.windows > 0 {
		r.util = float64(total) / float64(r.windows*limit)
	}
	return r
}
