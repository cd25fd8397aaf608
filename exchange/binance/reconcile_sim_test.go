package binance

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/exchange/internal/restarttest"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// recSim is the simulated Binance with one key, and what a guarded client
// of that key needs.
type recSim struct {
	sim    *exchangetest.Binance
	keys   *signer.Memory
	apiKey string
	policy *limits.Policy
}

func newRecSim(t *testing.T) *recSim {
	t.Helper()
	sim := exchangetest.NewBinance()
	t.Cleanup(sim.Close)
	keys := signer.NewMemory()
	t.Cleanup(func() { _ = keys.Close() })
	r := &recSim{sim: sim, keys: keys, apiKey: "rec-key"}
	if err := keys.Import(signer.KeyInfo{Name: "bot", Venue: Venue, APIKey: r.apiKey, Type: signer.KeyHMAC}, []byte(canarySecret), nil); err != nil {
		t.Fatal(err)
	}
	sim.AddKey(exchangetest.BinanceKey{APIKey: r.apiKey, HMACSecret: []byte(canarySecret), Permissions: tradePerms})
	nd := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	r.policy = &limits.Policy{Version: 1, Credentials: map[string]*limits.CredentialPolicy{
		"bot": {
			Venue: Venue, OrderTypes: []exchange.OrderType{exchange.Limit, exchange.Market}, MaxOpenOrders: 5, PriceBand: nd("0.05"),
			Quotes:  map[string]limits.Caps{"USDT": {MaxOrderNotional: nd("500"), MaxDailyNotional: nd("1000")}},
			Symbols: map[string]limits.SymbolPolicy{"BTCUSDT": {}},
		},
	}}
	return r
}

// client returns a guarded client of the key over store, logging to the
// audit log at path.
func (r *recSim) client(t *testing.T, store limits.Store, path string, rc exchange.ReconcileConfig, logs io.Writer) (*Client, *limits.Guard, *audit.Log) {
	t.Helper()
	log, err := audit.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	c, g := r.clientOn(t, store, log, rc, logs)
	return c, g, log
}

