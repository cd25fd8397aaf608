package coinbase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// DefaultPriceMaxAge is how long a PriceFeed reuses a best bid and ask.
const DefaultPriceMaxAge = time.Second

// ErrFeedDetached: the price feed has no client to send its requests
// through yet.
var ErrFeedDetached = errors.New("coinbase: price feed is not attached to a client; pass it as Config.Prices to New")

// PriceFeed is an exchange.PriceSource over GET
// /api/v3/brokerage/best_bid_ask?product_ids=..., which Coinbase serves
// to authenticated keys only. A guard can be built with the feed before
// the Client exists; the Client given the feed (Config.Prices) sends its
// requests through the Authorizer (class read, audited). Each product's
// quote is cached for at most MaxAge. A PriceFeed is safe for concurrent
// use; concurrent References of a product that is not cached share one
// request (exchange.QuoteCache).
type PriceFeed struct {
	now    func() time.Time
	send   atomic.Pointer[sender]
	quotes *exchange.QuoteCache
}

// sender sends a read request for the feed.
type sender struct {
	do func(ctx context.Context, req *exchange.Request) (*exchange.Response, error)
}

// PriceFeedConfig configures NewPriceFeed. Every field is optional.
type PriceFeedConfig struct {
	MaxAge time.Duration // DefaultPriceMaxAge if zero
	// Clock stamps the quotes (Quote.At is when they were fetched);
	// time.Now if nil.
	Clock func() time.Time
}

// NewPriceFeed returns a detached price feed.
func NewPriceFeed(cfg PriceFeedConfig) *PriceFeed {
	f := &PriceFeed{now: cfg.Clock}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultPriceMaxAge
	}
	if f.now == nil {
		f.now = time.Now
	}
	f.quotes = exchange.NewQuoteCache(exchange.QuoteCacheConfig{MaxAge: cfg.MaxAge, Clock: f.now, Fetch: f.fetch})
	return f
}

func (f *PriceFeed) attach(do func(ctx context.Context, req *exchange.Request) (*exchange.Response, error)) {
	f.send.Store(&sender{do: do})
}

// Reference returns the best bid and ask of a product, from the cache when
// the cached quote is at most MaxAge old.
func (f *PriceFeed) Reference(ctx context.Context, product string) (exchange.Quote, error) {
	return f.ReferenceAt(ctx, product, time.Time{})
}

// ReferenceAt implements exchange.PriceSourceAt: Reference, judging the
// cached quote's age at now (zero: the feed's Clock).
func (f *PriceFeed) ReferenceAt(ctx context.Context, product string, now time.Time) (exchange.Quote, error) {
	if product == "" {
		return exchange.Quote{}, errors.New("coinbase: price feed: empty product id")
	}
	return f.quotes.ReferenceAt(ctx, product, now)
}

// fetch asks Coinbase for the best bid and ask of a product.
func (f *PriceFeed) fetch(ctx context.Context, product string) (exchange.Quote, error) {
	s := f.send.Load()
	if s == nil {
		return exchange.Quote{}, ErrFeedDetached
	}
	resp, err := s.do(ctx, &exchange.Request{Method: http.MethodGet, Path: Prefix + "/best_bid_ask",
		Params: exchange.Params{{Key: "product_ids", Value: product}}})
	if err != nil {
		return exchange.Quote{}, fmt.Errorf("coinbase: best bid and ask of %s: %w", product, err)
	}
	return parseBestBidAsk(resp.Body, product, f.now())
}

func parseBestBidAsk(body []byte, product string, at time.Time) (exchange.Quote, error) {
	type level struct {
		Price string `json:"price"`
	}
	var ans struct {
		Pricebooks []struct {
			ProductID string  `json:"product_id"`
			Bids      []level `json:"bids"`
			Asks      []level `json:"asks"`
		} `json:"pricebooks"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return exchange.Quote{}, fmt.Errorf("coinbase: best bid and ask of %s: unreadable answer", product)
	}
	for _, pb := range ans.Pricebooks {
		if pb.ProductID != product {
			continue
		}
		var bid, ask decimal.Decimal
		if len(pb.Bids) > 0 {
			bid, _ = decimal.NewFromString(pb.Bids[0].Price)
		}
		if len(pb.Asks) > 0 {
			ask, _ = decimal.NewFromString(pb.Asks[0].Price)
		}
		if bid.Sign() < 0 || ask.Sign() < 0 || (bid.IsZero() && ask.IsZero()) {
			return exchange.Quote{}, fmt.Errorf("coinbase: best bid and ask of %s: no usable bid or ask", product)
		}
		return exchange.Quote{Symbol: product, Bid: bid, Ask: ask, At: at}, nil
	}
	return exchange.Quote{}, fmt.Errorf("coinbase: best bid and ask: no price book for %s", product)
}
