package exchange_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// venueBook is a venue's view for Reconciler tests: open orders and
// look-ups from maps, the way a venue client reads them.
type venueBook struct {
	mu      sync.Mutex
	open    []exchange.Order
	orders  map[string]exchange.Order // by client id
	lookErr error
	history []exchange.Order
	// onOpen, if set, runs as the open orders are read.
	onOpen func()
}

func (v *venueBook) AllOpenOrders(context.Context) ([]exchange.Order, error) {
	if v.onOpen != nil {
		v.onOpen()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]exchange.Order(nil), v.open...), nil
}

func (v *venueBook) LookUp(_ context.Context, ref exchange.OrderRef) (exchange.Order, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.lookErr != nil {
		return exchange.Order{}, v.lookErr
	}
	o, ok := v.orders[ref.ClientID]
	if !ok {
		return exchange.Order{}, &exchange.APIError{Venue: "binance", Status: 400, Code: "-2013", Kind: exchange.ErrNotFound}
	}
	return o, nil
}

func (v *venueBook) RecentOrders(context.Context, string, time.Time) ([]exchange.Order, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]exchange.Order(nil), v.history...), nil
}

func reconcilerEnv(t *testing.T, book *venueBook, grace time.Duration) (*fixture, *exchange.Reconciler) {
	t.Helper()
	f := newFixture(t)
	conn, err := exchange.NewConn(exchange.ConnConfig{Venue: "binance", Credential: "bot", Scheme: f.auth.Scheme, Guard: f.limits,
		Audit: f.log, Answer: testAPIError, Authorizer: func(*exchange.Request) *exchange.Authorizer { return f.auth }})
	if err != nil {
		t.Fatal(err)
	}
	f.auth.Audit = auditOf(t, conn)
	return f, conn.Reconciler(book, exchange.ReconcileConfig{Grace: grace, Symbols: []string{"BTCUSDT"}})
}

// auditOf signs through the connection's Auditor, which indexes the
// orders of the allow records, as a venue client's Authorizer does.
func auditOf(t *testing.T, c *exchange.Conn) exchange.Auditor {
	t.Helper()
	return c.NewAuthorizer(nil).Audit
}

// TestReconcileGrace: an order of unknown outcome the venue does not know
// is held while its signature may still be sent (the grace), and settled
// as never placed after it; a look-up that fails leaves it as it is.
func TestReconcileGrace(t *testing.T) {
	ctx := context.Background()
	book := &venueBook{orders: map[string]exchange.Order{}}
	// The fixture reserves at testNow, in the past: a grace of ten
	// years has not passed yet.
	f, r := reconcilerEnv(t, book, 10*365*24*time.Hour)
	req := limitOrder("50000", "0.01")
	req.Params = append(req.Params, exchange.Param{Key: "newClientOrderId", Value: "kf-1"})
	a, err := f.auth.Authorize(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Reservation.Release(ctx, nil) // never sent, as far as anyone can tell
	rep, err := r.Reconcile(ctx)
	if err != nil || len(rep.Unresolved) != 1 || len(rep.Settled) != 0 {
		t.Fatalf("within the grace: %+v %v", rep, err)
	}
	book.lookErr = errors.New("venue down")
	if rep, err := r.Reconcile(ctx); err == nil || !strings.Contains(err.Error(), "venue down") || len(rep.Unresolved) != 1 {
		t.Fatalf("failed look-up: %+v %v", rep, err)
	}
	book.lookErr = nil
	// The same guard, reconciled with a grace that has passed.
	conn, err := exchange.NewConn(exchange.ConnConfig{Venue: "binance", Credential: "bot", Scheme: f.auth.Scheme, Guard: f.limits,
		Audit: f.log, Answer: testAPIError, Authorizer: func(*exchange.Request) *exchange.Authorizer { return f.auth }})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = conn.Reconciler(book, exchange.ReconcileConfig{Grace: time.Minute}).Reconcile(ctx)
	if err != nil || len(rep.Settled) != 1 || rep.Settled[0].ClientID != "kf-1" {
		t.Fatalf("after the grace: %+v %v", rep, err)
	}
	if tr, _ := f.limits.TrackedOrders(ctx, "bot"); len(tr) != 0 {
		t.Fatalf("tracked %+v", tr)
	}
}

// TestReconcileForeign: venue orders are matched to allow records by
// client order id, side and symbol; one that matches none, or whose id
// another venue order claimed, is foreign (typed, audited, kill switch).
func TestReconcileForeign(t *testing.T) {
	ctx := context.Background()
	book := &venueBook{orders: map[string]exchange.Order{}}
	f, r := reconcilerEnv(t, book, time.Hour)
	req := limitOrder("50000", "0.01")
	req.Params = append(req.Params, exchange.Param{Key: "newClientOrderId", Value: "kf-own"})
	a, err := f.auth.Authorize(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	own := exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit, ID: "1", ClientID: "kf-own",
		Status: exchange.StatusNew, Quantity: dec("0.01"), Price: dec("50000")}
	_ = a.Reservation.Commit(ctx, exchange.Outcome{Orders: []exchange.OrderRef{{ID: "1", ClientID: "kf-own", Symbol: "BTCUSDT"}}})
	book.open = []exchange.Order{own}
	if rep, err := r.Reconcile(ctx); err != nil || len(rep.Foreign) != 0 || len(rep.Open) != 1 {
		t.Fatalf("own order: %+v %v", rep, err)
	}
	if tripped, _ := f.limits.Tripped(ctx); tripped {
		t.Fatal("tripped on keyfence's own order")
	}
	sell := own
	sell.ID, sell.Side = "2", exchange.Sell // same client id, other side
	reuse := own
	reuse.ID = "3" // same client id, another venue order
	stranger := exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit, ID: "4", ClientID: "web_abc", Status: exchange.StatusFilled}
	book.history = []exchange.Order{own, sell, reuse, stranger}
	rep, err := r.Reconcile(ctx)
	if !errors.Is(err, exchange.ErrForeignOrder) || len(rep.Foreign) != 3 {
		t.Fatalf("foreign %+v %v", rep.Foreign, err)
	}
	var fe *exchange.ForeignOrderError
	if !errors.As(err, &fe) || fe.Credential != "bot" {
		t.Fatalf("typed error %v", err)
	}
	if tripped, reason := f.limits.Tripped(ctx); !tripped || !strings.Contains(reason, "foreign order") {
		t.Fatalf("kill switch %v %q", tripped, reason)
	}
	// Reported once.
	if rep, err := r.Reconcile(ctx); err != nil || len(rep.Foreign) != 0 {
		t.Fatalf("reported again: %+v %v", rep.Foreign, err)
	}
}
