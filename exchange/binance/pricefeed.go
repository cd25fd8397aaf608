package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/internal/venue"
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
// client's rate limiter. A PriceFeed is safe for concurrent use;
// concurrent References of a symbol that is not cached share one request
// (exchange.QuoteCache).
type PriceFeed struct {
	ticker *venue.TickerFeed
}

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
	return &PriceFeed{ticker: venue.NewTickerFeed(venue.TickerFeedConfig{
		Name: "binance: book ticker", BaseURL: cfg.BaseURL, DefaultBaseURL: DefaultBaseURL, HTTPClient: cfg.HTTPClient,
		MaxAge: cfg.MaxAge, DefaultMaxAge: DefaultPriceMaxAge, Clock: cfg.Clock,
		Request: func(symbol string) (*exchange.Wire, exchange.Cost) {
			return &exchange.Wire{Method: http.MethodGet, Path: "/api/v3/ticker/bookTicker",
				Query: exchange.Params{{Key: "symbol", Value: symbol}}.Encode()}, exchange.Cost{Weight: 2}
		},
		Usage: func(at time.Time, resp *exchange.Response) exchange.Usage {
			return usage(at, resp.Status, resp.Header)
		},
		Quote: bookTicker,
	})}
}

// useRate makes the feed wait on r before each request and report usage.
func (f *PriceFeed) useRate(r exchange.RateLimiter) { f.ticker.UseRate(r) }

// Reference returns the best bid and ask of symbol, from the cache when the
// cached quote is at most MaxAge old.
func (f *PriceFeed) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	return f.ReferenceAt(ctx, symbol, time.Time{})
}

// ReferenceAt implements exchange.PriceSourceAt: Reference, judging the
// cached quote's age at now (zero: the feed's Clock).
func (f *PriceFeed) ReferenceAt(ctx context.Context, symbol string, now time.Time) (exchange.Quote, error) {
	if symbol == "" {
		return exchange.Quote{}, errors.New("binance: price feed: empty symbol")
	}
	return f.ticker.ReferenceAt(ctx, symbol, now)
}

// bookTicker reads the quote of symbol from a book ticker answer.
func bookTicker(symbol string, resp *exchange.Response, at time.Time) (exchange.Quote, error) {
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
