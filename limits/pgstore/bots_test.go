package pgstore_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// TestTwoBotsShareCapsAndKillSwitch: two Binance clients, each with its
// own guard, store, audit log and signer, as two bots would have, trade
// one account on the simulated venue with their state in one schema. The
// daily cap holds across both, each sees the other's open orders, and the
// kill switch one trips halts the other until either resets it.
// Reconciliation in either accounts for the other's orders, and still
// reports an order placed with the key outside keyfence, which halts both.
func TestTwoBotsShareOneAccount(t *testing.T) {
	testURL(t)
	ctx := context.Background()
	schema := newSchema(t)
	sim := exchangetest.NewBinance()
	t.Cleanup(sim.Close)
	secret := make([]byte, 32) // a test key made here
	for i := range secret {
		secret[i] = byte(i + 1)
	}
	sim.AddKey(exchangetest.BinanceKey{APIKey: "shared-key", HMACSecret: secret,
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})
	// 0.001 BTCUSDT at 49500 is 49.5 USDT: three fit in 150.
	policy, err := limits.ParsePolicy([]byte(`
version: 1
kill_switch: {max_denials: 0}
credentials:
  bot:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 10
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "100", max_daily_notional: "150"}
    symbols:
      BTCUSDT: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	type bot struct {
		guard  *limits.Guard
		client *binance.Client
		keys   *signer.Memory
	}
	newBot := func() bot {
		keys := signer.NewMemory()
		t.Cleanup(func() { keys.Close() })
		if err := keys.Import(signer.KeyInfo{Name: "bot", Venue: "binance", APIKey: "shared-key", Type: signer.KeyHMAC}, secret, nil); err != nil {
			t.Fatal(err)
		}
		prices := binance.NewPriceFeed(binance.PriceFeedConfig{BaseURL: sim.URL()})
		guard, err := limits.NewGuard(policy, openStore(t, schema), limits.WithPrices("binance", prices))
		if err != nil {
			t.Fatal(err)
		}
		log, err := audit.Open(ctx, filepath.Join(t.TempDir(), "audit.log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { log.Close() })
		c, err := binance.New(ctx, binance.Config{BaseURL: sim.URL(), Credential: "bot", Signer: keys, Guard: guard, Audit: log,
			Prices: prices, Reconcile: exchange.ReconcileConfig{Every: -1}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return bot{guard, c, keys}
	}
	a, b := newBot(), newBot()
	order := func(x bot) error {
		_, err := x.client.Do(ctx, &exchange.Request{Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
			{Key: "symbol", Value: "BTCUSDT"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
			{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "0.001"}, {Key: "price", Value: "49500"}}})
		return err
	}
	rule := func(err error) limits.Rule {
		var v *limits.Violation
		if errors.As(err, &v) {
			return v.Rule
		}
		return ""
	}
	if err := order(a); err != nil {
		t.Fatal(err)
	}
	if err := order(b); err != nil {
		t.Fatal(err)
	}
	// Each sees both resting orders.
	for name, x := range map[string]bot{"a": a, "b": b} {
		tr, err := x.guard.TrackedOrders(ctx, "bot")
		if err != nil || len(tr) != 2 {
			t.Fatalf("bot %s tracks %+v, %v; want both orders", name, tr, err)
		}
	}
	// A trips the switch: B is halted.
	if err := a.guard.Trip(ctx, "halt from bot a"); err != nil {
		t.Fatal(err)
	}
	if err := order(b); rule(err) != limits.RuleKillSwitch {
		t.Fatalf("bot b's order while a's switch is tripped: %v", err)
	}
	if tripped, reason := b.guard.Tripped(ctx); !tripped || reason != "halt from bot a" {
		t.Fatalf("bot b sees the switch %v %q", tripped, reason)
	}
	// B resets it: A trades again, to the cap the two share.
	if err := b.guard.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := order(a); err != nil {
		t.Fatal(err)
	}
	for name, x := range map[string]bot{"a": a, "b": b} {
		if err := order(x); rule(err) != limits.RuleDailyNotional {
			t.Fatalf("bot %s's fourth order of the account: %v; want the shared daily cap", name, err)
		}
	}
	if n := sim.OrdersPlaced(); n != 3 {
		t.Fatalf("the venue got %d orders, want 3", n)
	}
	// Each bot's guard reads the usage both made (limits.Guard.Usage).
	for name, x := range map[string]bot{"a": a, "b": b} {
		u, err := x.guard.Usage(ctx, "bot")
		if err != nil || len(u.Notional) != 1 || !u.Notional[0].Used.Equal(decimal.RequireFromString("148.5")) ||
			!u.Notional[0].Cap.Equal(decimal.RequireFromString("150")) || u.OpenOrders != 3 || u.MaxOpenOrders != 10 {
			t.Fatalf("bot %s reads usage %+v, %v; want 148.5 of 150 USDT and 3 of 10 open orders", name, u, err)
		}
	}
	checkInvariants(t, schema)

	// Reconciliation in either bot accounts for the other's orders as
	// signed (their reservations are in the shared store; the allow
	// records are in the other bot's audit log).
	for name, x := range map[string]bot{"a": a, "b": b} {
		rep, err := x.client.Reconcile(ctx)
		if err != nil || len(rep.Foreign) != 0 {
			t.Fatalf("bot %s's reconciliation: foreign %v, %v", name, rep.Foreign, err)
		}
		if len(rep.Open) == 0 {
			t.Fatalf("bot %s's reconciliation saw no open order", name)
		}
	}
	if tripped, reason := a.guard.Tripped(ctx); tripped {
		t.Fatalf("the switch tripped after reconciliation: %s", reason)
	}
	// The key used outside keyfence is still caught, and halts both.
	scheme, err := binance.NewScheme(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	key, err := a.keys.Info(ctx, "bot")
	if err != nil {
		t.Fatal(err)
	}
	req := &exchange.Request{Credential: "bot", Method: http.MethodPost, Path: "/api/v3/order", Params: exchange.Params{
		{Key: "symbol", Value: "BTCUSDT"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"}, {Key: "timeInForce", Value: "GTC"},
		{Key: "quantity", Value: "0.001"}, {Key: "price", Value: "48000"}, {Key: "newClientOrderId", Value: "attacker-1"}}}
	now := time.Now()
	payload, err := scheme.Prepare(nil, req, key, now)
	if err != nil {
		t.Fatal(err)
	}
	var w exchange.Wire
	if err := scheme.Sign(ctx, a.keys, key, req, payload, now, &w); err != nil {
		t.Fatal(err)
	}
	if resp, err := exchange.Do(ctx, http.DefaultClient, sim.URL(), &w); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("the order outside keyfence: %v %+v", err, resp)
	}
	rep, err := b.client.Reconcile(ctx)
	if len(rep.Foreign) != 1 || rep.Foreign[0].Order.ClientID != "attacker-1" || !errors.Is(err, exchange.ErrForeignOrder) {
		t.Fatalf("bot b's reconciliation after an order outside keyfence: foreign %v, %v", rep.Foreign, err)
	}
	if tripped, _ := a.guard.Tripped(ctx); !tripped {
		t.Fatal("a foreign order found by bot b did not halt bot a")
	}
}
