package exchange

import (
	"context"
	"errors"
	"sync"
	"time"
)

// QuoteFetcher fetches the current quote of a symbol from a venue.
type QuoteFetcher func(ctx context.Context, symbol string) (Quote, error)

// QuoteCacheConfig configures NewQuoteCache.
type QuoteCacheConfig struct {
	// MaxAge is how long a quote is reused after its At. Zero or less
	// reuses nothing: every Reference fetches (concurrent ones once).
	MaxAge time.Duration
	// Clock tells the age of quotes; time.Now if nil. It should be the
	// clock that stamps Quote.At in Fetch.
	Clock func() time.Time
	// Fetch fetches a quote that is not cached or too old. Required.
	Fetch QuoteFetcher
}

// QuoteCache is a PriceSource that holds each symbol's quote for at most
// MaxAge and fetches it again when it is older, or dated in the future.
// Concurrent References of the same symbol that miss the cache share one
// fetch. A failed fetch is not cached. The venues' price feeds are built
// on it. A QuoteCache is safe for concurrent use.
type QuoteCache struct {
	maxAge time.Duration
	now    func() time.Time
	fetch  QuoteFetcher

	mu       sync.Mutex
	quotes   map[string]Quote
	inflight map[string]*quoteFetch

	// joined, when set by tests, is called when a Reference waits for a
	// fetch another one started.
	joined func(symbol string)
}

var (
	errNoFetch      = errors.New("exchange: quote cache has no Fetch function; set QuoteCacheConfig.Fetch")
	errFetchAborted = errors.New("exchange: quote fetch aborted; try again")
)

// quoteFetch is one fetch in flight, shared by the References waiting
// for it.
type quoteFetch struct {
	done chan struct{}
	q    Quote
	err  error
}

// NewQuoteCache returns an empty cache. Without cfg.Fetch every Reference
// that misses the cache fails.
func NewQuoteCache(cfg QuoteCacheConfig) *QuoteCache {
	c := &QuoteCache{maxAge: cfg.MaxAge, now: cfg.Clock, fetch: cfg.Fetch,
		quotes: make(map[string]Quote), inflight: make(map[string]*quoteFetch)}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// MaxAge returns how long a quote is reused.
func (c *QuoteCache) MaxAge() time.Duration { return c.maxAge }

// Reference returns the quote of symbol: the cached one when it is at most
// MaxAge old, else a fresh one. When the fetch another Reference started
// fails because that caller's context ended, Reference fetches again
// with its own.
func (c *QuoteCache) Reference(ctx context.Context, symbol string) (Quote, error) {
	return c.ReferenceAt(ctx, symbol, time.Time{})
}

// ReferenceAt is Reference judging the cached quote's age at now, a time
// the caller read from the clock that stamps the quotes (zero: the cache
// reads its Clock). When it has to wait for another fetch and try again,
// it reads its Clock.
func (c *QuoteCache) ReferenceAt(ctx context.Context, symbol string, now time.Time) (Quote, error) {
	for {
		if now.IsZero() {
			now = c.now()
		}
		c.mu.Lock()
		if q, ok := c.quotes[symbol]; ok && now.Sub(q.At) <= c.maxAge && !q.At.After(now) {
			c.mu.Unlock()
			return q, nil
		}
		if f := c.inflight[symbol]; f != nil {
			joined := c.joined
			c.mu.Unlock()
			if joined != nil {
				joined(symbol)
			}
			select {
			case <-f.done:
			case <-ctx.Done():
				return Quote{}, ctx.Err()
			}
			if isContextError(f.err) && ctx.Err() == nil {
				now = time.Time{}
				continue
			}
			return f.q, f.err
		}
		f := &quoteFetch{done: make(chan struct{})}
		c.inflight[symbol] = f
		c.mu.Unlock()
		return c.run(ctx, symbol, f)
	}
}

// run fetches symbol for f and everyone waiting on it.
func (c *QuoteCache) run(ctx context.Context, symbol string, f *quoteFetch) (Quote, error) {
	f.err = errFetchAborted // if fetch panics, the waiters get an error
	defer func() {
		c.mu.Lock()
		delete(c.inflight, symbol)
		if f.err == nil {
			if old, ok := c.quotes[symbol]; !ok || !old.At.After(f.q.At) {
				c.quotes[symbol] = f.q
			}
		}
		c.mu.Unlock()
		close(f.done)
	}()
	if c.fetch == nil {
		f.err = errNoFetch
		return Quote{}, f.err
	}
	q, err := c.fetch(ctx, symbol)
	if err != nil {
		q = Quote{}
	}
	f.q, f.err = q, err
	return q, err
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
