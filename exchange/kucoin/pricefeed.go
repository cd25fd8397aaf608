package kucoin

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

// DefaultBaseURL is KuCoin's production REST endpoint.
const DefaultBaseURL = "https://api.kucoin.com"

// DefaultPriceMaxAge is how long a PriceFeed reuses a ticker.
const DefaultPriceMaxAge = time.Second

// PriceFeed is an exchange.PriceSource over the public level-1 ticker
// (GET /api/v1/market/orderbook/level1: bestBid, bestAsk). It caches each
// symbol's quote for at most MaxAge. It needs no key, so a guard can be
// built with it before the Client exists; a Client given the feed counts
// its requests in the public pool of its rate limiter. A PriceFeed is safe
// for concurrent use; concurrent References of a symbol that is not
// cached share one request (exchange.QuoteCache).
type PriceFeed struct {
	ticker *venue.TickerFeed
}

// PriceFeedConfig configures NewPriceFeed. Every field is optional.
type PriceFeedConfig struct {
	BaseURL    string        // DefaultBaseURL if empty
	HTTPClient *http.Client  // exchange.NewHTTPClient() if nil
	MaxAge     time.Duration // DefaultPriceMaxAge if zero
	Clock      func() time.Time
}

// NewPriceFeed returns a price feed.
func NewPriceFeed(cfg PriceFeedConfig) *PriceFeed {
	const path = "/api/v1/market/orderbook/level1"
	return &PriceFeed{ticker: venue.NewTickerFeed(venue.TickerFeedConfig{
		Name: "kucoin: level1 ticker", BaseURL: cfg.BaseURL, DefaultBaseURL: DefaultBaseURL, HTTPClient: cfg.HTTPClient,
		MaxAge: cfg.MaxAge, DefaultMaxAge: DefaultPriceMaxAge, Clock: cfg.Clock,
		Request: func(symbol string) (*exchange.Wire, exchange.Cost) {
			return &exchange.Wire{Method: http.MethodGet, Path: path, Query: "symbol=" + symbol},
				exchange.Cost{Weight: routeTable["GET "+path].weight}
		},
		Usage: func(at time.Time, resp *exchange.Response) exchange.Usage {
			return usage(PoolPublic, at, resp.Status, resp.Header)
		},
		Quote: level1,
	})}
}

func (f *PriceFeed) useRate(r exchange.RateLimiter) { f.ticker.UseRate(r) }

// Reference returns the best bid and ask of symbol, from the cache when
// the cached quote is at most MaxAge old.
func (f *PriceFeed) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	return f.ReferenceAt(ctx, symbol, time.Time{})
}

// ReferenceAt implements exchange.PriceSourceAt: Reference, judging the
// cached quote's age at now (zero: the feed's Clock).
func (f *PriceFeed) ReferenceAt(ctx context.Context, symbol string, now time.Time) (exchange.Quote, error) {
	if _, _, err := splitSymbol(symbol); err != nil {
		return exchange.Quote{}, fmt.Errorf("kucoin: price feed: %w", err)
	}
	return f.ticker.ReferenceAt(ctx, symbol, now)
}

// level1 reads the quote of symbol from a level-1 ticker answer.
func level1(symbol string, resp *exchange.Response, at time.Time) (exchange.Quote, error) {
	data, apiErr := decode(resp.Status, resp.Header, resp.Body)
	if apiErr != nil {
		return exchange.Quote{}, apiErr
	}
	var t struct {
		BestBid string `json:"bestBid"`
		BestAsk string `json:"bestAsk"`
	}
	if err := json.Unmarshal(data, &t); err != nil || string(data) == "null" {
		return exchange.Quote{}, errors.New("kucoin: level1 ticker " + symbol + ": no ticker in the answer (is the symbol listed?)")
	}
	bid, err1 := decimal.NewFromString(t.BestBid)
	ask, err2 := decimal.NewFromString(t.BestAsk)
	if err1 != nil || err2 != nil || bid.Sign() < 0 || ask.Sign() < 0 || (bid.IsZero() && ask.IsZero()) {
		return exchange.Quote{}, fmt.Errorf("kucoin: level1 ticker %s: no usable bid or ask (bid %q, ask %q)", symbol, t.BestBid, t.BestAsk)
	}
	return exchange.Quote{Symbol: symbol, Bid: bid, Ask: ask, At: at}, nil
}
