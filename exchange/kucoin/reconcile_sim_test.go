package kucoin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/limits"
	"github.com/shopspring/decimal"
)

// guardedSim is the simulated KuCoin with a client guarded by a real
// limits.Guard: 1,000 USDT a day, 500 per order, 10 open orders.
type guardedSim struct {
	sim *exchangetest.KuCoin
	c   *Client
	g   *limits.Guard
	a   *memAudit
}

func newGuardedSim(t *testing.T, rc exchange.ReconcileConfig) *guardedSim {
	t.Helper()
	sim := exchangetest.NewKuCoin(exchangetest.WithKuCoinKeys(exchangetest.KuCoinKey{
		APIKey: "sim-key", Secret: []byte(canarySecret), Passphrase: []byte(canaryPassphrase), Permissions: traderPerms}))
	t.Cleanup(sim.Close)
	sg, _ := memSigner(t, "bot", "sim-key", canarySecret, canaryPassphrase)
	nd := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	pol := &limits.Policy{Version: 1, Credentials: map[string]*limits.CredentialPolicy{
		"bot": {
			Venue: Venue, OrderTypes: []exchange.OrderType{exchange.Limit, exchange.Market}, MaxOpenOrders: 10, PriceBand: nd("0.05"),
			Quotes:  map[string]limits.Caps{"USDT": {MaxOrderNotional: nd("500"), MaxDailyNotional: nd("1000")}},
			Symbols: map[string]limits.SymbolPolicy{"BTC-USDT": {}},
		},
	}}
	prices := NewPriceFeed(PriceFeedConfig{BaseURL: sim.URL(), MaxAge: 500 * time.Millisecond})
	g, err := limits.NewGuard(pol, limits.NewMemoryStore(), limits.WithPrices(Venue, prices))
	if err != nil {
		t.Fatal(err)
	}
	e := &guardedSim{sim: sim, g: g, a: &memAudit{}}
	e.c, err = New(context.Background(), Config{BaseURL: sim.URL(), Credential: "bot", Signer: sg, Guard: g, Audit: e.a,
		Prices: prices, Reconcile: rc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.c.Close() })
	return e
}

func ruleOf(err error) limits.Rule {
	var v *limits.Violation
	if errors.As(err, &v) {
		return v.Rule
	}
	return ""
}

func marketBuy(route, funds string) *exchange.Request {
	return &exchange.Request{Method: http.MethodPost, Path: route,
		Body: []byte(`{"symbol":"BTC-USDT","side":"buy","type":"market","funds":"` + funds + `"}`)}
}

// TestSimMarketFloodHeld: POST /api/v1/hf/orders answers only orderId and
// clientOid, so ten 400 USDT market buys cannot pass a 1,000 USDT daily
// cap: each holds its 400 until it is seen closed; reconciliation then
// counts each at its real fill.
func TestSimMarketFloodHeld(t *testing.T) {
	e := newGuardedSim(t, exchange.ReconcileConfig{Every: -1})
	ctx := context.Background()
	accepted := 0
	for i := range 10 {
		_, err := e.c.Do(ctx, marketBuy("/api/v1/hf/orders", "400"))
		switch {
		case err == nil:
			accepted++
		case ruleOf(err) == limits.RuleDailyNotional:
		default:
			t.Fatalf("order %d: %v", i, err)
		}
	}
	if accepted != 2 {
		t.Fatalf("%d market buys of 400 USDT accepted under a 1,000 USDT cap, want 2", accepted)
	}
	rep, err := e.c.Reconcile(ctx)
	if err != nil || len(rep.Settled) != 2 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	// Each settles at its real fill, a little under 400 (the base
	// quantity is rounded to its step, the fee is taken).
	used := decimal.Zero
	for _, o := range rep.Settled {
		if f := o.ExecutedQuo; f.LessThan(decimal.RequireFromString("399")) || f.GreaterThan(decimal.RequireFromString("400")) {
			t.Fatalf("settled at %s, want the real fill", f)
		}
		used = used.Add(o.ExecutedQuo)
	}
	// What is left of the cap passes; a cent more does not.
	left := decimal.NewFromInt(1000).Sub(used).RoundDown(2)
	if _, err := e.c.Do(ctx, marketBuy("/api/v1/hf/orders/sync", left.Add(decimal.RequireFromString("0.01")).String())); ruleOf(err) != limits.RuleDailyNotional {
		t.Fatalf("over the cap: %v", err)
	}
	if _, err := e.c.Do(ctx, marketBuy("/api/v1/hf/orders/sync", left.String())); err != nil {
		t.Fatalf("within the cap: %v", err)
	}
}

