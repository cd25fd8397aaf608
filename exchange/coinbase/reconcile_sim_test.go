package coinbase

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

func ruleOf(err error) limits.Rule {
	var v *limits.Violation
	if errors.As(err, &v) {
		return v.Rule
	}
	return ""
}

// TestSimCreateAnswerHoldsAndReconciles: a create-order answer states no
// status and no fills, so the order holds its value and its slot (2 open
// orders at most) until reconciliation sees it closed; then its real fill
// counts. An order placed with the key without keyfence is foreign and
// trips the kill switch.
func TestSimCreateAnswerHoldsAndReconciles(t *testing.T) {
	nd := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(d(s)) }
	pol := &limits.Policy{Version: 1, Credentials: map[string]*limits.CredentialPolicy{"cb": {
		Venue: Venue, OrderTypes: []exchange.OrderType{exchange.Limit}, MaxOpenOrders: 2, PriceBand: nd("0.05"),
		AcceptKeyRisks: exchange.KeyRisks{UnrestrictedIP: true},
		Quotes:         map[string]limits.Caps{"USD": {MaxOrderNotional: nd("1000"), MaxDailyNotional: nd("10000")}},
		Symbols:        map[string]limits.SymbolPolicy{"BTC-USD": {}},
	}}}
	prices := NewPriceFeed(PriceFeedConfig{})
	g, err := limits.NewGuard(pol, limits.NewMemoryStore(), limits.WithPrices(Venue, prices))
	if err != nil {
		t.Fatal(err)
	}
	e, err := newEnv(t, signer.KeyECDSAP256, exchange.Permissions{Read: true, Trade: true}, func(c *Config) {
		c.Guard, c.Prices, c.Reconcile = g, prices, exchange.ReconcileConfig{Every: -1}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.c.Close() })
	ctx := context.Background()
	// Through Do, without a client_order_id: the client adds one.
	body := `{"product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"49000"}}}`
	if _, err := e.c.Do(ctx, &exchange.Request{Method: http.MethodPost, Path: Prefix + "/orders", Body: []byte(body)}); err != nil {
		t.Fatal(e.seen(err))
	}
	tracked, err := g.TrackedOrders(ctx, "cb")
	if err != nil || len(tracked) != 1 || !tracked[0].Unknown || tracked[0].ID == "" || !strings.HasPrefix(tracked[0].ClientID, "kf-") {
		t.Fatalf("tracked %+v %v: want the order of unknown outcome", tracked, err)
	}
	if _, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USD", Side: exchange.Buy, Type: exchange.Limit, Quantity: d("0.001"), Price: d("49100")}); err != nil {
		t.Fatal(e.seen(err))
	}
	if _, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USD", Side: exchange.Buy, Type: exchange.Limit, Quantity: d("0.001"), Price: d("49200")}); ruleOf(err) != limits.RuleOpenOrders {
		t.Fatalf("third order: %v, want open_orders", e.seen(err))
	}
	e.sim.SetPrice("BTC-USD", d("48900"))
	rep, err := e.c.Reconcile(ctx)
	if err != nil || len(rep.Settled) != 2 || len(rep.Foreign) != 0 {
		t.Fatalf("reconcile %+v %v", rep, e.seen(err))
	}
	if tracked, _ := g.TrackedOrders(ctx, "cb"); len(tracked) != 0 {
		t.Fatalf("tracked after the fills %+v", tracked)
	}

	// The leaked key, used elsewhere: a JWT minted with the venue's
	// scheme, no guard, no audit record.
	s, err := NewScheme(e.sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	s.setProducts(e.c.Products())
	req := &exchange.Request{Credential: "cb", Method: http.MethodPost, Path: Prefix + "/orders", Body: []byte(
		`{"client_order_id":"attacker-1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"47000"}}}`)}
	now := time.Now()
	payload, err := s.Prepare(nil, req, e.key.info, now)
	if err != nil {
		t.Fatal(err)
	}
	var w exchange.Wire
	if err := s.Sign(ctx, e.key.store, e.key.info, req, payload, now, &w); err != nil {
		t.Fatal(err)
	}
	if resp, err := exchange.Do(ctx, http.DefaultClient, e.sim.URL(), &w); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("direct order %v %+v", err, resp)
	}
	rep, err = e.c.Reconcile(ctx)
	if !errors.Is(err, exchange.ErrForeignOrder) || len(rep.Foreign) != 1 || rep.Foreign[0].Order.ClientID != "attacker-1" {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if tripped, reason := g.Tripped(ctx); !tripped || !strings.Contains(reason, "foreign order") {
		t.Fatalf("kill switch %v %q", tripped, reason)
	}
}
