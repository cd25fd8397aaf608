package binance

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

// TestSimStopLimitOrders: PlaceOrder places STOP_LOSS_LIMIT and
// TAKE_PROFIT_LIMIT orders with their StopPrice; the simulator rests them
// untriggered until the last price reaches the stop, then fills them as
// limit orders, and the guard holds each until it is seen closed. A stop
// far from the market is refused by the guard's band before anything is
// signed; a stop the price has passed already is refused by the venue; a
// StopPrice on another order type, or a stop-limit order without one, is
// malformed.
func TestSimStopLimitOrders(t *testing.T) {
	r := newRecSim(t)
	r.policy.Credentials["bot"].OrderTypes = append(r.policy.Credentials["bot"].OrderTypes, exchange.StopLimit, exchange.TakeLimit)
	ctx := context.Background()
	c, g, _ := r.client(t, limits.NewMemoryStore(), filepath.Join(t.TempDir(), "audit.log"), exchange.ReconcileConfig{Every: -1}, nil)
	stopBuy, err := c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.StopLimit,
		Quantity: dec("0.002"), Price: dec("50600"), StopPrice: dec("50500")})
	if err != nil {
		t.Fatal(err)
	}
	if stopBuy.Status != exchange.StatusNew || stopBuy.Type != exchange.StopLimit || stopBuy.ID == "" {
		t.Fatalf("placed %+v", stopBuy)
	}
	takeSell, err := c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.TakeLimit,
		Quantity: dec("0.002"), Price: dec("50900"), StopPrice: dec("51000")})
	if err != nil {
		t.Fatal(err)
	}
	if tracked, _ := g.TrackedOrders(ctx, "bot"); len(tracked) != 2 {
		t.Fatalf("tracked %+v: want both held", tracked)
	}
	// Below the stop: nothing triggers, although 50,300 is under the
	// buy's limit price.
	r.sim.SetPrice("BTCUSDT", dec("50300"))
	if o, err := c.GetOrder(ctx, "BTCUSDT", stopBuy.ID); err != nil || o.Status != exchange.StatusNew || !o.StopPrice.Equal(dec("50500")) {
		t.Fatalf("before its stop %+v %v", o, err)
	}
	// The stop is reached: the buy fills at its limit price.
	r.sim.SetPrice("BTCUSDT", dec("50550"))
	o, err := c.GetOrder(ctx, "BTCUSDT", stopBuy.ID)
	if err != nil || o.Status != exchange.StatusFilled || !o.ExecutedQuo.Equal(dec("101.2")) {
		t.Fatalf("after its stop %+v %v", o, err)
	}
	r.sim.SetPrice("BTCUSDT", dec("51000"))
	if o, err := c.GetOrder(ctx, "BTCUSDT", takeSell.ID); err != nil || o.Status != exchange.StatusFilled {
		t.Fatalf("take-profit after its stop %+v %v", o, err)
	}
	if tracked, _ := g.TrackedOrders(ctx, "bot"); len(tracked) != 0 {
		t.Fatalf("tracked %+v: both closed", tracked)
	}

	placed := r.sim.OrdersPlaced()
	_, err = c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.StopLimit,
		Quantity: dec("0.002"), Price: dec("51100"), StopPrice: dec("510000")})
	if rule := ruleOf(err); rule != limits.RulePriceBand || r.sim.OrdersPlaced() != placed {
		t.Fatalf("a stop 10x the market: %v (rule %q), want %s and nothing sent", err, rule, limits.RulePriceBand)
	}
	_, err = c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.StopLimit,
		Quantity: dec("0.002"), Price: dec("51100"), StopPrice: dec("50000")})
	var api *exchange.APIError
	if !errors.As(err, &api) || api.Code != "-2010" {
		t.Fatalf("a stop the price passed: %v, want the venue's -2010", err)
	}
	for _, bad := range []exchange.Order{
		{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit, Quantity: dec("0.002"), Price: dec("50000"), StopPrice: dec("50500")},
		{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.StopLimit, Quantity: dec("0.002"), Price: dec("50000")},
		{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.TakeLimit, QuoteQuantity: dec("100"), Price: dec("50000"), StopPrice: dec("49000")},
	} {
		if _, err := c.PlaceOrder(ctx, bad); !errors.Is(err, exchange.ErrMalformedRequest) {
			t.Errorf("%+v: %v, want ErrMalformedRequest", bad, err)
		}
	}
}