// TestEveryOrderRouteAnswerWithoutStatusHolds: on the routes that answer
// only ids (hf/orders, hf/orders/multi, hf/orders/alter) every order is
// committed as of unknown outcome with its clientOid; the sync routes,
// which state status and dealFunds, settle what they state.
func TestEveryOrderRouteAnswerWithoutStatusHolds(t *testing.T) {
	order := func(cid, price string) string {
		return `{"clientOid":"` + cid + `","symbol":"BTC-USDT","side":"buy","type":"limit","price":"` + price + `","size":"0.001"}`
	}
	cases := []struct {
		route   string
		body    string
		unknown int // orders committed as of unknown outcome
		open    int // orders committed as known to rest
	}{
		{"/api/v1/hf/orders", order("c1", "49000"), 1, 0},
		{"/api/v1/hf/orders/multi", `{"orderList":[` + order("c1", "49000") + `,` + order("c2", "49100") + `]}`, 2, 0},
		{"/api/v1/hf/orders/sync", order("c1", "49000"), 0, 1},
		{"/api/v1/hf/orders/multi/sync", `{"orderList":[` + order("c1", "49000") + `,` + order("c2", "49100") + `]}`, 0, 2},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		t.Run(c.route, func(t *testing.T) {
			e := mustSimEnv(t)
			if _, err := e.c.Do(context.Background(), &exchange.Request{Method: http.MethodPost, Path: c.route, Body: []byte(c.body)}); err != nil {
				t.Fatal(err)
			}
			covered["POST "+c.route] = true
			commits, _, _ := e.g.snapshot()
			if len(commits) != 1 || !commits[0].FilledQuote.IsZero() || len(commits[0].Orders) != c.unknown+c.open {
				t.Fatalf("commits %+v", commits)
			}
			unknown := 0
			for _, o := range commits[0].Orders {
				if o.ClientID == "" || o.ID == "" || o.Symbol != "BTC-USDT" {
					t.Errorf("order %+v", o)
				}
				if o.Unknown {
					unknown++
				}
			}
			if unknown != c.unknown {
				t.Errorf("%d orders of unknown outcome, want %d", unknown, c.unknown)
			}
		})
	}
	// The simulator serves no alter: its documented answer, read as the
	// client reads it.
	in := &exchange.Intent{Orders: []exchange.Order{{ID: "old-1", ClientID: "c1", Symbol: "BTC-USDT"}}}
	out, placed, ok := outcomeOf(in, json.RawMessage(`{"newOrderId":"new-2","clientOid":"c1"}`))
	if !ok || !placed || len(out.Orders) != 1 || out.Orders[0] != (exchange.OrderRef{ID: "new-2", ClientID: "c1", Symbol: "BTC-USDT", Unknown: true}) {
		t.Fatalf("alter outcome %+v %v %v", out, placed, ok)
	}
	covered["POST /api/v1/hf/orders/alter"] = true
	for name, spec := range routeTable {
		if spec.class == exchange.ClassTrade && !spec.test && !covered[name] {
			t.Errorf("order route %s has no settlement test", name)
		}
	}
}

// TestSimForeignOrder: an order placed with the bot's key without keyfence
// is reported foreign and trips the kill switch; keyfence's own are not.
func TestSimForeignOrder(t *testing.T) {
	e := newGuardedSim(t, exchange.ReconcileConfig{Every: -1})
	ctx := context.Background()
	if _, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: decimal.RequireFromString("0.001"), Price: decimal.RequireFromString("49000")}); err != nil {
		t.Fatal(err)
	}
	if rep, err := e.c.Reconcile(ctx); err != nil || len(rep.Foreign) != 0 || len(rep.Open) != 1 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	// The leaked key, used elsewhere: signed with the venue's scheme, no
	// guard, no audit record.
	s := mustScheme(t, "2")
	sg, key := memSigner(t, "bot", "sim-key", canarySecret, canaryPassphrase)
	req := &exchange.Request{Credential: "bot", Method: http.MethodPost, Path: "/api/v1/hf/orders",
		Body: []byte(`{"clientOid":"attacker-1","symbol":"BTC-USDT","side":"buy","type":"limit","price":"48000","size":"0.001"}`)}
	now := time.Now()
	payload, err := s.Prepare(nil, req, key, now)
	if err != nil {
		t.Fatal(err)
	}
	var w exchange.Wire
	if err := s.Sign(ctx, sg, key, req, payload, now, &w); err != nil {
		t.Fatal(err)
	}
	if resp, err := exchange.Do(ctx, http.DefaultClient, e.sim.URL(), &w); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("direct order %v %+v", err, resp)
	}
	rep, err := e.c.Reconcile(ctx)
	if !errors.Is(err, exchange.ErrForeignOrder) || len(rep.Foreign) != 1 || rep.Foreign[0].Order.ClientID != "attacker-1" {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	if tripped, reason := e.g.Tripped(ctx); !tripped || !strings.Contains(reason, "foreign order") {
		t.Fatalf("kill switch %v %q", tripped, reason)
	}
	recs := e.a.records()
	if r := recs[len(recs)-1]; r.Rule != exchange.RuleForeignOrder || !strings.Contains(r.Intent, "attacker-1") {
		t.Fatalf("last audit record %+v", r)
	}
}