// clientOn returns a guarded client of the key over store, logging to log.
func (r *recSim) clientOn(t testing.TB, store limits.Store, log *audit.Log, rc exchange.ReconcileConfig, logs ...io.Writer) (*Client, *limits.Guard) {
	t.Helper()
	prices := NewPriceFeed(PriceFeedConfig{BaseURL: r.sim.URL(), MaxAge: 500 * time.Millisecond})
	g, err := limits.NewGuard(r.policy, store, limits.WithPrices(Venue, prices))
	if err != nil {
		t.Fatal(err)
	}
	w := io.Discard
	if len(logs) > 0 && logs[0] != nil {
		w = logs[0]
	}
	c, err := New(context.Background(), Config{BaseURL: r.sim.URL(), Credential: "bot", Signer: r.keys, Guard: g, Audit: log,
		Prices: prices, RecvWindow: 5 * time.Second, Reconcile: rc, Logger: slog.New(slog.NewTextHandler(w, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, g
}

func limitBuy(qty, price string, extra ...string) *exchange.Request {
	return &exchange.Request{Method: http.MethodPost, Path: "/api/v3/order", Params: append(params("symbol", "BTCUSDT", "side", "BUY",
		"type", "LIMIT", "timeInForce", "GTC", "quantity", qty, "price", price), params(extra...)...)}
}

func ruleOf(err error) limits.Rule {
	var v *limits.Violation
	if errors.As(err, &v) {
		return v.Rule
	}
	return ""
}

// TestSimACKFloodHeld: 20 resting orders answered with ACK (no status, no
// fills) are held at their full value and count as open, so a limit of 5
// open orders stops the sixth; once they fill (seen by reconciliation)
// their real fill counts against the daily cap of 1,000 USDT.
func TestSimACKFloodHeld(t *testing.T) {
	r := newRecSim(t)
	ctx := context.Background()
	c, g, _ := r.client(t, limits.NewMemoryStore(), filepath.Join(t.TempDir(), "audit.log"), exchange.ReconcileConfig{Every: -1}, nil)
	accepted := 0
	for i := range 20 {
		_, err := c.Do(ctx, limitBuy("0.002", "49000", "newOrderRespType", "ACK"))
		switch {
		case err == nil:
			accepted++
		case ruleOf(err) == limits.RuleOpenOrders:
		default:
			t.Fatalf("order %d: %v", i, err)
		}
	}
	if accepted != 5 || len(r.sim.Orders(r.apiKey)) != 5 {
		t.Fatalf("%d ACK orders accepted, %d at the venue; want 5 (max_open_orders)", accepted, len(r.sim.Orders(r.apiKey)))
	}
	tracked, err := g.TrackedOrders(ctx, "bot")
	if err != nil || len(tracked) != 5 || !tracked[0].Unknown || tracked[0].ID == "" {
		t.Fatalf("tracked %+v %v: want 5 orders of unknown status", tracked, err)
	}
	// Reconciliation learns they rest; then they fill at 49,000.
	if rep, err := c.Reconcile(ctx); err != nil || len(rep.Open) != 5 {
		t.Fatalf("reconcile %+v %v", rep, err)
	}
	r.sim.SetPrice("BTCUSDT", decimal.RequireFromString("48990"))
	if rep, err := c.Reconcile(ctx); err != nil || len(rep.Settled) != 5 {
		t.Fatalf("reconcile after the fills %+v %v", rep, err)
	}
	// 5 x 98 = 490 USDT filled: 490 + 490 fits the cap, 98 more does not.
	if _, err := c.Do(ctx, limitBuy("0.01", "48900")); err != nil {
		t.Fatalf("490 USDT within the cap: %v", err)
	}
	if _, err := c.Do(ctx, limitBuy("0.002", "48900")); ruleOf(err) != limits.RuleDailyNotional {
		t.Fatalf("over the daily cap: %v", err)
	}
}

// TestSimRestartReconciles: a bot killed (-9) with resting orders, orders
// of unknown outcome and a request in flight restarts on the state and
// audit log it left, and reconciliation brings the guard to the venue's
// truth: the order that filled counts its fill, the ones never placed are
// released, the ones still resting stay held (the one behind a lost answer
// now by its venue id), and the daily cap holds to one quantity step
// (restarttest.Run); a bot on a MemoryStore restarted finds its resting
// orders held again.
func TestSimRestartReconciles(t *testing.T) {
	restarttest.Run(t, func(t *testing.T) *restarttest.Venue {
		r := newRecSim(t)
		return &restarttest.Venue{
			Name: Venue, Symbol: "BTCUSDT", Quote: "USDT", Sim: r.sim, Step: dec("0.00001"),
			Orders: func() []exchange.Order { return r.sim.Orders(r.apiKey) },
			Unstated: func(qty, price string) *exchange.Request {
				return limitBuy(qty, price, "newOrderRespType", "ACK")
			},
			Client: func(t testing.TB, pol *limits.Policy, store limits.Store, log *audit.Log, rc exchange.ReconcileConfig) (restarttest.Client, *limits.Guard) {
				r.policy = pol
				c, g := r.clientOn(t, store, log, rc)
				return c, g
			},
		}
	})
}

// directOrder places an order on the simulator with the bot's key without
// keyfence: signed with the venue's scheme, no guard, no audit record.
func directOrder(t *testing.T, r *recSim, p exchange.Params) {
	t.Helper()
	ctx := context.Background()
	s, err := NewScheme(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	key, err := r.keys.Info(ctx, "bot")
	if err != nil {
		t.Fatal(err)
	}
	req := &exchange.Request{Credential: "bot", Method: http.MethodPost, Path: "/api/v3/order", Params: p}
	now := time.Now()
	payload, err := s.Prepare(nil, req, key, now)
	if err != nil {
		t.Fatal(err)
	}
	var w exchange.Wire
	if err := s.Sign(ctx, r.keys, key, req, payload, now, &w); err != nil {
		t.Fatal(err)
	}
	resp, err := exchange.Do(ctx, http.DefaultClient, r.sim.URL(), &w)
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("direct order: %v %+v", err, resp)
	}
}

// TestSimForeignOrderTripsSwitch: an order placed with the bot's key
// without keyfence is reported as foreign within one reconciliation period
// (a typed event, an error-level log line, an audit record) and trips the
// kill switch; with AlertOnly it is reported and the switch stays reset.
func TestSimForeignOrderTripsSwitch(t *testing.T) {
	for _, alertOnly := range []bool{false, true} {
		t.Run(map[bool]string{false: "trip", true: "alert only"}[alertOnly], func(t *testing.T) {
			r := newRecSim(t)
			ctx := context.Background()
			foreign := make(chan *exchange.ForeignOrderError, 4)
			var logs syncBuffer
			path := filepath.Join(t.TempDir(), "audit.log")
			c, g, log := r.client(t, limits.NewMemoryStore(), path, exchange.ReconcileConfig{Every: 20 * time.Millisecond, AlertOnly: alertOnly,
				OnForeign: func(f *exchange.ForeignOrderError) { foreign <- f }}, &logs)
			// keyfence's own orders are accounted for, resting or filled.
			if _, err := c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit, Quantity: dec("0.002"), Price: dec("49000")}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: dec("50")}); err != nil {
				t.Fatal(err)
			}
			if rep, err := c.Reconcile(ctx); err != nil || len(rep.Foreign) != 0 {
				t.Fatalf("keyfence's own orders reported: %+v %v", rep, err)
			}
			// The leaked key, used elsewhere.
			directOrder(t, r, params("symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC",
				"quantity", "0.002", "price", "48000", "newClientOrderId", "attacker-1"))
			var f *exchange.ForeignOrderError
			select {
			case f = <-foreign:
			case <-time.After(10 * time.Second):
				t.Fatal("no foreign order reported")
			}
			if f.Order.ClientID != "attacker-1" || !errors.Is(f, exchange.ErrForeignOrder) {
				t.Fatalf("foreign %+v", f)
			}
			tripped, reason := g.Tripped(ctx)
			if tripped == alertOnly || (!alertOnly && !strings.Contains(reason, "foreign order")) {
				t.Fatalf("kill switch tripped %v (%s), want %v", tripped, reason, !alertOnly)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "foreign order") {
				t.Errorf("no error-level log line: %s", logs.String())
			}
			_ = c.Close()
			if err := log.Sync(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil || !bytes.Contains(b, []byte(`"rule":"`+exchange.RuleForeignOrder+`"`)) || !bytes.Contains(b, []byte("attacker-1")) {
				t.Fatalf("no audit record of the foreign order: %v", err)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
