package pgstore_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/limits/pgstore"
)

func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// TestReplayAdmitOnce: the same key offered at once through two stores on
// one schema (two gateways) is admitted by exactly one; another key is
// admitted; every offer after the first is refused while the key is
// unexpired.
func TestReplayAdmitOnce(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	stores := []*pgstore.Store{openStore(t, schema), openStore(t, schema)}
	key := digest("binance\x00api-key\x00signature")
	expires := time.Now().Add(time.Minute)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		admitted int
	)
	for i := range 16 {
		wg.Go(func() {
			ok, err := stores[i%2].Admit(ctx, key, expires)
			if err != nil {
				t.Errorf("admit: %v", err)
				return
			}
			if ok {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if admitted != 1 {
		t.Fatalf("the same key was admitted %d times; want once", admitted)
	}
	for _, s := range stores {
		if ok, err := s.Admit(ctx, key, expires); err != nil || ok {
			t.Fatalf("a replay: admitted %v, %v", ok, err)
		}
	}
	if ok, err := stores[1].Admit(ctx, digest("another"), expires); err != nil || !ok {
		t.Fatalf("another key: admitted %v, %v", ok, err)
	}
}

// TestReplayExpiryFrees: a key whose expiry has passed is admitted again,
// and a store's first Admit deletes every expired key.
func TestReplayExpiryFrees(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	s := openStore(t, schema)
	past := time.Now().Add(-time.Hour)
	for range 3 {
		if ok, err := s.Admit(ctx, digest("expired"), past); err != nil || !ok {
			t.Fatalf("an expired key: admitted %v, %v", ok, err)
		}
	}
	for i, want := range []bool{true, false} {
		if ok, err := s.Admit(ctx, digest("live"), time.Now().Add(time.Hour)); err != nil || ok != want {
			t.Fatalf("a live key, offer %d: admitted %v, %v", i, ok, err)
		}
	}
	// A new store sweeps on its first Admit: the expired row goes, the
	// live one stays.
	if ok, err := openStore(t, schema).Admit(ctx, digest("third"), time.Now().Add(time.Hour)); err != nil || !ok {
		t.Fatalf("third key: admitted %v, %v", ok, err)
	}
	var n int
	if err := admin(t).QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema}.Sanitize()+`.replays WHERE key = $1`, digest("expired")).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("the expired key is still stored after a sweep")
	}
	if ok, err := s.Admit(ctx, digest("live"), time.Now().Add(time.Hour)); err != nil || ok {
		t.Fatalf("the live key after the sweep: admitted %v, %v", ok, err)
	}
}

// TestReplayAdmitFailsClosed: a key that is not a digest is refused
// with ErrReplayKey; a database that cannot answer is undecidable.
func TestReplayAdmitFailsClosed(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newSchema(t))
	for _, k := range [][]byte{nil, make([]byte, 65)} {
		if ok, err := s.Admit(ctx, k, time.Now().Add(time.Minute)); ok || !errors.Is(err, pgstore.ErrReplayKey) {
			t.Fatalf("key of %d bytes: admitted %v, %v", len(k), ok, err)
		}
	}
	s.Close()
	ok, err := s.Admit(ctx, digest("k"), time.Now().Add(time.Minute))
	var pe *pgstore.Error
	if ok || !errors.Is(err, limits.ErrUndecidable) || !errors.As(err, &pe) {
		t.Fatalf("admit on a closed pool: admitted %v, %v", ok, err)
	}
}

// TestSchemaMigrationFromV1: a version 1 schema holding state is migrated
// to this version by stores opening it at once (taking turns on the
// advisory lock); its state is kept and replay keys work.
func TestSchemaMigrationFromV1(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	id := pgx.Identifier{schema}.Sanitize()
	a := admin(t)
	for _, q := range []string{
		`CREATE SCHEMA ` + id,
		`CREATE TABLE ` + id + `.schema_version (version integer NOT NULL)`,
		strings.ReplaceAll(pgstore.MigrationV1, "{S}", id),
		`INSERT INTO ` + id + `.schema_version (version) VALUES (1)`,
	} {
		if _, err := a.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// State written at version 1: a tripped kill switch.
	if _, err := a.Exec(ctx, `INSERT INTO `+id+`.kill_switch (id, tripped, reason, at_ns) VALUES (1, true, 'halt at v1', 1)`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stores := make([]*pgstore.Store, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Go(func() {
			stores[i], errs[i] = pgstore.Open(ctx, testURL(t), pgstore.WithSchema(schema), pgstore.WithoutCreate())
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open of a version 1 schema: %v", err)
		}
		defer stores[i].Close()
	}
	var n, v int
	if err := a.QueryRow(ctx, `SELECT count(*), max(version) FROM `+id+`.schema_version`).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != 1 || v != 2 || pgstore.SchemaVersion != 2 {
		t.Fatalf("schema_version holds %d rows, version %d (SchemaVersion %d); want 1 row, version 2", n, v, pgstore.SchemaVersion)
	}
	k, err := stores[0].KillSwitch(ctx)
	if err != nil || !k.Tripped || k.Reason != "halt at v1" {
		t.Fatalf("the kill switch of version 1: %+v, %v", k, err)
	}
	key := digest("after migration")
	if ok, err := stores[1].Admit(ctx, key, time.Now().Add(time.Minute)); err != nil || !ok {
		t.Fatalf("admit after migration: %v, %v", ok, err)
	}
	if ok, err := stores[2].Admit(ctx, key, time.Now().Add(time.Minute)); err != nil || ok {
		t.Fatalf("replay after migration: %v, %v", ok, err)
	}
}
