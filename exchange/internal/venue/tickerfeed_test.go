package venue_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/internal/venue"
	"github.com/shopspring/decimal"
)

// tickerEnv is a TickerFeed over a test venue whose ticker answers a
// symbol's bid and ask, with its request count in X-Used.
type tickerEnv struct {
	hits atomic.Int64
	srv  *httptest.Server
	feed *venue.TickerFeed
	now  time.Time
}

func newTickerEnv(t *testing.T, status int) *tickerEnv {
	t.Helper()
	e := &tickerEnv{now: testNow}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.hits.Add(1)
		w.Header().Set("X-Used", fmt.Sprint(n))
		w.WriteHeader(status)
		fmt.Fprint(w, r.URL.Query().Get("symbol"))
	}))
	t.Cleanup(e.srv.Close)
	e.feed = venue.NewTickerFeed(venue.TickerFeedConfig{
		Name: "testvenue: ticker", BaseURL: e.srv.URL, DefaultMaxAge: time.Second,
		Clock: func() time.Time { return e.now },
		Request: func(symbol string) (*exchange.Wire, exchange.Cost) {
			return &exchange.Wire{Method: http.MethodGet, Path: "/ticker", Query: "symbol=" + symbol}, exchange.Cost{Weight: 3}
		},
		Usage: func(at time.Time, resp *exchange.Response) exchange.Usage {
			return testUsage(nil, at, resp)
		},
		Quote: func(symbol string, resp *exchange.Response, at time.Time) (exchange.Quote, error) {
			if _, apiErr := testAPIError(resp); apiErr != nil {
				return exchange.Quote{}, apiErr
			}
			if string(resp.Body) != symbol {
				return exchange.Quote{}, errors.New("wrong symbol")
			}
			return exchange.Quote{Symbol: symbol, Bid: decimal.NewFromInt(99), Ask: decimal.NewFromInt(101), At: at}, nil
		},
	})
	return e
}

func TestTickerFeedWaitsFetchesAndCaches(t *testing.T) {
	e := newTickerEnv(t, http.StatusOK)
	rate := &recordingRate{hits: &e.hits}
	e.feed.UseRate(rate)
	ctx := context.Background()
	q, err := e.feed.Reference(ctx, "BTCUSDT")
	if err != nil || q.Symbol != "BTCUSDT" || !q.Mid().Equal(decimal.NewFromInt(100)) || !q.At.Equal(testNow) {
		t.Fatalf("quote %+v, %v", q, err)
	}
	if _, err := e.feed.Reference(ctx, "BTCUSDT"); err != nil || e.hits.Load() != 1 {
		t.Fatalf("second reference within MaxAge: %v, venue hits %d", err, e.hits.Load())
	}
	e.now = e.now.Add(2 * time.Second)
	if _, err := e.feed.Reference(ctx, "BTCUSDT"); err != nil || e.hits.Load() != 2 {
		t.Fatalf("reference after MaxAge: %v, venue hits %d", err, e.hits.Load())
	}
	rate.mu.Lock()
	defer rate.mu.Unlock()
	if len(rate.waits) != 2 || rate.waits[0] != (exchange.Cost{Weight: 3}) || rate.hitsAtWait[0] != 0 || rate.hitsAtWait[1] != 1 {
		t.Fatalf("waits %v at venue hits %v, want one of weight 3 before each request", rate.waits, rate.hitsAtWait)
	}
	if len(rate.observed) != 2 || rate.observed[1].Used["REQUEST_WEIGHT:1m"] != 2 || !rate.observed[1].At.Equal(e.now) {
		t.Fatalf("observed %+v, want the venue's usage at each answer", rate.observed)
	}
}

func TestTickerFeedErrors(t *testing.T) {
	e := newTickerEnv(t, http.StatusBadRequest)
	var apiErr *exchange.APIError
	if _, err := e.feed.Reference(context.Background(), "NOPE"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		t.Fatalf("refusal: %v", err)
	}
	e.srv.Close()
	_, err := e.feed.Reference(context.Background(), "BTCUSDT")
	if err == nil || !strings.HasPrefix(err.Error(), "testvenue: ticker BTCUSDT: ") {
		t.Fatalf("transport failure: %v", err)
	}
	refusing := &refusingRate{}
	e.feed.UseRate(refusing)
	var rlErr *exchange.RateLimitError
	if _, err := e.feed.Reference(context.Background(), "ETHUSDT"); !errors.As(err, &rlErr) {
		t.Fatalf("rate refusal: %v", err)
	}
}

func TestTickerFeedNeedsItsHooks(t *testing.T) {
	f := venue.NewTickerFeed(venue.TickerFeedConfig{Name: "testvenue: ticker", DefaultBaseURL: "http://127.0.0.1:1"})
	if _, err := f.Reference(context.Background(), "BTCUSDT"); err == nil {
		t.Fatal("feed without hooks fetched")
	}
}
