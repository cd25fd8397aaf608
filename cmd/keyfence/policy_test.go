package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPolicyInitPassesCheck: for every venue with a client, the starting
// policy policy init writes passes policy check as it is, and keeps the
// symbols given on the allowlist.
func TestPolicyInitPassesCheck(t *testing.T) {
	c := &cli{t: t}
	syms := map[string]string{"binance": "BTCUSDT,ETHUSDT", "kucoin": "BTC-USDT", "coinbase": "BTC-USD,ETH-USD"}
	for venue := range drivers {
		for _, s := range []string{syms[venue], ""} {
			out := filepath.Join(t.TempDir(), "policy.yaml")
			r := c.run("", "policy", "init", "--venue", venue, "--credential", venue+"-main", "--symbols", s, "--out", out)
			require.Equal(t, 0, r.code, "%s %q: %s", venue, s, r.stderr)
			r = c.run("", "policy", "check", out)
			require.Equal(t, 0, r.code, "%s %q: %s", venue, s, r.stderr)
			for _, sym := range strings.Split(s, ",") {
				assert.Contains(t, r.stdout, sym, venue)
			}
		}
	}
	out := filepath.Join(t.TempDir(), "exists.yaml")
	require.NoError(t, os.WriteFile(out, []byte("x"), 0o600))
	r := c.run("", "policy", "init", "--venue", "binance", "--credential", "b", "--out", out)
	assert.Equal(t, 1, r.code, "an existing file is never overwritten")
	b, _ := os.ReadFile(out)
	assert.Equal(t, "x", string(b))
	r = c.run("", "policy", "init", "--venue", "binanse", "--credential", "b")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "binance")
}

// TestPolicyCheckEveryError: policy check prints every problem at once, one
// per line, including a venue keyfence has no client for.
func TestPolicyCheckEveryError(t *testing.T) {
	const y = `version: 1
credentials:
  a:
    venue: binanse
    allow: [read]
  b:
    venue: binance
    order_types: [LIMIT, ICEBERG]
    price_band: 150%
`
	path := filepath.Join(t.TempDir(), "p.yaml")
	require.NoError(t, os.WriteFile(path, []byte(y), 0o600))
	r := (&cli{t: t}).run("", "policy", "check", path)
	assert.Equal(t, 1, r.code)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	require.Len(t, lines, 3, r.stderr)
	assert.Contains(t, lines[0], `line 4: credentials.a.venue: unknown venue "binanse"`)
	assert.Contains(t, lines[1], "line 8: credentials.b.order_types")
	assert.Contains(t, lines[2], "line 9: credentials.b.price_band")
}
