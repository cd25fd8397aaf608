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
	const (
		limit    = 100 // weight per second
		weight   = 2   // GET /api/v3/ticker/price with a symbol
		duration = 4 * time.Second
		workers  = 32
		// ten times the weight the venue allows over the run
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

	var (
		mu        sync.Mutex
		used      = map[string]int{} // Date second -> venue's used weight
		sent      int
		attempted int
		jobs      = make(chan struct{}, requests)
		wg        sync.WaitGroup
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
				attempted++
				if err == nil {
					sent++
					n, _ := strconv.Atoi(resp.Header.Get("X-MBX-USED-WEIGHT-1S"))
					if d := resp.Header.Get("Date"); n > used[d] {
						used[d] = n
					}
				} else if !errors.Is(err, exchange.ErrRateLimited) && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("unexpected error: %v", err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()

	if n := env.sim.Count429() + env.sim.Count418(); n != 0 {
		t.Fatalf("the venue answered %d times with 429/418", n)
	}
	if attempted != requests {
		t.Fatalf("attempted %d requests, want %d", attempted, requests)
	}
	// Complete windows: every second seen but the first and the last.
	var secs []time.Time
	for d := range used {
		at, err := http.ParseTime(d)
		if err != nil {
			t.Fatal(err)
		}
		secs = append(secs, at)
	}
	if len(secs) < 3 {
		t.Fatalf("answers in %d windows; want at least 3", len(secs))
	}
	first, last := secs[0], secs[0]
	for _, s := range secs {
		if s.Before(first) {
			first = s
		}
		if s.After(last) {
			last = s
		}
	}
	total, windows := 0, 0
	for d, n := range used {
		at, _ := http.ParseTime(d)
		if at.Equal(first) || at.Equal(last) {
			continue
		}
		total += n
		windows++
	}
	util := float64(total) / float64(windows*limit)
	t.Logf("%d requests sent of %d attempted; %d complete windows, utilisation %.1f%% of the venue's limit", sent, attempted, windows, 100*util)
	if util < 0.95 {
		t.Errorf("utilisation %.1f%% of the allowed weight, want at least 95%%", 100*util)
	}
}
