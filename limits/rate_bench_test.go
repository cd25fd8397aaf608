package limits

import (
	"context"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// BenchmarkRateGuardWait measures the uncontended path: a reservation that
// fits in the current window and returns at once.
func BenchmarkRateGuardWait(b *testing.B) {
	g, err := NewRateGuard("binance", []RateLimit{
		{Name: "REQUEST_WEIGHT", Interval: time.Hour, Limit: 1 << 40, Counts: RateWeight},
		{Name: "ORDERS", Interval: time.Hour, Limit: 1 << 40, Counts: RateOrders},
	}, RateSyncTimeout(0), RateSkew(0))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	cost := exchange.Cost{Weight: 1, Orders: 1}
	b.ReportAllocs()
	for b.Loop() {
		if err := g.Wait(ctx, cost); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRateGuardWaitParallel is the same path from every core at once.
func BenchmarkRateGuardWaitParallel(b *testing.B) {
	g, err := NewRateGuard("binance", []RateLimit{
		{Name: "REQUEST_WEIGHT", Interval: time.Hour, Limit: 1 << 40, Counts: RateWeight},
	}, RateSyncTimeout(0), RateSkew(0))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := g.Wait(ctx, exchange.Cost{Weight: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
