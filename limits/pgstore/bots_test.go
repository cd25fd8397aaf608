package pgstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

// TestTwoBotsShareCapsAndKillSwitch: two Binance clients, each with its
// own guard, store, audit log and signer, as two bots would have, trade
// one account on the simulated venue with their state in one schema. The
// daily cap holds across both, each sees the other's open orders, and the
// kill switch one trips halts the other until either resets it.
func TestTwoBotsShareCapsAndKillSwitch(t *testing.T) {
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
		return bot{guard, c}
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
	checkInvariants(t, schema)
}
