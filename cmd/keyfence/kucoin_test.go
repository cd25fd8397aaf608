package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestKuCoin adds a KuCoin key with its API passphrase through the
// CLI and sends guarded requests to the simulated KuCoin.
func TestRequestKuCoin(t *testing.T) {
	const apiKey, secret, pass = "kc-api-key", "kc-secret-0123456789", "kc-passphrase"
	sim := exchangetest.NewKuCoin(exchangetest.WithKuCoinKeys(exchangetest.KuCoinKey{
		APIKey: apiKey, Secret: []byte(secret), Passphrase: []byte(pass),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true},
	}))
	t.Cleanup(sim.Close)

	c, _ := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	r := c.run(secret+"\n"+pass+"\n", "keys", "add", "--name", "kc", "--venue", "kucoin", "--api-key", apiKey)
	require.Equal(t, 0, r.code, r.stderr)

	r = c.run("", "request", "--key", "kc", "--venue-url", sim.URL(), "GET", "/api/v1/accounts")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"USDT"`)

	// Without a policy, an order is refused before anything is signed.
	order := `{"clientOid":"c1","side":"buy","symbol":"BTC-USDT","type":"limit","price":"50000","size":"0.001"}`
	r = c.run("", "request", "--key", "kc", "--venue-url", sim.URL(), "--body", order, "POST", "/api/v1/hf/orders")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "trade")
	assert.EqualValues(t, 0, sim.OrdersPlaced())

	policy := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(`version: 1
credentials:
  kc:
    venue: kucoin
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "100", max_daily_notional: "1000"}
    symbols:
      BTC-USDT: {}
`), 0o600))
	r = c.run("", "request", "--key", "kc", "--venue-url", sim.URL(), "--policy", policy, "--body", order, "POST", "/api/v1/hf/orders")
	require.Equal(t, 0, r.code, r.stderr)
	assert.EqualValues(t, 1, sim.OrdersPlaced())

	r = c.run("", "request", "--key", "kc", "--venue-url", sim.URL(), "--dry-run", "GET", "/api/v1/accounts")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Kc-Api-Passphrase: [REDACTED]\n")
	assert.NotContains(t, r.stdout, pass)
}
