package venue_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// The test venue's hooks, as package exchange's Conn tests have them.

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type recordingRate struct {
	hits *atomic.Int64 // the venue's request count

	mu         sync.Mutex
	waits      []exchange.Cost
	hitsAtWait []int64
	observed   []exchange.Usage
}

func (r *recordingRate) Wait(ctx context.Context, cost exchange.Cost) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits = append(r.waits, cost)
	r.hitsAtWait = append(r.hitsAtWait, r.hits.Load())
	return nil
}

func (r *recordingRate) Observe(u exchange.Usage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observed = append(r.observed, u)
}

func testAPIError(resp *exchange.Response) ([]byte, *exchange.APIError) {
	if resp.Status/100 == 2 {
		return resp.Body, nil
	}
	e := &exchange.APIError{Venue: "testvenue", Status: resp.Status, Msg: string(resp.Body), Kind: exchange.ErrRejected}
	if i := strings.Index(string(resp.Body), `"code":"`); i >= 0 {
		rest := string(resp.Body)[i+len(`"code":"`):]
		e.Code = rest[:strings.IndexByte(rest, '"')]
	}
	if resp.Status/100 == 5 {
		e.Kind = exchange.ErrOutcomeUnknown
	}
	return nil, e
}

func testUsage(_ *exchange.Request, at time.Time, resp *exchange.Response) exchange.Usage {
	n, _ := strconv.Atoi(resp.Header.Get("X-Used"))
	return exchange.Usage{At: at, Status: resp.Status, Used: map[string]int{"REQUEST_WEIGHT:1m": n}}
}

// refusingRate is a RateLimiter that refuses every request.
type refusingRate struct {
	mu    sync.Mutex
	waits []exchange.Cost
}

func (r *refusingRate) Wait(ctx context.Context, cost exchange.Cost) error {
	r.mu.Lock()
	r.waits = append(r.waits, cost)
	r.mu.Unlock()
	return &exchange.RateLimitError{Venue: "binance", Limit: "REQUEST_WEIGHT 1m", Until: testNow.Add(time.Minute)}
}

func (r *refusingRate) Observe(exchange.Usage) {}
