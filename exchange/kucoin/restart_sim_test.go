package kucoin

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/exchange/internal/restarttest"
	"github.com/keyfence/keyfence/limits"
	"github.com/shopspring/decimal"
)

// TestSimRestartReconciles: a bot killed (-9) with a resting order, an
// order placed through POST /api/v1/hf/orders (answered with its ids
// only), a lost answer, a 5xx and a request in flight restarts on the
// state and audit log it left; reconciliation settles to the simulator's
// truth and the daily cap holds to one quantity step (restarttest.Run); a bot on a
// MemoryStore restarted finds its resting orders held again.
func TestSimRestartReconciles(t *testing.T) {
	restarttest.Run(t, func(t *testing.T) *restarttest.Venue {
		sim := exchangetest.NewKuCoin(exchangetest.WithKuCoinKeys(exchangetest.KuCoinKey{
			APIKey: "sim-key", Secret: []byte(canarySecret), Passphrase: []byte(canaryPassphrase), Permissions: traderPerms}))
		t.Cleanup(sim.Close)
		sg, _ := memSigner(t, restarttest.Credential, "sim-key", canarySecret, canaryPassphrase)
		return &restarttest.Venue{
			Name: Venue, Symbol: "BTC-USDT", Quote: "USDT", Sim: sim, Step: decimal.RequireFromString("0.00000001"),
			Orders: func() []exchange.Order { return sim.Orders("sim-key") },
			Unstated: func(qty, price string) *exchange.Request {
				return &exchange.Request{Method: http.MethodPost, Path: "/api/v1/hf/orders",
					Body: []byte(`{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"` + price + `","size":"` + qty + `"}`)}
			},
			Client: func(t testing.TB, pol *limits.Policy, store limits.Store, log *audit.Log, rc exchange.ReconcileConfig) (restarttest.Client, *limits.Guard) {
				prices := NewPriceFeed(PriceFeedConfig{BaseURL: sim.URL(), MaxAge: 500 * time.Millisecond})
				g, err := limits.NewGuard(pol, store, limits.WithPrices(Venue, prices))
				if err != nil {
					t.Fatal(err)
				}
				c, err := New(context.Background(), Config{BaseURL: sim.URL(), Credential: restarttest.Credential, Signer: sg,
					Guard: g, Audit: log, Prices: prices, Reconcile: rc})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				return c, g
			},
		}
	})
}
