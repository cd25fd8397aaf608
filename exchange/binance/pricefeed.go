package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// DefaultBaseURL is Binance Spot's production REST endpoint.
const DefaultBaseURL = "https://api.binance.com"

// DefaultPriceMaxAge is how long a PriceFeed reuses a book ticker.
const DefaultPriceMaxAge = time.Second

// PriceFeed is an exchange.PriceSource over the public book ticker
// (GET /api/v3/ticker/bookTicker). It caches each symbol's quote for at most
// MaxAge. It needs no key, so a guard can be built with it before the
// Client exists; a Client given the feed sends its requests through the
// client's rate limiter. A PriceFeed is safe for concurrent use.
type PriceFeed struct {
	base   string
	http   *http.Client
	maxAge time.Duration
	now    func() time.Time
	rate   atomic.Pointer[rateHolder]

	mu    sync.Mutex
	cache map[string]exchange.Quote
}

type rateHolder struct{ r exchange.RateLimiter }

// PriceFeedConfig configures NewPriceFeed. Every field is optional.
type PriceFeedConfig struct {
	BaseURL    string        // DefaultBaseURL if empty
	HTTPClient *http.Client  // exchange.NewHTTPClient() if nil
	MaxAge     time.Duration // DefaultPriceMaxAge if zero
	// Clock stamps the quotes (Quote.At is when the ticker was fetched);
	// time.Now if nil.
	Clock func() time.Time
}

// NewPriceFeed returns a price feed.
func NewPriceFeed(cfg PriceFeedConfig) *PriceFeed {
	f := &PriceFeed{base: cfg.BaseURL, http: cfg.HTTPClient, maxAge: cfg.MaxAge, now: cfg.Clock,
		cache: make(map[string]exchange.Quote)}
	if f.base == "" {
		f.base = DefaultBaseURL
	}
	if f.http == nil {
		f.http = exchange.NewHTTPClient()
	}
	if f.maxAge <= 0 {
		f.maxAge = DefaultPriceMaxAge
	}
	if f.now == nil {
		f.now = time.Now
	}
	return f
}

// useRate makes the feed wait on r before each request and report usage.
func (f *PriceFeed) useRate(r exchange.RateLimiter) {
	if r != nil {
		f.rate.Store(&rateHolder{r})
	}
}

// Reference returns the best bid and ask of symbol, from the cache when the
// cached quote is at most MaxAge old.
func (f *PriceFeed) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	if symbol == "" {
		return exchange.Quote{}, errors.New("binance: price feed: empty symbol")
	}
	now := f.now()
	f.mu.Lock()
	q, ok := f.cache[symbol]
	f.mu.Unlock()
	if ok && now.Sub(q.At) <= f.maxAge && !q.At.After(now) {
		return q, nil
	}
	q, err := f.fetch(ctx, symbol)
	if err != nil {
		return exchange.Quote{}, err
	}
	f.mu.Lock()
	if old, ok := f.cache[symbol]; !ok || !old.At.After(q.At) {
		f.cache[symbol] = q
	}
	f.mu.Unlock()
	return q, nil
}

func (f *PriceFeed) fetch(ctx context.Context, symbol string) (exchange.Quote, error) {
	w := &exchange.Wire{Method: http.MethodGet, Path: "/api/v3/ticker/bookTicker",
		Query: exchange.Params{{Key: "symbol", Value: symbol}}.Encode()}
	var rl exchange.RateLimiter
	if h := f.rate.Load(); h != nil {
		rl = h.r
		if err := rl.Wait(ctx, exchange.Cost{Weight: 2}); err != nil {
			return exchange.Quote{}, err
		}
	}
	resp, err := exchange.Do(ctx, f.http, f.base, w)
	if err != nil {
		return exchange.Quote{}, fmt.Errorf("binance: book ticker %s: %w", symbol, err)
	}
	at := f.now()
	if rl != nil {
		rl.Observe(usage(at, resp.Status, resp.Header))
	}
	if resp.Status/100 != 2 {
		return exchange.Quote{}, apiError(resp.Status, resp.Header, resp.Body)
	}
	var t struct {
		Symbol   string `json:"symbol"`
		BidPrice string `json:"bidPrice"`
		AskPrice string `json:"askPrice"`
	}
	if err := json.Unmarshal(resp.Body, &t); err != nil {
		return exchange.Quote{}, fmt.Errorf("binance: book ticker %s: %w", symbol, err)
	}
	if t.Symbol != symbol {
		return exchange.Quote{}, fmt.Errorf("binance: book ticker: asked for %s, got %q", symbol, t.Symbol)
	}
	bid, err1 := decimal.NewFromString(t.BidPrice)
	ask, err2 := decimal.NewFromString(t.AskPrice)
	if err1 != nil || err2 != nil || bid.Sign() < 0 || ask.Sign() < 0 || (bid.IsZero() && ask.IsZero()) {
		return exchange.Quote{}, fmt.Errorf("binance: book ticker %s: no usable bid or ask (bid %q, ask %q)", symbol, t.BidPrice, t.AskPrice)
	}
	return exchange.Quote{Symbol: symbol, Bid: bid, Ask: ask, At: at}, nil
}
