package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRebuiltStateAdoptsRestingOrders: the limits state deleted while two
// orders keyfence signed rest at the venue; after 'keyfence state
// rebuild', 'keyfence reconcile' adopts them (the audit log accounts for
// them), so they hold two of the five open-order slots again once the
// operator resets the kill switch.
func TestRebuiltStateAdoptsRestingOrders(t *testing.T) {
	c := docKeystore(t)
	sim := exchangetest.NewBinance(exchangetest.WithBinanceKeys(exchangetest.BinanceKey{
		APIKey: docAPIKey, HMACSecret: []byte(docSecret),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true},
	}))
	t.Cleanup(sim.Close)
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(`version: 1
credentials:
  bn:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "100", max_daily_notional: "1000"}
    symbols:
      BTCUSDT: {}
`), 0o600))
	state, auditPath := filepath.Join(dir, "limits.state"), filepath.Join(dir, "audit.jsonl")
	files := []string{"--state", state, "--audit", auditPath}
	order := append([]string{"request", "--key", "bn", "--venue-url", sim.URL(), "--policy", policy}, files...)
	order = append(order, "POST", "/api/v3/order", "symbol=BTCUSDT", "side=BUY", "type=LIMIT", "timeInForce=GTC", "quantity=0.0016", "price=49900")
	for range 2 {
		r := c.run("", order...)
		require.Equal(t, 0, r.code, r.stderr)
	}
	require.NoError(t, os.Remove(state))
	r := c.run("", "state", "rebuild", "--state", state, "--audit", auditPath)
	require.Equal(t, 0, r.code, r.stderr)

	r = c.run("", append([]string{"reconcile", "--key", "bn", "--venue-url", sim.URL(), "--policy", policy}, files...)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 2, strings.Count(r.stdout, "adopted  BTCUSDT"), r.stdout)
	r = c.run("", "killswitch", "reset", "--state", state)
	require.Equal(t, 0, r.code, r.stderr)
	for i := range 3 {
		r = c.run("", order...)
		require.Equal(t, 0, r.code, "order %d: %s", i+3, r.stderr)
	}
	r = c.run("", order...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "open orders")
}
