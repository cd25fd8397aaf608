package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/keyfence/keyfence/limits/pgstore"
)

// TestSchemaMigration: stores opening a new schema at once create it once;
// the version table records the version; a schema from a newer version is
// refused; a bad schema name is refused before anything is sent.
func TestSchemaMigration(t *testing.T) {
	ctx := context.Background()
	url := testURL(t)
	schema := newSchema(t)
	if _, err := pgstore.Open(ctx, url, pgstore.WithSchema(schema), pgstore.WithoutCreate()); !errors.Is(err, pgstore.ErrNoSchema) {
		t.Fatalf("open without create of a missing schema: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			s, err := pgstore.Open(ctx, url, pgstore.WithSchema(schema))
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
	a := admin(t)
	id := pgx.Identifier{schema}.Sanitize()
	var n, v int
	if err := a.QueryRow(ctx, `SELECT count(*), max(version) FROM `+id+`.schema_version`).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != 1 || v != pgstore.SchemaVersion {
		t.Fatalf("schema_version holds %d rows, version %d; want 1 row, version %d", n, v, pgstore.SchemaVersion)
	}
	s, err := pgstore.Open(ctx, url, pgstore.WithSchema(schema), pgstore.WithoutCreate())
	if err != nil {
		t.Fatalf("open without create of an existing schema: %v", err)
	}
	s.Close()
	if _, err := a.Exec(ctx, `UPDATE `+id+`.schema_version SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.Open(ctx, url, pgstore.WithSchema(schema)); !errors.Is(err, pgstore.ErrSchemaTooNew) {
		t.Fatalf("open of a newer schema: %v", err)
	}
	for _, bad := range []string{"", "1abc", `x"; DROP TABLE y; --`, "a.b"} {
		if _, err := pgstore.Open(ctx, url, pgstore.WithSchema(bad)); !errors.Is(err, pgstore.ErrSchemaName) {
			t.Fatalf("schema %q: %v", bad, err)
		}
	}
}
