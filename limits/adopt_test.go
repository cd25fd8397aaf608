package limits

import (
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// TestAdoptOrder: an adopted order is held at its worst value (its fill
// plus its unfilled quantity at its price) beyond the caps, with an
// open-order slot, until it closes at its real fill, on the fast path as
// through the Store interface.
func TestAdoptOrder(t *testing.T) {
	for name, store := range map[string]Store{"fast path": nil, "Store interface": &genericStore{NewMemoryStore()}} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, testPolicy, store)
			key := "main\x00symbol\x00BTCUSDT"
			// 20 at 100, 4 filled for 396: 396 + 16 x 100 = 1,996, over the
			// daily cap of 1,500 and the order cap of 500.
			o := exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit, ID: "v1", ClientID: "c1",
				Status: exchange.StatusPartiallyFilled, Price: dec("100"), Quantity: dec("20"), Executed: dec("4"), ExecutedQuo: dec("396")}
			if err := f.guard.AdoptOrder(ctx, "main", o); err != nil {
				t.Fatal(err)
			}
			if got := usage(t, f.store, key, DailyWindow, t0); got != "1996" {
				t.Fatalf("window %s, want 1996", got)
			}
			tracked, err := f.guard.TrackedOrders(ctx, "main")
			if err != nil || len(tracked) != 1 || tracked[0].ID != "v1" || tracked[0].ClientID != "c1" || tracked[0].Unknown || tracked[0].Pending {
				t.Fatalf("tracked %+v %v", tracked, err)
			}
			if _, rule := f.check(trade("main", limit("BTCUSDT", exchange.Buy, "100", "1"))); rule != RuleDailyNotional {
				t.Fatalf("over the cap: %q", rule)
			}
			if err := f.guard.OrderClosed(ctx, "main", "v1", dec("1000")); err != nil {
				t.Fatal(err)
			}
			if got := usage(t, f.store, key, DailyWindow, t0); got != "1000" {
				t.Fatalf("window %s after it closed, want its fill of 1000", got)
			}
			if _, rule := f.check(trade("main", limit("BTCUSDT", exchange.Buy, "100", "1"))); rule != "" {
				t.Fatalf("within the cap: %q", rule)
			}
			err = f.guard.AdoptOrder(ctx, "main", exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, ID: "v2", Quantity: dec("1")})
			if !errors.Is(err, ErrCannotValue) {
				t.Fatalf("an order without a price: %v, want ErrCannotValue", err)
			}
		})
	}
}
