package exchange

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// fakeClock is a clock tests move by hand; it is safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func TestQuoteCacheAge(t *testing.T) {
	const maxAge = time.Second
	tests := []struct {
		name    string
		age     time.Duration // of the cached quote when asked again
		refetch bool
	}{
		{"fresh", 0, false},
		{"half", maxAge / 2, false},
		{"exactly max age", maxAge, false},
		{"just older", maxAge + time.Nanosecond, true},
		{"much older", time.Hour, true},
		{"dated in the future", -time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1_000, 0)}
			var calls atomic.Int64
			c := NewQuoteCache(QuoteCacheConfig{MaxAge: maxAge, Clock: clk.now,
				Fetch: func(_ context.Context, symbol string) (Quote, error) {
					n := calls.Add(1)
					return Quote{Symbol: symbol, Bid: decimal.NewFromInt(n), At: clk.now()}, nil
				}})
			q, err := c.Reference(context.Background(), "BTCUSDT")
			if err != nil || !q.Bid.Equal(decimal.NewFromInt(1)) || q.Symbol != "BTCUSDT" {
				t.Fatalf("first Reference: %+v, %v", q, err)
			}
			clk.add(tt.age)
			q, err = c.Reference(context.Background(), "BTCUSDT")
			if err != nil {
				t.Fatal(err)
			}
			want := int64(1)
			if tt.refetch {
				want = 2
			}
			if calls.Load() != want || !q.Bid.Equal(decimal.NewFromInt(want)) {
				t.Errorf("after %v: %d fetches, quote %s; want %d", tt.age, calls.Load(), q.Bid, want)
			}
		})
	}
}

// ReferenceAt judges the cached quote at the time it is given, not at its
// clock; a zero time means the clock.
func TestQuoteCacheReferenceAt(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000, 0)}
	var calls, clockReads atomic.Int64
	c := NewQuoteCache(QuoteCacheConfig{MaxAge: time.Second,
		Clock: func() time.Time { clockReads.Add(1); return clk.now() },
		Fetch: func(_ context.Context, symbol string) (Quote, error) {
			n := calls.Add(1)
			return Quote{Symbol: symbol, Bid: decimal.NewFromInt(n), At: clk.now()}, nil
		}})
	ctx := context.Background()
	t0 := clk.now()
	if _, err := c.ReferenceAt(ctx, "BTCUSDT", t0); err != nil {
		t.Fatal(err)
	}
	clockReads.Store(0)
	clk.add(time.Hour) // the clock says stale; the caller's time says fresh
	q, err := c.ReferenceAt(ctx, "BTCUSDT", t0.Add(time.Second))
	if err != nil || calls.Load() != 1 || !q.Bid.Equal(decimal.NewFromInt(1)) || clockReads.Load() != 0 {
		t.Fatalf("at max age by the caller's time: %+v, %v; %d fetches, %d clock reads; want the cached quote, no clock read",
			q, err, calls.Load(), clockReads.Load())
	}
	q, err = c.ReferenceAt(ctx, "BTCUSDT", t0.Add(time.Second+time.Nanosecond))
	if err != nil || calls.Load() != 2 || !q.Bid.Equal(decimal.NewFromInt(2)) {
		t.Fatalf("past max age by the caller's time: %+v, %v; %d fetches, want a fresh quote", q, err, calls.Load())
	}
	clk.add(time.Hour)
	q, err = c.ReferenceAt(ctx, "BTCUSDT", time.Time{})
	if err != nil || calls.Load() != 3 || clockReads.Load() == 0 {
		t.Fatalf("zero time: %+v, %v; %d fetches, %d clock reads; want the clock read and a fetch", q, err, calls.Load(), clockReads.Load())
	}
}

