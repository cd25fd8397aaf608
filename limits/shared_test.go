package limits

import (
	"context"
	"testing"
	"time"
)

// TestReservedOrderOfOneProcess: a guard on a store of one process knows
// no other process's orders: it reports none, and reconciliation relies
// on its own audit log.
func TestReservedOrderOfOneProcess(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	f := newFixture(t, testPolicy, s)
	if _, err := s.Reserve(ctx, &ReserveRequest{Owner: "main", Now: time.Now(), Limits: []Limit{lim("g", "1", "5", 0)},
		Orders: []OrderRef{{ClientID: "c1", Symbol: "BTCUSDT"}}}); err != nil {
		t.Fatal(err)
	}
	if sym, ok, err := f.guard.ReservedOrder(ctx, "main", "c1"); sym != "" || ok || err != nil {
		t.Fatalf("ReservedOrder = %q %v %v; want nothing", sym, ok, err)
	}
}
