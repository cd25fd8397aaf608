package coinbase

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
	"github.com/keyfence/keyfence/signer"
)

// TestSimRestartReconciles: a bot killed (-9) with a resting order, an
// order placed through Do (a create answer states no status), a lost
// answer, a 5xx and a request in flight restarts on the state and audit
// log it left; reconciliation settles to the simulator's truth and the
// daily cap holds to one quantity step (restarttest.Run); a bot on a
// MemoryStore restarted finds its resting orders held again.
func TestSimRestartReconciles(t *testing.T) {
	restarttest.Run(t, func(t *testing.T) *restarttest.Venue {
		key := newTestKey(t, signer.KeyECDSAP256)
		if err := key.store.Import(signer.KeyInfo{Name: restarttest.Credential, Venue: Venue, APIKey: keyName, Type: signer.KeyECDSAP256}, key.pem, nil); err != nil {
			t.Fatal(err)
		}
		sim := exchangetest.NewCoinbase()
		t.Cleanup(sim.Close)
		sim.AddKey(key.simKey(exchange.Permissions{Read: true, Trade: true}))
		return &restarttest.Venue{
			Name: Venue, Symbol: "BTC-USD", Quote: "USD", Sim: sim, Step: d("0.00000001"),
			Orders: func() []exchange.Order { return sim.Orders(keyName) },
			Unstated: func(qty, price string) *exchange.Request {
				return &exchange.Request{Method: http.MethodPost, Path: Prefix + "/orders", Body: []byte(
					`{"product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"` + qty + `","limit_price":"` + price + `"}}}`)}
			},
			Client: func(t testing.TB, pol *limits.Policy, store limits.Store, log *audit.Log, rc exchange.ReconcileConfig) (restarttest.Client, *limits.Guard) {
				prices := NewPriceFeed(PriceFeedConfig{MaxAge: 500 * time.Millisecond})
				g, err := limits.NewGuard(pol, store, limits.WithPrices(Venue, prices))
				if err != nil {
					t.Fatal(err)
				}
				c, err := New(context.Background(), Config{BaseURL: sim.URL(), Credential: restarttest.Credential, Signer: key.store,
					Guard: g, Audit: log, Prices: prices, Reconcile: rc, KeyRisks: exchange.KeyRisks{UnrestrictedIP: true}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				return c, g
			},
		}
	})
}
