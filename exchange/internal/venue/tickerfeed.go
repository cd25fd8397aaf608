package venue

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// TickerFeedConfig configures NewTickerFeed. Request and Quote are
// required.
type TickerFeedConfig struct {
	// Name prefixes the errors of a failed request, e.g. "binance: book
	// ticker".
	Name string
	// BaseURL is the REST endpoint; DefaultBaseURL if empty.
	BaseURL        string
	DefaultBaseURL string
	HTTPClient     *http.Client // exchange.NewHTTPClient() if nil
	// MaxAge is how long a quote is reused; DefaultMaxAge if zero or less.
	MaxAge        time.Duration
	DefaultMaxAge time.Duration
	// Clock stamps the quotes (Quote.At is when the ticker was
	// fetched); time.Now if nil.
	Clock func() time.Time

	// Request returns the public ticker request of a symbol and its rate
	// cost.
	Request func(symbol string) (*exchange.Wire, exchange.Cost)
	// Usage reads what the venue reports of its rate limits from an answer
	// fetched at at. Required with UseRate.
	Usage func(at time.Time, resp *exchange.Response) exchange.Usage
	// Quote reads the quote of symbol from the venue's answer, whatever its
	// status, stamped at; a refusal returns the venue's error.
	Quote func(symbol string, resp *exchange.Response, at time.Time) (exchange.Quote, error)
}

// TickerFeed is an exchange.PriceSource over a venue's public ticker,
// cached by an exchange.QuoteCache. It needs no key, so a guard can be built with it before the
// venue client exists; the client then makes it wait on its rate limiter
// (UseRate). The venues' public price feeds are built on it. A TickerFeed
// is safe for concurrent use.
type TickerFeed struct {
	cfg    TickerFeedConfig
	base   string
	http   *http.Client
	now    func() time.Time
	rate   atomic.Pointer[rateHolder]
	quotes *exchange.QuoteCache
}

type rateHolder struct{ r exchange.RateLimiter }

// NewTickerFeed returns a feed. It sends nothing.
func NewTickerFeed(cfg TickerFeedConfig) *TickerFeed {
	f := &TickerFeed{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), http: cfg.HTTPClient, now: cfg.Clock}
	if f.base == "" {
		f.base = strings.TrimRight(cfg.DefaultBaseURL, "/")
	}
	if f.http == nil {
		f.http = exchange.NewHTTPClient()
	}
	if f.now == nil {
		f.now = time.Now
	}
	maxAge := cfg.MaxAge
	if maxAge <= 0 {
		maxAge = cfg.DefaultMaxAge
	}
	f.quotes = exchange.NewQuoteCache(exchange.QuoteCacheConfig{MaxAge: maxAge, Clock: f.now, Fetch: f.fetch})
	return f
}

// UseRate makes the feed wait on r before each request and report the
// venue's usage to it. A nil r is ignored.
func (f *TickerFeed) UseRate(r exchange.RateLimiter) {
	if r != nil {
		f.rate.Store(&rateHolder{r})
	}
}

// Reference returns the quote of symbol, from the cache when the cached
// quote is at most MaxAge old.
func (f *TickerFeed) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	return f.quotes.Reference(ctx, symbol)
}

// ReferenceAt implements PriceSourceAt: Reference, judging the cached
// quote's age at now (zero: the feed's Clock).
func (f *TickerFeed) ReferenceAt(ctx context.Context, symbol string, now time.Time) (exchange.Quote, error) {
	return f.quotes.ReferenceAt(ctx, symbol, now)
}

func (f *TickerFeed) fetch(ctx context.Context, symbol string) (exchange.Quote, error) {
	if f.cfg.Request == nil || f.cfg.Quote == nil {
		return exchange.Quote{}, errors.New("exchange: ticker feed needs a Request and a Quote hook; set them in TickerFeedConfig")
	}
	w, cost := f.cfg.Request(symbol)
	var rl exchange.RateLimiter
	if h := f.rate.Load(); h != nil {
		rl = h.r
		if err := rl.Wait(ctx, cost); err != nil {
			return exchange.Quote{}, err
		}
	}
	resp, err := exchange.Do(ctx, f.http, f.base, w)
	if err != nil {
		return exchange.Quote{}, fmt.Errorf("%s %s: %w", f.cfg.Name, symbol, err)
	}
	at := f.now()
	if rl != nil && f.cfg.Usage != nil {
		rl.Observe(f.cfg.Usage(at, resp))
	}
	return f.cfg.Quote(symbol, resp, at)
}
