//go:build !race

// The race detector disables sync.Pool and changes what escapes: the count
// below holds for normal builds only.

package binance

import (
	"context"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// TestPlaceOrderAllocations holds the signing path of a LIMIT order to its
// allocations: what Authorize returns (one), the record's intent summary,
// the guard's reservation and the query string. The timestamp and the
// signature are written into the payload, the record's digests are
// binary.
func TestPlaceOrderAllocations(t *testing.T) {
	auth := benchAuthorizer(t)
	ctx := context.Background()
	req := &exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
		{Key: "symbol", Value: "LTCBTC"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
		{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "1"}, {Key: "price", Value: "0.1"}}}
	var failed error
	n := testing.AllocsPerRun(200, func() {
		a, err := auth.Authorize(ctx, req)
		if err == nil {
			// The venue's answer: expired, nothing filled.
			err = a.Reservation.Commit(ctx, exchange.Outcome{})
		}
		if err != nil {
			failed = err
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if n > 4 {
		t.Errorf("%v allocations per order, want at most 4", n)
	}
}
