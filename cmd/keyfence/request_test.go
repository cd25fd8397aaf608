package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Binance documentation example (VENUES.md 2.1).
const (
	docAPIKey = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
	docSecret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
	docTS     = "1499827319559"
	docSig    = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
)

var docOrder = []string{"POST", "/api/v3/order", "symbol=LTCBTC", "side=BUY", "type=LIMIT", "timeInForce=GTC", "quantity=1", "price=0.1", "recvWindow=5000"}

func docKeystore(t *testing.T) *cli {
	c, _ := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	r := c.run(docSecret+"\n", "keys", "add", "--name", "bn", "--venue", "binance", "--api-key", docAPIKey)
	require.Equal(t, 0, r.code, r.stderr)
	return c
}

func TestRequestDryRunReadOffline(t *testing.T) {
	c := docKeystore(t)
	r := c.run("", "request", "--key", "bn", "--dry-run", "--timestamp", docTS, "GET", "/api/v3/account", "omitZeroBalances=true")
	require.Equal(t, 0, r.code, r.stderr)
	mac := hmac.New(sha256.New, []byte(docSecret))
	mac.Write([]byte("omitZeroBalances=true&timestamp=" + docTS))
	want := "GET https://api.binance.com/api/v3/account?omitZeroBalances=true&timestamp=" + docTS + "&signature=" + hex.EncodeToString(mac.Sum(nil))
	lines := strings.Split(r.stdout, "\n")
	assert.Equal(t, want, lines[0])
	assert.Contains(t, r.stdout, "X-Mbx-Apikey: "+docAPIKey+"\n\n")
}

func TestRequestDeniedWithoutPolicy(t *testing.T) {
	c := docKeystore(t)
	r := c.run("", append([]string{"request", "--key", "bn", "--dry-run", "--timestamp", docTS}, docOrder...)...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "trade")
	assert.Empty(t, r.stdout)
	assert.NotContains(t, r.stderr, docSig)
	assert.NotContains(t, r.stderr, "signature=")

	r = c.run("", "request", "--key", "bn", "--dry-run", "POST", "/sapi/v1/capital/withdraw/apply", "coin=BTC", "address=x", "amount=1")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "withdraw")

	r = c.run("", "request", "--key", "bn", "--dry-run", "GET", "/api/v3/nowhere")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "not classified")
}

func TestRequestUsage(t *testing.T) {
	c := docKeystore(t)
	for _, args := range [][]string{
		{"request"},
		{"request", "GET", "/api/v3/account"},
		{"request", "--key", "bn", "GET"},
		{"request", "--key", "bn", "GET", "api/v3/account"},
		{"request", "--key", "bn", "GET", "/api/v3/account", "novalue"},
		{"request", "--key", "bn", "--timestamp", "1", "GET", "/api/v3/account", "timestamp=2"},
	} {
		assert.Equal(t, 2, c.run("", args...).code, "%q", args)
	}
	assert.Equal(t, 1, c.run("", "request", "--key", "nokey", "GET", "/api/v3/account").code)
}

// TestRequestDocVectorThroughSimulator signs the documentation's order with
// a policy that allows it, against the simulated Binance for market data,
// and finds the documented signature on the wire.
func TestRequestDocVectorThroughSimulator(t *testing.T) {
	c := docKeystore(t)
	sim := exchangetest.NewBinance(exchangetest.WithBinanceKeys(exchangetest.BinanceKey{
		APIKey: docAPIKey, HMACSecret: []byte(docSecret),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true},
	}))
	t.Cleanup(sim.Close)
	sim.SetPrice("LTCBTC", decimal.RequireFromString("0.1"))
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(`version: 1
credentials:
  bn:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "5%"
    reference_max_age: 1h
    quotes:
      BTC: {max_order_notional: "1", max_daily_notional: "2"}
    symbols:
      LTCBTC: {}
`), 0o600))
	args := append([]string{"request", "--key", "bn", "--venue-url", sim.URL(), "--policy", policy, "--dry-run", "--timestamp", docTS}, docOrder...)
	r := c.run("", args...)
	require.Equal(t, 0, r.code, r.stderr)
	first := strings.SplitN(r.stdout, "\n", 2)[0]
	// The documentation's order carries no client order id: keyfence adds
	// one (so that the order can be looked up), and signs the result,
	// stamped at --timestamp as the scheme stamps every request: last.
	prefix := "POST " + sim.URL() + "/api/v3/order?"
	query, sig, ok := strings.Cut(strings.TrimPrefix(first, prefix), "&signature=")
	require.True(t, ok && strings.HasPrefix(first, prefix), first)
	assert.Regexp(t, `^symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&newClientOrderId=kf-[0-9a-f]{24}&timestamp=`+docTS+`$`, query)
	m := hmac.New(sha256.New, []byte(docSecret))
	m.Write([]byte(query))
	assert.Equal(t, hex.EncodeToString(m.Sum(nil)), sig)
	assert.Zero(t, sim.OrdersPlaced(), "a dry run sends nothing")

	// The same order 3x above the market is refused, with no signature.
	sim.SetPrice("LTCBTC", decimal.RequireFromString("0.033"))
	r = c.run("", args...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "band")
	assert.NotContains(t, r.stdout+r.stderr, docSig)
}

// TestRequestSends sends a read and an order to the simulator for real.
func TestRequestSends(t *testing.T) {
	c := docKeystore(t)
	sim := exchangetest.NewBinance(exchangetest.WithBinanceKeys(exchangetest.BinanceKey{
		APIKey: docAPIKey, HMACSecret: []byte(docSecret),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true},
	}))
	t.Cleanup(sim.Close)
	r := c.run("", "request", "--key", "bn", "--venue-url", sim.URL(), "GET", "/api/v3/account")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"USDT"`)

	policy := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(policy, []byte(`version: 1
credentials:
  bn:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "100", max_daily_notional: "150"}
    symbols:
      BTCUSDT: {}
`), 0o600))
	order := []string{"request", "--key", "bn", "--venue-url", sim.URL(), "--policy", policy,
		"POST", "/api/v3/order", "symbol=BTCUSDT", "side=BUY", "type=LIMIT", "timeInForce=GTC", "quantity=0.0016", "price=49900"}
	r = c.run("", order...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"status":"NEW"`)
	assert.EqualValues(t, 1, sim.OrdersPlaced())

	// The second order would pass the daily cap (150): the limit state
	// persists across runs of the command.
	r = c.run("", order...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "daily")
	assert.EqualValues(t, 1, sim.OrdersPlaced())
}

// A --venue-url without a scheme is a usage error that names the flag.
func TestRequestVenueURLNeedsScheme(t *testing.T) {
	c := &cli{t: t}
	for _, u := range []string{"api.binance.com", "localhost:8080", "ftp://x", "https://"} {
		r := c.run("", "request", "--key", "k", "--venue-url", u, "GET", "/api/v3/account")
		assert.Equal(t, 2, r.code, u)
		assert.Contains(t, r.stderr, "--venue-url", u)
	}
}
