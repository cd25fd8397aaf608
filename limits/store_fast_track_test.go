package limits

import (
	"context"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// TestDroppedReservationTracked: a reservation dropped without Commit or
// Release (its process lost the request in flight) is listed by
// TrackedOrders as pending, with its client order id and symbol, holds
// its budget and its open-order slot, and is settled by what
// reconciliation finds (UpdateOrder), on the fast path of a MemoryStore as
// through the Store interface; its own Commit or Release then settles
// nothing more.
func TestDroppedReservationTracked(t *testing.T) {
	for name, store := range map[string]Store{"fast path": nil, "Store interface": &genericStore{NewMemoryStore()}} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, testPolicy, store)
			if (f.guard.fast != nil) != (store == nil) {
				t.Fatal("the fast path is not the one under test")
			}
			order := func(cid string) *exchange.Intent {
				o := limit("BTCUSDT", exchange.Buy, "100", "1")
				o.ClientID = cid
				return trade("main", o)
			}
			key := "main\x00symbol\x00BTCUSDT"
			dropped1 := f.mustAllow(order("c1"))
			dropped2 := f.mustAllow(order("c2"))
			// Settled ones are not listed.
			if err := f.mustAllow(order("c3")).Release(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if err := f.mustAllow(order("c4")).Commit(ctx, exchange.Outcome{FilledQuote: dec("100")}); err != nil {
				t.Fatal(err)
			}
			tracked, err := f.guard.TrackedOrders(ctx, "main")
			if err != nil || len(tracked) != 2 {
				t.Fatalf("tracked %+v %v: want the two dropped reservations", tracked, err)
			}
			for i, o := range tracked {
				if want := []string{"c1", "c2"}[i]; o.ClientID != want || o.Symbol != "BTCUSDT" || !o.Pending || !o.Unknown || !o.At.Equal(t0) {
					t.Errorf("tracked %+v, want %s pending", o, want)
				}
			}
			if other, _ := f.guard.TrackedOrders(ctx, "wide"); len(other) != 0 {
				t.Errorf("another credential's orders: %+v", other)
			}
			if got := usage(t, f.store, key, DailyWindow, t0); got != "300" {
				t.Fatalf("window %s, want 300 (two held, one filled)", got)
			}
			// Three open orders at most: the two held take two slots.
			if _, rule := f.check(order("c5")); rule != "" {
				t.Fatalf("third slot: %s", rule)
			}

			// Reconciliation: c1 closed having filled 40; c2 rests as v2.
			if err := f.guard.UpdateOrder(ctx, "main", exchange.OrderUpdate{ClientID: "c1", Symbol: "BTCUSDT", Closed: true, FilledQuote: dec("40")}); err != nil {
				t.Fatal(err)
			}
			if err := f.guard.UpdateOrder(ctx, "main", exchange.OrderUpdate{ID: "v2", ClientID: "c2", Symbol: "BTCUSDT"}); err != nil {
				t.Fatal(err)
			}
			tracked, err = f.guard.TrackedOrders(ctx, "main")
			if err != nil || len(tracked) != 2 || tracked[0].ID != "v2" || tracked[0].Unknown || tracked[0].Pending || tracked[1].ClientID != "c5" || !tracked[1].Pending {
				t.Fatalf("tracked %+v %v: want c5 pending and v2 known to rest", tracked, err)
			}
			if got := usage(t, f.store, key, DailyWindow, t0); got != "340" {
				t.Fatalf("window %s, want 340 (c1's fill, c2 and c5 held, c4's fill)", got)
			}
			if err := f.guard.OrderClosed(ctx, "main", "v2", dec("0")); err != nil {
				t.Fatal(err)
			}
			if got := usage(t, f.store, key, DailyWindow, t0); got != "240" {
				t.Fatalf("window %s, want 240 after v2 closed unfilled", got)
			}
			// The reserving process comes back to them: settled already.
			if err := dropped1.Commit(ctx, exchange.Outcome{}); err == nil {
				t.Error("Commit of a reservation reconciliation settled: no error")
			}
			if err := dropped2.Release(ctx, nil); err == nil {
				t.Error("Release of a reservation reconciliation settled: no error")
			}
			if got := usage(t, f.store, key, DailyWindow, t0); got != "240" {
				t.Fatalf("window %s after the late settlements, want 240", got)
			}
		})
	}
}
