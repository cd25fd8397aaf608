package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/internal/simflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestCoinbase adds a CDP ECDSA key through the CLI and sends a
// guarded read and order to the simulated Coinbase.
func TestRequestCoinbase(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalECPrivateKey(priv)
	require.NoError(t, err)
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	pubFile := filepath.Join(t.TempDir(), "pub.pem")
	require.NoError(t, os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600))

	const name = "organizations/test-org/apiKeys/test-key"
	key, err := simflag.ParseCoinbaseKey(name + ":@" + pubFile)
	require.NoError(t, err)
	key.Permissions = exchange.Permissions{Read: true, Trade: true}
	sim := exchangetest.NewCoinbase()
	t.Cleanup(sim.Close)
	sim.AddKey(key)

	c, _ := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	r := c.run(string(privPEM), "keys", "add", "--name", "cb", "--venue", "coinbase", "--api-key", name, "--type", "ecdsa")
	require.Equal(t, 0, r.code, r.stderr)

	policy := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(`version: 1
credentials:
  cb:
    venue: coinbase
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "2%"
    accept_key_risks: {unrestricted_ip: true}
    quotes:
      USD: {max_order_notional: "100", max_daily_notional: "1000"}
    symbols:
      BTC-USD: {}
`), 0o600))
	base := []string{"request", "--key", "cb", "--venue-url", sim.URL(), "--policy", policy}
	r = c.run("", append(base, "GET", "/api/v3/brokerage/accounts")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"accounts"`)

	// Without a policy that accepts it, a Coinbase key (whose IP allowlist
	// the venue does not report) is refused at start.
	r = c.run("", "request", "--key", "cb", "--venue-url", sim.URL(), "GET", "/api/v3/brokerage/accounts")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "IP")

	// A JSON order body is checked as sent: 10x the cap is refused.
	order := `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.02","limit_price":"50000"}}}`
	r = c.run("", append(base, "--body", order, "POST", "/api/v3/brokerage/orders")...)
	assert.Equal(t, 1, r.code, r.stdout)
	assert.Contains(t, r.stderr, "order_notional")
	assert.EqualValues(t, 0, sim.OrdersPlaced())

	r = c.run("", append(base, "--dry-run", "GET", "/api/v3/brokerage/accounts")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "GET "+sim.URL()+"/api/v3/brokerage/accounts\n"), r.stdout)
	assert.Contains(t, r.stdout, "Authorization: Bearer [REDACTED]\n")
}
