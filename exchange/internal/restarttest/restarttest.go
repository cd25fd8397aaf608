// Package restarttest is the crash-and-restart scenario every venue
// client runs against its simulator (exchange/exchangetest).
//
// A bot trades on a FileStore tied to its audit log and is killed (-9)
// with a resting order, an order whose answer did not state its status, an
// order whose answer was lost after the venue placed it, an order answered
// with a 5xx that the venue never placed, a filled market order, and a
// request authorized and signed but never sent. The state and audit files
// are copied as they are on disk, an order fills at the venue meanwhile,
// and a new client opens the copies. Its first reconciliation must bring
// the guard to the simulator's truth: the orders still resting are held
// at their full value with their venue ids, the filled ones count their
// real fill, the ones never placed are released, and the daily cap then
// holds to one quantity step.
package restarttest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
	"github.com/shopspring/decimal"
)

// Credential is the name of the key the scenario's clients sign with.
const Credential = "bot"

// Client is what the scenario uses of a venue client.
type Client interface {
	PlaceOrder(ctx context.Context, o exchange.Order) (exchange.Order, error)
	Do(ctx context.Context, req *exchange.Request) (*exchange.Response, error)
	Authorize(ctx context.Context, req *exchange.Request) (*exchange.Authorized, error)
}

// Sim is what the scenario uses of a simulated venue.
type Sim interface {
	// FailNext makes the next new order fail with status, unplaced.
	FailNext(status int)
	// FailNextAfterExecuting places the next new order, then answers it
	// with status.
	FailNextAfterExecuting(status int)
	SetPrice(symbol string, price decimal.Decimal)
}

// Venue is one venue's side of the scenario. Its symbol trades near
// 50,000 of its quote asset.
type Venue struct {
	Name   string // the venue's name in the policy ("binance")
	Symbol string // "BTCUSDT"
	Quote  string // "USDT"
	Sim    Sim
	// Orders lists the key's orders at the simulator, in every state, with
	// their fills: the venue's truth.
	Orders func() []exchange.Order
	// Step is the symbol's quantity step.
	Step decimal.Decimal
	// Unstated returns a request placing a GTC limit buy whose accepted
	// answer states neither status nor fills (Binance: newOrderRespType
	// ACK; KuCoin: POST /api/v1/hf/orders; Coinbase: POST /orders).
	Unstated func(qty, price string) *exchange.Request
	// Client returns a guarded client of Credential at the simulator: a
	// limits.Guard of policy over store with the venue's price feed, the
	// audit log log, and reconciliation rc, which runs once before Client
	// returns when it is enabled.
	Client func(t testing.TB, policy *limits.Policy, store limits.Store, log *audit.Log, rc exchange.ReconcileConfig) (Client, *limits.Guard)
}

// Policy is the scenario's policy: limit and market orders on the symbol,
// 500 per order, 1,000 a day, at most 5 open orders, a band of 5 %.
func (v *Venue) Policy() *limits.Policy {
	nd := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	return &limits.Policy{Version: 1, Credentials: map[string]*limits.CredentialPolicy{
		Credential: {
			Venue: v.Name, OrderTypes: []exchange.OrderType{exchange.Limit, exchange.Market}, MaxOpenOrders: 5, PriceBand: nd("0.05"),
			AcceptKeyRisks: exchange.KeyRisks{UnrestrictedIP: true},
			Quotes:         map[string]limits.Caps{v.Quote: {MaxOrderNotional: nd("500"), MaxDailyNotional: nd("1000")}},
			Symbols:        map[string]limits.SymbolPolicy{v.Symbol: {}},
		},
	}}
}

