package exchange_test

import (
	"context"
	"fmt"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// A venue's price feed puts a QuoteCache in front of its ticker request:
// within MaxAge the cached quote answers, and concurrent callers of a
// symbol that is not cached share one request.
func ExampleQuoteCache() {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	requests := 0
	cache := exchange.NewQuoteCache(exchange.QuoteCacheConfig{
		MaxAge: time.Second,
		Clock:  func() time.Time { return now },
		Fetch: func(ctx context.Context, symbol string) (exchange.Quote, error) {
			requests++ // a venue's ticker request goes here
			return exchange.Quote{Symbol: symbol, Bid: decimal.RequireFromString("49990"),
				Ask: decimal.RequireFromString("50010"), At: now}, nil
		},
	})
	ctx := context.Background()
	q, _ := cache.Reference(ctx, "BTCUSDT")
	fmt.Println(q.Mid(), requests)

	now = now.Add(time.Second) // still fresh
	_, _ = cache.Reference(ctx, "BTCUSDT")
	fmt.Println(requests)

	now = now.Add(time.Millisecond) // too old: fetched again
	_, _ = cache.Reference(ctx, "BTCUSDT")
	fmt.Println(requests)
	// Output:
	// 50000 1
	// 1
	// 2
}
