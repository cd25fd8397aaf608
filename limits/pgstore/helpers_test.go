package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keyfence/keyfence/limits/pgstore"
)

// The environment the tests read; scripts/with-postgres.sh sets the first
// two.
const (
	envURL     = "KEYFENCE_TEST_POSTGRES"
	envCtl     = "KEYFENCE_TEST_POSTGRES_CTL"
	envRequire = "KEYFENCE_REQUIRE_INTEGRATION"
)

// testURL returns the test database's connection string, or skips (fails
// under KEYFENCE_REQUIRE_INTEGRATION=1) when there is none.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		msg := "PostgreSQL is missing: " + envURL + " is not set; run scripts/with-postgres.sh go test ./... to test against a throwaway server"
		if os.Getenv(envRequire) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

// admin returns a pool on the test database for the tests' own statements.
func admin(t testing.TB) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// newSchema returns the name of a schema of the test's own, dropped when
// the test ends.
func newSchema(t testing.TB) string {
	t.Helper()
	a := admin(t)
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := a.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", name, err)
		}
	})
	return name
}

// openStore opens a store on schema, closed when the test ends.
func openStore(t testing.TB, schema string, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), testURL(t), append([]pgstore.Option{pgstore.WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// age makes every time recorded in schema d older, as if d had passed.
func age(t testing.TB, schema string, d time.Duration) {
	t.Helper()
	a := admin(t)
	id := pgx.Identifier{schema}.Sanitize()
	ctx := context.Background()
	for _, q := range []string{
		`UPDATE ` + id + `.entries SET at_ns = at_ns - $1`,
		`UPDATE ` + id + `.tickets SET at_ns = at_ns - $1`,
		`UPDATE ` + id + `.strikes SET times = ARRAY(SELECT x - $1 FROM unnest(times) AS x)`,
		`UPDATE ` + id + `.reserved_orders SET at_ns = at_ns - $1`,
	} {
		if _, err := a.Exec(ctx, q, int64(d)); err != nil {
			t.Fatal(err)
		}
	}
}

// checkInvariants asserts what the schema's doc promises: a rolling
// counter's sum is the sum of its entries, a gauge's the sum its tickets
// hold; every order belongs to a committed ticket.
func checkInvariants(t testing.TB, schema string) {
	t.Helper()
	a := admin(t)
	id := pgx.Identifier{schema}.Sanitize()
	var bad []string
	rows, err := a.Query(context.Background(), `
SELECT encode(c.key, 'escape') || ': sum ' || c.sum || ', parts ' || coalesce(x.total, 0)
FROM `+id+`.counters c
LEFT JOIN (
	SELECT key, sum(amount) AS total FROM `+id+`.entries GROUP BY key
	UNION ALL
	SELECT p.key, sum(p.gauge) FROM `+id+`.tickets t, unnest(t.keys, t.windows, t.gauges) AS p(key, w, gauge) WHERE p.w = 0 GROUP BY p.key
) x ON x.key = c.key
WHERE c.sum <> coalesce(x.total, 0)
UNION ALL
SELECT 'tracked order ' || o.seq || ' of an uncommitted ticket' FROM `+id+`.tracked o JOIN `+id+`.tickets t ON t.id = o.ticket WHERE NOT t.committed
UNION ALL
SELECT 'pending ref of a committed ticket ' || p.ticket FROM `+id+`.pending_refs p JOIN `+id+`.tickets t ON t.id = p.ticket WHERE t.committed`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		bad = append(bad, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Fatalf("schema %s breaks its invariants: %v", schema, bad)
	}
}