// dailyCap is the policy's daily cap.
var dailyCap = decimal.NewFromInt(1000)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// open opens the audit log at dir/audit.log and the state at
// dir/limits.state, tied to it.
func open(t *testing.T, dir string) (*limits.FileStore, *audit.Log) {
	t.Helper()
	ctx := context.Background()
	log, err := audit.Open(ctx, filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	store, err := limits.OpenFileStoreContext(ctx, filepath.Join(dir, "limits.state"), limits.WithAuditLog(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store, log
}

// Run runs the scenarios, each on a venue newVenue starts: a FileStore
// killed (-9) and reopened, then a MemoryStore's process restarted.
func Run(t *testing.T, newVenue func(t *testing.T) *Venue) {
	t.Run("file store after kill -9", func(t *testing.T) { runFile(t, newVenue(t)) })
	t.Run("memory store after a restart", func(t *testing.T) { runMemory(t, newVenue(t)) })
}

func (v *Venue) limit(qty, price string) exchange.Order {
	return exchange.Order{Symbol: v.Symbol, Side: exchange.Buy, Type: exchange.Limit, TimeInForce: exchange.GTC, Quantity: dec(qty), Price: dec(price)}
}

// runFile: a bot on a FileStore killed (-9) with orders in every state
// restarts on its files; reconciliation settles them to the venue's truth.
func runFile(t *testing.T, v *Venue) {
	ctx := context.Background()
	dir := t.TempDir()
	store, log := open(t, dir)
	a, _ := v.Client(t, v.Policy(), store, log, exchange.ReconcileConfig{Every: -1})
	limit := v.limit
	// Rests: 98.
	o1, err := a.PlaceOrder(ctx, limit("0.002", "49000"))
	if err != nil {
		t.Fatal(err)
	}
	// Rests, its status unknown: 99 (it fills at its price after the kill).
	if _, err := a.Do(ctx, v.Unstated("0.002", "49500")); err != nil {
		t.Fatal(err)
	}
	// Placed, the answer lost: 98.4.
	v.Sim.FailNextAfterExecuting(500)
	o3, err := a.PlaceOrder(ctx, limit("0.002", "49200"))
	if !errors.Is(err, exchange.ErrOutcomeUnknown) {
		t.Fatalf("an answer lost after the venue placed the order: %v, want ErrOutcomeUnknown", err)
	}
	// A 5xx; never placed.
	v.Sim.FailNext(503)
	if _, err := a.PlaceOrder(ctx, limit("0.002", "49100")); !errors.Is(err, exchange.ErrOutcomeUnknown) {
		t.Fatalf("a 5xx: %v, want ErrOutcomeUnknown", err)
	}
	// Filled at once: about 100.
	if _, err := a.PlaceOrder(ctx, exchange.Order{Symbol: v.Symbol, Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: dec("100")}); err != nil {
		t.Fatal(err)
	}
	// Authorized and signed, then lost with the process before it was
	// sent: its reservation stays pending in the state.
	if _, err := a.Authorize(ctx, v.Unstated("0.002", "49050")); err != nil {
		t.Fatal(err)
	}
	// kill -9: the process dies; its files stay as they are on disk.
	if err := log.Sync(); err != nil {
		t.Fatal(err)
	}
	restart := t.TempDir()
	copyFiles(t, dir, restart)
	// Meanwhile the order at 49,500 fills.
	v.Sim.SetPrice(v.Symbol, dec("49300"))

	store2, log2 := open(t, restart)
	before, err := store2.Tracked(ctx, Credential)
	pending := 0
	for _, o := range before {
		if o.Pending {
			pending++
		}
	}
	if err != nil || len(before) != 5 || pending != 1 {
		t.Fatalf("tracked before the restart's reconciliation %+v %v: want 5 orders, one pending", before, err)
	}
	b, g := v.Client(t, v.Policy(), store2, log2, exchange.ReconcileConfig{Every: time.Hour, Grace: time.Nanosecond})
	tracked, err := g.TrackedOrders(ctx, Credential)
	if err != nil {
		t.Fatal(err)
	}
	venue := v.Orders()
	ids := map[string]bool{}
	for _, o := range tracked {
		ids[o.ID] = !o.Unknown
	}
	var o3ID string
	for _, o := range venue {
		if o.ClientID == o3.ClientID {
			o3ID = o.ID
		}
	}
	if len(tracked) != 2 || !ids[o1.ID] || o3ID == "" || !ids[o3ID] {
		t.Fatalf("tracked after the restart's reconciliation %+v: want %s and %s, both known to rest", tracked, o1.ID, o3ID)
	}
	// The venue's truth: what rests holds its value, what filled its fill.
	used := decimal.Zero
	resting, filled := 0, 0
	for _, o := range venue {
		switch {
		case o.Status.Open():
			used = used.Add(o.Price.Mul(o.Quantity))
			resting++
		case o.ExecutedQuo.Sign() > 0:
			used = used.Add(o.ExecutedQuo)
			filled++
		}
	}
	if resting != 2 || filled != 2 || len(venue) != 4 {
		t.Fatalf("the venue holds %+v: want 2 resting and 2 filled orders, the 5xx and the unsent one never placed", venue)
	}
	v.capHolds(t, b, used)
}

// capHolds checks, used of the daily cap being spent, that 490 more rests,
// then that what is left of the cap fits in whole quantity steps and one
// step more does not.
func (v *Venue) capHolds(t *testing.T, c Client, used decimal.Decimal) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.PlaceOrder(ctx, v.limit("0.01", "49000")); err != nil {
		t.Fatalf("490 within the cap (%s used): %v", used, err)
	}
	left := dailyCap.Sub(used).Sub(dec("490"))
	price := dec("49000")
	qty := left.Div(price).Div(v.Step).Floor().Mul(v.Step)
	_, err := c.PlaceOrder(ctx, v.limit(qty.Add(v.Step).String(), "49000"))
	var viol *limits.Violation
	if !errors.As(err, &viol) || viol.Rule != limits.RuleDailyNotional {
		t.Fatalf("%s at 49000 over the cap (%s used of 1000): %v, want %s", qty.Add(v.Step), used.Add(dec("490")), err, limits.RuleDailyNotional)
	}
	if _, err := c.PlaceOrder(ctx, v.limit(qty.String(), "49000")); err != nil {
		t.Fatalf("%s at 49000 within the cap (%s used of 1000): %v", qty, used.Add(dec("490")), err)
	}
}

// runMemory: a bot on a MemoryStore leaves two orders resting and
// restarts; a MemoryStore forgets what it held, so reconciliation at
// start adopts the resting orders the audit log accounts for: each holds
// its value and its open-order slot again. What filled before the restart
// is forgotten with the store.
func runMemory(t *testing.T, v *Venue) {
	ctx := context.Background()
	dir := t.TempDir()
	log, err := audit.Open(ctx, filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	a, _ := v.Client(t, v.Policy(), limits.NewMemoryStore(), log, exchange.ReconcileConfig{Every: -1})
	o1, err := a.PlaceOrder(ctx, v.limit("0.002", "49000"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Do(ctx, v.Unstated("0.003", "49100")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PlaceOrder(ctx, exchange.Order{Symbol: v.Symbol, Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: dec("100")}); err != nil {
		t.Fatal(err)
	}
	if err := log.Sync(); err != nil {
		t.Fatal(err)
	}
	restart := t.TempDir()
	copyFiles(t, dir, restart)
	log2, err := audit.Open(ctx, filepath.Join(restart, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log2.Close() })
	b, g := v.Client(t, v.Policy(), limits.NewMemoryStore(), log2, exchange.ReconcileConfig{Every: time.Hour})
	if tripped, reason := g.Tripped(ctx); tripped {
		t.Fatalf("kill switch tripped after the restart: %s", reason)
	}
	tracked, err := g.TrackedOrders(ctx, Credential)
	if err != nil || len(tracked) != 2 {
		t.Fatalf("tracked after the restart %+v %v: want the two resting orders", tracked, err)
	}
	found := false
	for _, o := range tracked {
		if o.Unknown || o.ID == "" {
			t.Errorf("adopted %+v: want its venue id, known to rest", o)
		}
		found = found || o.ID == o1.ID
	}
	if !found {
		t.Errorf("tracked %+v: %s missing", tracked, o1.ID)
	}
	// 98 + 147.3 rest; the 100 filled before the restart is forgotten.
	v.capHolds(t, b, dec("245.3"))
}

// copyFiles copies the files of dir into dst as they are on disk, lock
// files aside: what a process killed with -9 leaves.
func copyFiles(t *testing.T, dir, dst string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".lock") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