func TestQuoteCacheSymbolsApart(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000, 0)}
	var asked []string
	c := NewQuoteCache(QuoteCacheConfig{MaxAge: time.Second, Clock: clk.now,
		Fetch: func(_ context.Context, symbol string) (Quote, error) {
			asked = append(asked, symbol)
			return Quote{Symbol: symbol, At: clk.now()}, nil
		}})
	for _, s := range []string{"A", "B", "A", "B"} {
		if q, err := c.Reference(context.Background(), s); err != nil || q.Symbol != s {
			t.Fatalf("%s: %+v, %v", s, q, err)
		}
	}
	if len(asked) != 2 || asked[0] != "A" || asked[1] != "B" {
		t.Errorf("fetched %v, want [A B]", asked)
	}
}

func TestQuoteCacheErrorsNotCached(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000, 0)}
	boom := errors.New("venue down")
	fail := true
	calls := 0
	c := NewQuoteCache(QuoteCacheConfig{MaxAge: time.Minute, Clock: clk.now,
		Fetch: func(_ context.Context, symbol string) (Quote, error) {
			calls++
			if fail {
				return Quote{Symbol: symbol, Bid: decimal.NewFromInt(9)}, boom
			}
			return Quote{Symbol: symbol, Bid: decimal.NewFromInt(1), At: clk.now()}, nil
		}})
	q, err := c.Reference(context.Background(), "X")
	if !errors.Is(err, boom) || !q.Bid.IsZero() {
		t.Fatalf("failed fetch: %+v, %v", q, err)
	}
	fail = false
	if q, err = c.Reference(context.Background(), "X"); err != nil || !q.Bid.Equal(decimal.NewFromInt(1)) || calls != 2 {
		t.Fatalf("after a failure: %+v, %v, %d fetches", q, err, calls)
	}
}

func TestQuoteCacheKeepsNewerQuote(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000, 0)}
	// The second fetch answers with an older quote than the first (a
	// lagging venue): the cache keeps the newer one, the caller gets what
	// was fetched.
	ats := []time.Time{time.Unix(1_000, 0), time.Unix(999, 0)}
	n := 0
	c := NewQuoteCache(QuoteCacheConfig{MaxAge: 0, Clock: clk.now,
		Fetch: func(_ context.Context, symbol string) (Quote, error) {
			q := Quote{Symbol: symbol, At: ats[n]}
			n++
			return q, nil
		}})
	if _, err := c.Reference(context.Background(), "X"); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Second)
	q, err := c.Reference(context.Background(), "X")
	if err != nil || !q.At.Equal(ats[1]) {
		t.Fatalf("second: %+v, %v", q, err)
	}
	c.mu.Lock()
	kept := c.quotes["X"].At
	c.mu.Unlock()
	if !kept.Equal(ats[0]) {
		t.Errorf("cache holds the quote of %v, want the newer %v", kept, ats[0])
	}
}

func TestQuoteCacheNoFetch(t *testing.T) {
	c := NewQuoteCache(QuoteCacheConfig{MaxAge: time.Second})
	if _, err := c.Reference(context.Background(), "X"); !errors.Is(err, errNoFetch) {
		t.Errorf("got %v, want errNoFetch", err)
	}
	if c.MaxAge() != time.Second {
		t.Errorf("MaxAge %v", c.MaxAge())
	}
}

// blockingFetch is a Fetch that signals when it starts and answers when
// released.
type blockingFetch struct {
	calls   atomic.Int64
	started chan struct{}
	release chan result
}

type result struct {
	q   Quote
	err error
}

func newBlockingFetch() *blockingFetch {
	return &blockingFetch{started: make(chan struct{}, 8), release: make(chan result, 8)}
}

func (b *blockingFetch) fetch(ctx context.Context, _ string) (Quote, error) {
	b.calls.Add(1)
	b.started <- struct{}{}
	select {
	case r := <-b.release:
		return r.q, r.err
	case <-ctx.Done():
		return Quote{}, ctx.Err()
	}
}

