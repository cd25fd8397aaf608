package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestTimestampKuCoin: --timestamp puts KuCoin's stamp where KuCoin
// puts it, in KC-API-TIMESTAMP, not in the query, and the dry run signs
// the KuCoin vector of VENUES.md byte for byte; the audit record carries
// the clock's time.
func TestRequestTimestampKuCoin(t *testing.T) {
	c, path := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	r := c.run("test_api_secret\ntest_passphrase\n", "keys", "add", "--name", "kc", "--venue", "kucoin", "--api-key", "test_api_key")
	require.Equal(t, 0, r.code, r.stderr)
	start := time.Now()
	r = c.run("", "request", "--key", "kc", "--dry-run", "--timestamp", "1234567890000", "GET", "/api/v1/accounts", "currency=BTC")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "GET https://api.kucoin.com/api/v1/accounts?currency=BTC\n")
	assert.Contains(t, r.stdout, "Kc-Api-Timestamp: 1234567890000\n")
	assert.Contains(t, r.stdout, "Kc-Api-Sign: AtR2fpomVFyr6IHrW9PF5Yx6kYeh00c1/xyAyGmfOBw=\n")
	assert.NotContains(t, r.stdout, "timestamp=")

	f, err := os.Open(filepath.Join(filepath.Dir(path), "audit.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	var last struct {
		Time     time.Time `json:"time"`
		Decision string    `json:"decision"`
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		require.NoError(t, json.Unmarshal(sc.Bytes(), &last))
	}
	assert.Equal(t, "allow", last.Decision)
	assert.False(t, last.Time.Before(start.Add(-time.Second)), "the audit record is stamped %v, not on the clock", last.Time)
}

// TestRequestTimestampRefused: --timestamp stamps a dry run only, and never
// a time ahead of the clock (such a signature would outlive the grace
// after which reconciliation settles its order as never placed).
func TestRequestTimestampRefused(t *testing.T) {
	c := docKeystore(t)
	r := c.run("", "request", "--key", "bn", "--timestamp", docTS, "GET", "/api/v3/account")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "--dry-run")
	ahead := strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	r = c.run("", "request", "--key", "bn", "--dry-run", "--timestamp", ahead, "GET", "/api/v3/account")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "future")
	assert.Empty(t, r.stdout)
}
