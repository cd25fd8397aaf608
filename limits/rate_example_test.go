package limits_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

func ExampleRateGuard() {
	// Binance's rateLimits from exchangeInfo, in the venue's own numbers.
	binance := []limits.RateLimit{
		{Name: "REQUEST_WEIGHT", Interval: time.Minute, Limit: 6000, Counts: limits.RateWeight},
		{Name: "ORDERS", Interval: 10 * time.Second, Limit: 50, Counts: limits.RateOrders},
		{Name: "ORDERS", Interval: 24 * time.Hour, Limit: 160000, Counts: limits.RateOrders},
		{Name: "RAW_REQUESTS", Interval: 5 * time.Minute, Limit: 61000, Counts: limits.RateRequests},
	}
	// The venue's clock as the client knows it (fixed here, for the example).
	serverNow := time.Date(2026, 3, 2, 10, 0, 35, 0, time.UTC)
	g, err := limits.NewRateGuard("binance", binance,
		limits.RateClock(func() time.Time { return serverNow }))
	if err != nil {
		fmt.Println(err)
		return
	}
	perWindow, _ := g.Capacity("REQUEST_WEIGHT:1m")
	fmt.Println("weight admitted per minute:", perWindow)

	// Reserve a new order's cost before signing it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Wait(ctx, exchange.Cost{Weight: 1, Orders: 1}); err != nil {
		fmt.Println(err)
		return
	}
	// Report the venue's answer: usage headers, and here a 418 ban.
	g.Observe(exchange.Usage{
		At:         serverNow,
		Status:     418,
		Used:       map[string]int{"REQUEST_WEIGHT:1m": 6100},
		RetryAfter: 2 * time.Minute,
	})

	// Every request is refused until the ban ends, at once.
	err = g.Wait(ctx, exchange.Cost{Weight: 1})
	var rl *exchange.RateLimitError
	if errors.As(err, &rl) {
		fmt.Println("banned:", errors.Is(err, exchange.ErrBanned), "until", rl.Until.Format(time.TimeOnly))
	}
	fmt.Println(err)
	// Output:
	// weight admitted per minute: 5820
	// banned: true until 10:02:35
	// binance: banned (ban) until 2026-03-02T10:02:35Z; wait, and lower the request rate
}