// blockingCache returns a cache over a blockingFetch and a channel that
// receives once for each Reference that waits on another's fetch.
func blockingCache(clock func() time.Time) (*QuoteCache, *blockingFetch, <-chan struct{}) {
	bf := newBlockingFetch()
	c := NewQuoteCache(QuoteCacheConfig{MaxAge: time.Second, Clock: clock, Fetch: bf.fetch})
	joined := make(chan struct{}, 8)
	c.joined = func(string) { joined <- struct{}{} }
	return c, bf, joined
}

// goReference runs c.Reference(ctx, "X") and delivers its result.
func goReference(ctx context.Context, c *QuoteCache) <-chan result {
	ch := make(chan result, 1)
	go func() {
		q, err := c.Reference(ctx, "X")
		ch <- result{q, err}
	}()
	return ch
}

func TestQuoteCacheCollapsesConcurrentFetches(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_000, 0)}
	c, bf, joined := blockingCache(clk.now)
	const waiters = 5
	results := []<-chan result{goReference(context.Background(), c)}
	<-bf.started
	for range waiters {
		results = append(results, goReference(context.Background(), c))
	}
	for range waiters {
		<-joined
	}
	bf.release <- result{q: Quote{Symbol: "X", Bid: decimal.NewFromInt(7), At: clk.now()}}
	for _, ch := range results {
		if r := <-ch; r.err != nil || !r.q.Bid.Equal(decimal.NewFromInt(7)) {
			t.Errorf("waiter got %+v, %v", r.q, r.err)
		}
	}
	if n := bf.calls.Load(); n != 1 {
		t.Errorf("%d fetches for concurrent References, want 1", n)
	}
}

func TestQuoteCacheSharedErrorReachesWaiters(t *testing.T) {
	c, bf, joined := blockingCache(nil)
	boom := errors.New("venue down")
	leader := goReference(context.Background(), c)
	<-bf.started
	waiter := goReference(context.Background(), c)
	<-joined
	bf.release <- result{err: boom}
	for _, ch := range []<-chan result{leader, waiter} {
		if r := <-ch; !errors.Is(r.err, boom) {
			t.Errorf("got %v, want the fetch's error", r.err)
		}
	}
}

func TestQuoteCacheWaiterContext(t *testing.T) {
	c, bf, joined := blockingCache(nil)
	leader := goReference(context.Background(), c)
	<-bf.started
	// A waiter whose context ends stops waiting; the fetch goes on.
	ctx, cancel := context.WithCancel(context.Background())
	waiter := goReference(ctx, c)
	<-joined
	cancel()
	if r := <-waiter; !errors.Is(r.err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", r.err)
	}
	bf.release <- result{q: Quote{Symbol: "X", At: time.Now()}}
	if r := <-leader; r.err != nil {
		t.Errorf("leader: %v", r.err)
	}
}

func TestQuoteCacheLeaderCancelledWaiterRefetches(t *testing.T) {
	c, bf, joined := blockingCache(nil)
	ctx, cancel := context.WithCancel(context.Background())
	leader := goReference(ctx, c)
	<-bf.started
	waiter := goReference(context.Background(), c)
	<-joined
	cancel()
	if r := <-leader; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("leader: %v", r.err)
	}
	// The waiter's context is live: it fetches again rather than failing
	// with the leader's cancellation.
	<-bf.started
	bf.release <- result{q: Quote{Symbol: "X", Bid: decimal.NewFromInt(3), At: time.Now()}}
	if r := <-waiter; r.err != nil || !r.q.Bid.Equal(decimal.NewFromInt(3)) {
		t.Errorf("waiter: %+v, %v", r.q, r.err)
	}
	if n := bf.calls.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

func TestQuoteCacheFetchPanics(t *testing.T) {
	c := NewQuoteCache(QuoteCacheConfig{MaxAge: time.Second,
		Fetch: func(context.Context, string) (Quote, error) { panic("fetch bug") }})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the fetch's panic did not reach its caller")
			}
		}()
		_, _ = c.Reference(context.Background(), "X")
	}()
	c.mu.Lock()
	n := len(c.inflight)
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("%d fetches left in flight after a panic", n)
	}
}

var _ PriceSource = (*QuoteCache)(nil)
