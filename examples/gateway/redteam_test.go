package main

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
)

// TestRedTeamLostAnswer: the venue executes an order and its answer is
// lost (503). go-binance, through the gateway, gets the error; the gateway
// keeps the order's budget reserved (an answer that does not say what
// happened settles nothing), so the daily cap still holds over the orders
// that follow.
func TestRedTeamLostAnswer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	issued, err := s.issue("bot", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := binance.NewClient(issued.APIKey, issued.Secret)
	c.BaseURL = s.gwURL
	// 400 USDT a market order; the policy allows 500 per order and 2000 a day.
	buy := func() error {
		_, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
			QuoteOrderQty("400").Do(ctx)
		return err
	}
	s.sim.FailNextAfterExecuting(http.StatusServiceUnavailable)
	if err := buy(); err == nil {
		t.Fatal("the lost answer was reported as a success")
	}
	placed := 1 // the venue executed it
	for range 10 {
		err := buy()
		if err == nil {
			placed++
			continue
		}
		var apiErr *common.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != -2010 {
			t.Fatalf("order %d: %v; want a refusal by the daily cap", placed+1, err)
		}
		break
	}
	if placed != 5 {
		t.Fatalf("%d orders of 400 USDT executed under a 2000 USDT daily cap; want 5 (the lost one counted)", placed)
	}
	if got := s.sim.OrdersPlaced(); got != int64(placed) {
		t.Fatalf("the venue placed %d orders; the gateway counted %d", got, placed)
	}
}

// TestRedTeamACKAnswer: a bot asks for the ACK answer, which says nothing
// of what the order did. The gateway asks the venue for the full answer,
// settles from it and returns the ACK shape: what the market orders filled
// counts against the daily cap, which holds.
func TestRedTeamACKAnswer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	issued, err := s.issue("bot", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := binance.NewClient(issued.APIKey, issued.Secret)
	c.BaseURL = s.gwURL
	placed := 0
	for range 10 { // 400 USDT each; the policy allows 2000 a day
		o, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
			QuoteOrderQty("400").NewOrderRespType(binance.NewOrderRespTypeACK).Do(ctx)
		if err != nil {
			var apiErr *common.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != -2010 {
				t.Fatalf("order %d: %v; want a refusal by the daily cap", placed+1, err)
			}
			break
		}
		if o.Status != "" || o.OrderID == 0 {
			t.Fatalf("order %d: %+v is not the ACK shape", placed+1, o)
		}
		placed++
	}
	if placed != 5 {
		t.Fatalf("%d market orders of 400 USDT filled under a 2000 USDT daily cap; want 5", placed)
	}
}
