package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/limits/pgstore"
)

// TestReservedOrders: every store on the schema finds the orders any
// reservation named by client order id, released or settled ones too,
// until the retention passes; dry runs name none.
func TestReservedOrders(t *testing.T) {
	testURL(t)
	ctx := context.Background()
	schema := newSchema(t)
	a := openStore(t, schema, pgstore.WithOrderRetention(time.Hour))
	b := openStore(t, schema, pgstore.WithOrderRetention(time.Hour))
	req := func(cid string, dry bool) *limits.ReserveRequest {
		return &limits.ReserveRequest{Owner: "bot", Now: time.Now(), DryRun: dry,
			Limits: []limits.Limit{{Key: "g", Amount: decimal.NewFromInt(1), Cap: decimal.NewFromInt(100)}},
			Orders: []limits.OrderRef{{ClientID: cid, Symbol: "BTCUSDT"}, {Symbol: "ETHUSDT"}}}
	}
	id, err := a.Reserve(ctx, req("c1", false))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Reserve(ctx, req("dry", true)); err != nil {
		t.Fatal(err)
	}
	ref, ok, err := b.ReservedOrder(ctx, "bot", "c1")
	if err != nil || !ok || ref.Symbol != "BTCUSDT" || ref.ClientID != "c1" {
		t.Fatalf("another store's reserved order: %+v %v %v", ref, ok, err)
	}
	for _, q := range [][2]string{{"bot", "dry"}, {"other", "c1"}, {"bot", ""}} {
		if ref, ok, err := b.ReservedOrder(ctx, q[0], q[1]); err != nil || ok {
			t.Fatalf("%v: %+v %v %v; want none", q, ref, ok, err)
		}
	}
	// Past the retention, the next reservation forgets it.
	age(t, schema, 2*time.Hour)
	if _, err := b.Reserve(ctx, req("c2", false)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.ReservedOrder(ctx, "bot", "c1"); err != nil || ok {
		t.Fatalf("after the retention: %v %v", ok, err)
	}
	if _, ok, err := a.ReservedOrder(ctx, "bot", "c2"); err != nil || !ok {
		t.Fatalf("a new order: %v %v", ok, err)
	}
	// A guard on the store answers reconciliation's question the same way.
	g := newGuard(t, a)
	if sym, ok, err := g.ReservedOrder(ctx, "bot", "c2"); err != nil || !ok || sym != "BTCUSDT" {
		t.Fatalf("guard: %q %v %v", sym, ok, err)
	}
}
