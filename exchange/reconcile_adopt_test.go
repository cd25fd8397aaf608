package exchange_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

// TestReconcileAdopts: resting orders keyfence signed (the audit log
// accounts for them) that the guard does not track are adopted: held with
// their open-order slots until they are seen closed, once. An order the
// look-up finds closed is not held again, nor is one this process placed
// while reconciliation read the venue (it is in the guard's list read
// after the venue's).
func TestReconcileAdopts(t *testing.T) {
	ctx := context.Background()
	book := &venueBook{orders: map[string]exchange.Order{}}
	f, r := reconcilerEnv(t, book, 0)
	sign := func(cid string) *exchange.Authorized {
		t.Helper()
		req := limitOrder("50000", "0.01")
		req.Params = append(req.Params, exchange.Param{Key: "newClientOrderId", Value: cid})
		a, err := f.auth.Authorize(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	resting := func(id, cid string) exchange.Order {
		return exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit, ID: id, ClientID: cid,
			Status: exchange.StatusNew, Quantity: dec("0.01"), Price: dec("50000")}
	}
	// Signed by a process whose guard state is gone: the guard holds
	// nothing of them, the audit log has their allow records.
	for _, cid := range []string{"kf-a", "kf-b", "kf-c"} {
		_ = sign(cid).Reservation.Release(ctx, &exchange.APIError{Venue: "binance", Status: 400, Code: "-1013"})
	}
	a, b, c := resting("1", "kf-a"), resting("2", "kf-b"), resting("3", "kf-c")
	b.Status, b.Executed, b.ExecutedQuo = exchange.StatusPartiallyFilled, dec("0.004"), dec("200")
	closedC := c
	closedC.Status, closedC.Executed, closedC.ExecutedQuo = exchange.StatusFilled, dec("0.01"), dec("500")
	book.open = []exchange.Order{a, b, c}
	book.orders["kf-a"], book.orders["kf-b"], book.orders["kf-c"] = a, b, closedC // c filled meanwhile
	// kf-d is placed by this process while the venue is read.
	book.onOpen = func() {
		book.onOpen = nil
		sign("kf-d") // in flight: pending in the guard
		d := resting("4", "kf-d")
		book.mu.Lock()
		book.open = append(book.open, d)
		book.orders["kf-d"] = d
		book.mu.Unlock()
	}
	rep, err := r.Reconcile(ctx)
	if err != nil || len(rep.Adopted) != 2 || rep.Adopted[0].ClientID != "kf-a" || rep.Adopted[1].ClientID != "kf-b" || len(rep.Foreign) != 0 {
		t.Fatalf("reconcile %+v %v: want kf-a and kf-b adopted", rep, err)
	}
	tracked, err := f.limits.TrackedOrders(ctx, "bot")
	if err != nil || len(tracked) != 3 {
		t.Fatalf("tracked %+v %v: want kf-a, kf-b and the pending kf-d", tracked, err)
	}
	// Three of five open-order slots are held: two more orders fit.
	for _, cid := range []string{"kf-e", "kf-f"} {
		sign(cid)
	}
	req := limitOrder("50000", "0.001")
	req.Params = append(req.Params, exchange.Param{Key: "newClientOrderId", Value: "kf-g"})
	var v *limits.Violation
	if _, err := f.auth.Authorize(ctx, req); !errors.As(err, &v) || v.Rule != limits.RuleOpenOrders {
		t.Fatalf("a sixth open order: %v, want %s", err, limits.RuleOpenOrders)
	}
	// Adopted once: the next reconciliation finds them tracked.
	book.open = []exchange.Order{b, book.orders["kf-d"]}
	a.Status, a.Executed, a.ExecutedQuo = exchange.StatusFilled, dec("0.01"), dec("500")
	book.orders["kf-a"] = a
	rep, err = r.Reconcile(ctx)
	if err != nil || len(rep.Adopted) != 0 {
		t.Fatalf("second reconcile %+v %v: want nothing adopted again", rep, err)
	}
	settled := false
	for _, o := range rep.Settled {
		settled = settled || o.ClientID == "kf-a"
	}
	if !settled {
		t.Fatalf("second reconcile %+v: want kf-a settled", rep)
	}
}
