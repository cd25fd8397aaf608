package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/limits/pgstore"
)

// testPostgres returns the test database's URL without its password, which
// it puts in PGPASSWORD, and a schema of the test's own; it skips (fails
// under KEYFENCE_REQUIRE_INTEGRATION=1) without a database.
func testPostgres(t *testing.T) (string, string, string) {
	raw := os.Getenv("KEYFENCE_TEST_POSTGRES")
	if raw == "" {
		msg := "PostgreSQL is missing: KEYFENCE_TEST_POSTGRES is not set; run scripts/with-postgres.sh go test ./... to test against a throwaway server"
		if os.Getenv("KEYFENCE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(raw)
	require.NoError(t, err)
	pw, _ := u.User.Password()
	t.Setenv("PGPASSWORD", pw)
	u.User = url.User(u.User.Username())
	var b [6]byte
	rand.Read(b[:])
	schema := "cli_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), raw)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	return u.String(), schema, pw
}

// TestKillswitchPostgres: the kill switch kept in PostgreSQL, the one
// every guard on the database obeys, is tripped, shown and reset from the
// CLI; the CLI creates no schema without --init and refuses a password on
// its command line.
func TestKillswitchPostgres(t *testing.T) {
	dsn, schema, pw := testPostgres(t)
	c := &cli{t: t, env: map[string]string{}}
	args := func(op string, more ...string) []string {
		return append([]string{"killswitch", op, "--state", dsn, "--state-schema", schema}, more...)
	}
	r := c.run("", args("status")...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no keyfence schema")

	r = c.run("", args("trip", "--init", "--reason", "leaked key suspected")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "TRIPPED")
	// A guard's store on the same database sees it.
	s, err := pgstore.Open(context.Background(), os.Getenv("KEYFENCE_TEST_POSTGRES"), pgstore.WithSchema(schema))
	require.NoError(t, err)
	defer s.Close()
	k, err := s.KillSwitch(context.Background())
	require.NoError(t, err)
	assert.True(t, k.Tripped)
	assert.Equal(t, "leaked key suspected", k.Reason)

	r = c.run("", args("status")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "leaked key suspected")
	r = c.run("", args("reset")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "not tripped")
	k, err = s.KillSwitch(context.Background())
	require.NoError(t, err)
	assert.False(t, k.Tripped)

	// A password in argv is refused, and not echoed.
	withPW, err := url.Parse(dsn)
	require.NoError(t, err)
	withPW.User = url.UserPassword(withPW.User.Username(), pw+"-canary")
	r = c.run("", "killswitch", "status", "--state", withPW.String(), "--state-schema", schema)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "PGPASSWORD")
	assert.NotContains(t, r.stderr+r.stdout, pw+"-canary")
	// A bad schema name is a usage error.
	assert.Equal(t, 2, c.run("", "killswitch", "status", "--state", dsn, "--state-schema", "x;y").code)
}

// TestRequestSharesCapsInPostgres: two bots, each with a keystore, audit
// log and working directory of its own, send orders with --state naming
// one database: the daily cap holds across both.
func TestRequestSharesCapsInPostgres(t *testing.T) {
	dsn, schema, _ := testPostgres(t)
	sim := exchangetest.NewBinance(exchangetest.WithBinanceKeys(exchangetest.BinanceKey{
		APIKey: docAPIKey, HMACSecret: []byte(docSecret),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true},
	}))
	t.Cleanup(sim.Close)
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
	order := []string{"request", "--key", "bn", "--venue-url", sim.URL(), "--policy", policy, "--state", dsn, "--state-schema", schema,
		"POST", "/api/v3/order", "symbol=BTCUSDT", "side=BUY", "type=LIMIT", "timeInForce=GTC", "quantity=0.0016", "price=49900"}
	first, second := docKeystore(t), docKeystore(t)
	r := first.run("", order...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.EqualValues(t, 1, sim.OrdersPlaced())
	r = second.run("", order...)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "daily")
	assert.EqualValues(t, 1, sim.OrdersPlaced())
}
