package exchange_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

// TestSignedOrderCountsWhateverIsDone: a signed order's reservation is
// released only by the venue's refusal. Released with no cause, a local
// error or a lost answer, its order is committed as of unknown outcome,
// holding its slot; dropped, it holds everything. So signatures obtained
// and thrown away, or sent elsewhere, exhaust the open-order cap (5) as
// orders would.
func TestSignedOrderCountsWhateverIsDone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := func(cid string) *exchange.Request {
		r := limitOrder("50000", "0.01")
		r.Params = append(r.Params, exchange.Param{Key: "newClientOrderId", Value: cid})
		return r
	}
	causes := []error{nil, errors.New("not sent after all"), exchange.ErrOutcomeUnknown,
		&exchange.APIError{Venue: "binance", Status: 503, Kind: exchange.ErrOutcomeUnknown}}
	for i, cause := range causes {
		a, err := f.auth.Authorize(ctx, req("c"+string(rune('0'+i))))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Reservation.Release(ctx, cause); err != nil {
			t.Fatal(err)
		}
	}
	tracked, err := f.limits.TrackedOrders(ctx, "bot")
	if err != nil || len(tracked) != 4 || !tracked[0].Unknown || tracked[0].ClientID != "c0" || tracked[0].Symbol != "BTCUSDT" {
		t.Fatalf("tracked %+v %v: want the four orders of unknown outcome", tracked, err)
	}
	// Dropped: held too.
	if _, err := f.auth.Authorize(ctx, req("c9")); err != nil {
		t.Fatal(err)
	}
	_, err = f.auth.Authorize(ctx, req("c10"))
	var v *limits.Violation
	if !errors.As(err, &v) || v.Rule != limits.RuleOpenOrders {
		t.Fatalf("sixth signature: %v, want open_orders", err)
	}
	// The venue's refusal releases.
	if err := f.limits.UpdateOrder(ctx, "bot", exchange.OrderUpdate{ClientID: "c0", Closed: true}); err != nil {
		t.Fatal(err)
	}
	a, err := f.auth.Authorize(ctx, req("c11"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Reservation.Release(ctx, &exchange.APIError{Venue: "binance", Status: 400, Code: "-2010", Kind: exchange.ErrRejected}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Authorize(ctx, req("c12")); err != nil {
		t.Fatalf("after a refusal the slot is free: %v", err)
	}
}
