package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/audit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeLog(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.Open(context.Background(), path, audit.NoSync())
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		require.NoError(t, l.Append(context.Background(), &audit.Record{
			Credential: "bot", Venue: "binance", Class: "trade", Decision: audit.Allow,
		}))
	}
	require.NoError(t, l.Close())
	return path
}

func TestAuditVerify(t *testing.T) {
	c := &cli{t: t, env: map[string]string{}}
	path := writeLog(t, 5)
	r := c.run("", "audit", "verify", path)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "ok: 5 records")

	// Edit the third record: verification names line 3 and exits 1.
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(b), "\n")
	lines[2] = strings.Replace(lines[2], `"credential":"bot"`, `"credential":"eve"`, 1)
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600))
	r = c.run("", "audit", "verify", path)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "line 3")
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"))

	// Removing the last records is caught with a head saved before.
	path = writeLog(t, 4)
	r = c.run("", "audit", "verify", path)
	require.Equal(t, 0, r.code)
	head := strings.TrimSpace(r.stdout[strings.Index(r.stdout, "head seq ")+len("head seq "):])
	head = strings.Replace(head, " hash ", ":", 1)
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	lines = strings.SplitAfter(string(b), "\n")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines[:2], "")), 0o600))
	assert.Equal(t, 0, c.run("", "audit", "verify", path).code, "without an anchor a cut tail is undetectable")
	r = c.run("", "audit", "verify", "--head", head, path)
	assert.Equal(t, 1, r.code, r.stdout)

	assert.Equal(t, 2, c.run("", "audit", "verify").code)
	assert.Equal(t, 2, c.run("", "audit").code)
	assert.Equal(t, 2, c.run("", "audit", "verify", "--head", "nonsense", path).code)
	// The head's hash is 64 hex digits (either case); anything else is a
	// usage error.
	assert.Equal(t, 1, c.run("", "audit", "verify", "--head", strings.ToUpper(head), path).code)
	for _, bad := range []string{head[:len(head)-1], head + "0", head[:len(head)-1] + "g"} {
		r = c.run("", "audit", "verify", "--head", bad, path)
		assert.Equal(t, 2, r.code, bad)
		assert.Contains(t, r.stderr, "SEQ:HASH")
	}
	assert.Equal(t, 1, c.run("", "audit", "verify", filepath.Join(t.TempDir(), "missing.jsonl")).code)
}

func TestPolicyCheck(t *testing.T) {
	c := &cli{t: t, env: map[string]string{}}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(`version: 1
credentials:
  bot:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 3
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "100", max_daily_notional: "1000"}
    symbols:
      BTCUSDT: {}
`), 0o600))
	r := c.run("", "policy", "check", good)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "BTCUSDT")
	assert.Contains(t, r.stdout, "1000")

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("version: 1\ncredentials:\n  bot:\n    venue: binance\n    max_open_ordrs: 3\n"), 0o600))
	r = c.run("", "policy", "check", bad)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "line 5")
	assert.Contains(t, r.stderr, "max_open_ordrs")

	neg := filepath.Join(dir, "neg.yaml")
	require.NoError(t, os.WriteFile(neg, []byte(strings.Replace(mustRead(t, good), `"100"`, `"-1"`, 1)), 0o600))
	r = c.run("", "policy", "check", neg)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "max_order_notional")

	assert.Equal(t, 2, c.run("", "policy").code)
	assert.Equal(t, 2, c.run("", "policy", "check").code)
	assert.Equal(t, 1, c.run("", "policy", "check", filepath.Join(dir, "missing.yaml")).code)
}

func mustRead(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
