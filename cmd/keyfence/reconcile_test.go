package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDryRunSignaturesCountAndReconcile: every dry run that prints a
// usable signature holds an open-order slot (5 at most, so the sixth is
// refused); 'keyfence reconcile' finds the one that was sent resting at
// the venue and keeps the others held while their signatures may still be
// sent; an order placed with the key outside keyfence is reported foreign
// and trips the kill switch.
func TestDryRunSignaturesCountAndReconcile(t *testing.T) {
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
	files := []string{"--state", filepath.Join(dir, "limits.state"), "--audit", filepath.Join(dir, "audit.jsonl")}
	dryRun := append([]string{"request", "--key", "bn", "--venue-url", sim.URL(), "--policy", policy, "--dry-run"}, files...)
	dryRun = append(dryRun, "POST", "/api/v3/order", "symbol=BTCUSDT", "side=BUY", "type=LIMIT", "timeInForce=GTC", "quantity=0.0016", "price=49900", "recvWindow=60000")
	var printed []string
	for range 5 {
		r := c.run("", dryRun...)
		require.Equal(t, 0, r.code, r.stderr)
		printed = append(printed, strings.SplitN(r.stdout, "\n", 2)[0])
	}
	// One printed request sent as curl would send it (within its receive
	// window of 60 s).
	method, url, _ := strings.Cut(printed[4], " ")
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	require.NoError(t, err)
	req.Header.Set("X-MBX-APIKEY", docAPIKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	r := c.run("", dryRun...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "open orders")
	assert.NotContains(t, r.stdout, "signature=")

	rec := append([]string{"reconcile", "--key", "bn", "--venue-url", sim.URL(), "--policy", policy}, files...)
	r = c.run("", rec...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 1, strings.Count(r.stdout, "open     BTCUSDT"), r.stdout)
	assert.Equal(t, 4, strings.Count(r.stdout, "held     BTCUSDT"), r.stdout)

	// The leaked key, used directly: a foreign order.
	r = c.run("", "request", "--key", "bn", "--venue-url", sim.URL(), "GET", "/api/v3/account")
	require.Equal(t, 0, r.code, r.stderr)
	directBinanceOrder(t, sim.URL())
	r = c.run("", rec...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "FOREIGN  BTCUSDT")
	assert.Contains(t, r.stderr, "foreign order")
	r = c.run("", "killswitch", "status", "--state", files[1], "--policy", policy)
	assert.Contains(t, r.stdout, "TRIPPED")
	assert.Contains(t, r.stdout, "foreign order")
}

// directBinanceOrder places an order with the documentation key without
// keyfence, as a leaked key would be used.
func directBinanceOrder(t *testing.T, base string) {
	t.Helper()
	q := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=48000&newClientOrderId=attacker-1&timestamp=" +
		nowMillis()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/api/v3/order?"+q+"&signature="+hmacHex(docSecret, q), nil)
	require.NoError(t, err)
	req.Header.Set("X-MBX-APIKEY", docAPIKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func nowMillis() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }

func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}
