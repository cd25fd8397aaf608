package limits

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// usage returns what counter key holds at now, by reserving nothing on
// it with a cap of 0 (the refusal says the usage).
func usage(t *testing.T, s Store, key string, w time.Duration, now time.Time) string {
	t.Helper()
	_, err := s.Reserve(context.Background(), &ReserveRequest{Owner: "probe", Now: now, Limits: []Limit{lim(key, "0.000001", "0", w)}})
	var ex *ExceededError
	if !errors.As(err, &ex) {
		t.Fatalf("probe of %s: %v", key, err)
	}
	return ex.Used.String()
}

// TestStoreTracksUnknownOrders: orders committed as of unknown outcome (by
// client order id only, or by venue id with no status) hold their budget,
// are listed by Tracked, learn their venue id and status from UpdateOrder,
// and settle at their real fill when they close; the list, the ids and the
// budget survive a reopen.
func TestStoreTracksUnknownOrders(t *testing.T) {
	ctx := context.Background()
	storeKinds(t, func(t *testing.T, open func() Store) {
		s := open()
		req := func(cid string) *ReserveRequest {
			return &ReserveRequest{Owner: "bot", Now: t0, Limits: []Limit{lim("w", "100", "1000", time.Hour), lim("g", "1", "5", 0)},
				Orders: []OrderRef{{ClientID: cid, Symbol: "BTCUSDT"}}}
		}
		t1, err := s.Reserve(ctx, req("c1"))
		if err != nil {
			t.Fatal(err)
		}
		t2, err := s.Reserve(ctx, req("c2"))
		if err != nil {
			t.Fatal(err)
		}
		t3, err := s.Reserve(ctx, req("c3"))
		if err != nil {
			t.Fatal(err)
		}
		// c1: a lost answer; c2: an ACK with venue id 22; c3 pending (its
		// process stopped mid-request).
		if err := s.Commit(ctx, t1, Settlement{Orders: []OrderRef{{ClientID: "c1", Symbol: "BTCUSDT", Unknown: true}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, t2, Settlement{Orders: []OrderRef{{ID: "22", ClientID: "c2", Symbol: "BTCUSDT", Unknown: true}}}); err != nil {
			t.Fatal(err)
		}
		_ = t3
		s = open()
		tr, err := s.Tracked(ctx, "bot")
		if err != nil || len(tr) != 3 {
			t.Fatalf("tracked %+v %v", tr, err)
		}
		for _, o := range tr {
			if !o.Unknown || o.Symbol != "BTCUSDT" || o.Owner != "bot" || !o.At.Equal(t0) {
				t.Errorf("tracked %+v", o)
			}
			if o.Pending != (o.ClientID == "c3") {
				t.Errorf("%s pending %v", o.ClientID, o.Pending)
			}
		}
		if other, _ := s.Tracked(ctx, "other"); len(other) != 0 {
			t.Errorf("another owner's orders: %+v", other)
		}
		if got := usage(t, s, "w", time.Hour, t0); got != "300" {
			t.Fatalf("window %s, want 300 held", got)
		}
		// c1 rests at the venue as order 11; c3 was placed and filled 40.
		if err := s.UpdateOrder(ctx, "bot", OrderUpdate{ID: "11", ClientID: "c1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateOrder(ctx, "bot", OrderUpdate{ID: "33", ClientID: "c3", Closed: true, Filled: dec("40")}); err != nil {
			t.Fatal(err)
		}
		s = open()
		tr, _ = s.Tracked(ctx, "bot")
		if len(tr) != 2 || tr[0].ID != "11" || tr[0].Unknown || tr[1].ID != "22" || !tr[1].Unknown {
			t.Fatalf("tracked %+v", tr)
		}
		if got := usage(t, s, "w", time.Hour, t0); got != "240" {
			t.Fatalf("window %s, want 200 held + 40 filled", got)
		}
		if got := usage(t, s, "g", 0, t0); got != "2" {
			t.Fatalf("gauge %s, want 2 open", got)
		}
		// Order 11 closes by venue id (a cancel's answer), 22 was never
		// placed (a look-up after the signature expired).
		if err := s.CloseOrder(ctx, "bot", "11", dec("25")); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateOrder(ctx, "bot", OrderUpdate{ClientID: "c2", ID: "22", Closed: true}); err != nil {
			t.Fatal(err)
		}
		s = open()
		if tr, _ := s.Tracked(ctx, "bot"); len(tr) != 0 {
			t.Fatalf("tracked %+v, want none", tr)
		}
		if got := usage(t, s, "w", time.Hour, t0); got != "65" {
			t.Fatalf("window %s, want the fills 40 + 25", got)
		}
		if got := usage(t, s, "g", 0, t0); got != "0" {
			t.Fatalf("gauge %s", got)
		}
	})
}

// TestStoreSharedOrder: two tickets holding one order (an order and its
// edit) both settle when it closes, and its fill counts once.
func TestStoreSharedOrder(t *testing.T) {
	ctx := context.Background()
	storeKinds(t, func(t *testing.T, open func() Store) {
		s := open()
		for _, amount := range []string{"100", "150"} {
			id, err := s.Reserve(ctx, &ReserveRequest{Owner: "bot", Now: t0, Limits: []Limit{lim("w", amount, "1000", time.Hour), lim("g", "1", "5", 0)}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Commit(ctx, id, Settlement{Orders: []OrderRef{{ID: "7", ClientID: "c7", Symbol: "S", Unknown: true}}}); err != nil {
				t.Fatal(err)
			}
		}
		s = open()
		if tr, _ := s.Tracked(ctx, "bot"); len(tr) != 2 {
			t.Fatalf("tracked %+v", tr)
		}
		if err := s.CloseOrder(ctx, "bot", "7", dec("120")); err != nil {
			t.Fatal(err)
		}
		s = open()
		if tr, _ := s.Tracked(ctx, "bot"); len(tr) != 0 {
			t.Fatalf("tracked %+v", tr)
		}
		if got := usage(t, s, "w", time.Hour, t0); got != "120" {
			t.Fatalf("window %s, want the fill once", got)
		}
	})
}

// TestStoreWholeSettlementOfSeveralOrders: a settlement by order refs
// counts what the closed orders filled plus each tracked order's whole
// fill, so an order list whose first leg filled at once and whose second
// filled later counts both.
func TestStoreWholeSettlementOfSeveralOrders(t *testing.T) {
	ctx := context.Background()
	storeKinds(t, func(t *testing.T, open func() Store) {
		s := open()
		id, err := s.Reserve(ctx, &ReserveRequest{Owner: "bot", Now: t0, Limits: []Limit{lim("w", "300", "1000", time.Hour), lim("g", "2", "5", 0)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, id, Settlement{Filled: dec("100"), Orders: []OrderRef{{ID: "2", Symbol: "S"}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseOrder(ctx, "bot", "2", dec("90")); err != nil {
			t.Fatal(err)
		}
		s = open()
		if got := usage(t, s, "w", time.Hour, t0); got != "190" {
			t.Fatalf("window %s, want 100 + 90", got)
		}
	})
}

// TestFileStoreReadsSnapshotsBeforeTracked: a snapshot written before
// orders were tracked by ref (a ticket's venue ids only) still opens, and
// its order closes.
func TestFileStoreReadsSnapshotsBeforeTracked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.state")
	old := `{"op":"snapshot","snap":{"seq":1,"counters":[{"key":"g","sum":"1"},{"key":"w","w":3600000000000,"sum":"0","entries":[{"t":` +
		`1767225600000000000,"a":"100"}]}],"tickets":[{"id":"1","owner":"bot","t":1767225600000000000,"committed":true,"open":1,` +
		`"filled":"30","closed":"0","orders":["o1"],"parts":[{"key":"w","w":3600000000000,"gauge":"0"},{"key":"g","entry":0,"gauge":"1"}]}]}}` + "\n"
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	fs, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	ctx := context.Background()
	if tr, err := fs.Tracked(ctx, "bot"); err != nil || len(tr) != 1 || tr[0].ID != "o1" {
		t.Fatalf("tracked %+v %v", tr, err)
	}
	// It filled 30 at once, and 20 in all by this report: 30 counts.
	if err := fs.CloseOrder(ctx, "bot", "o1", dec("20")); err != nil {
		t.Fatal(err)
	}
	if got := usage(t, fs, "w", time.Hour, time.Unix(0, 1767225600000000000)); got != "30" {
		t.Fatalf("window %s", got)
	}
}

// TestGuardLedger: the Guard lists and updates its store's orders for
// reconciliation, per credential.
func TestGuardLedger(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	p, err := ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGuard(p, store)
	if err != nil {
		t.Fatal(err)
	}
	id, err := store.Reserve(ctx, &ReserveRequest{Owner: "main", Now: t0, Limits: []Limit{lim("x", "1", "10", 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Commit(ctx, id, Settlement{Orders: []OrderRef{{ClientID: "c", Symbol: "BTCUSDT", Unknown: true}}}); err != nil {
		t.Fatal(err)
	}
	tr, err := g.TrackedOrders(ctx, "main")
	if err != nil || len(tr) != 1 || tr[0].ClientID != "c" || !tr[0].Unknown {
		t.Fatalf("tracked %+v %v", tr, err)
	}
	if err := g.UpdateOrder(ctx, "main", exchange.OrderUpdate{ClientID: "c", Closed: true}); err != nil {
		t.Fatal(err)
	}
	if tr, _ := g.TrackedOrders(ctx, "main"); len(tr) != 0 {
		t.Fatalf("tracked %+v", tr)
	}
	if syms := g.Symbols("main"); len(syms) == 0 {
		t.Fatal("no symbols")
	}
}

// TestStoreOrderIDsPerSymbol: a venue that numbers each symbol's orders
// (Binance) may give two symbols' orders one id: an update naming the
// symbol settles only that symbol's order.
func TestStoreOrderIDsPerSymbol(t *testing.T) {
	ctx := context.Background()
	storeKinds(t, func(t *testing.T, open func() Store) {
		s := open()
		for _, sym := range []string{"BTCUSDT", "ETHUSDT"} {
			id, err := s.Reserve(ctx, &ReserveRequest{Owner: "bot", Now: t0, Limits: []Limit{lim("w", "100", "1000", time.Hour)}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Commit(ctx, id, Settlement{Orders: []OrderRef{{ID: "28", Symbol: sym}}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.UpdateOrder(ctx, "bot", OrderUpdate{ID: "28", Symbol: "ETHUSDT", Closed: true, Filled: dec("10")}); err != nil {
			t.Fatal(err)
		}
		s = open()
		tr, _ := s.Tracked(ctx, "bot")
		if len(tr) != 1 || tr[0].Symbol != "BTCUSDT" {
			t.Fatalf("tracked %+v, want the BTCUSDT order still held", tr)
		}
		if got := usage(t, s, "w", time.Hour, t0); got != "110" {
			t.Fatalf("window %s, want 100 held + 10 filled", got)
		}
	})
}
