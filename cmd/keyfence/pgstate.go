package main

import (
	"context"
	"errors"
	"flag"
	"net/url"
	"strings"

	"github.com/keyfence/keyfence/limits/pgstore"
)

// A --state value is a state file, or a postgres:// URL: the guard's state
// in PostgreSQL (limits/pgstore), shared by every process that names the
// same database and --state-schema.

// isPostgresState reports whether a --state value names a database.
func isPostgresState(state string) bool {
	return strings.HasPrefix(state, "postgres://") || strings.HasPrefix(state, "postgresql://")
}

// stateSchema registers --state-schema.
func stateSchema(fs *flag.FlagSet) *string {
	return fs.String("state-schema", pgstore.DefaultSchema, "with --state postgres://..., the schema that holds the state")
}

// openPostgresState opens the state in the database rawURL names. The URL
// must not carry the password, which argv would show to every user of the
// host: PGPASSWORD or ~/.pgpass supply it. Unless create, a database
// without the schema is refused.
func openPostgresState(ctx context.Context, rawURL, schema string, create bool) (*pgstore.Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, usagef("--state: the PostgreSQL URL does not parse; use postgres://USER@HOST:PORT/DATABASE")
	}
	if _, ok := u.User.Password(); ok {
		return nil, usagef("--state: keep the password out of the command line, where every user of the host can read it; set PGPASSWORD or use ~/.pgpass")
	}
	opts := []pgstore.Option{pgstore.WithSchema(schema)}
	if !create {
		opts = append(opts, pgstore.WithoutCreate())
	}
	s, err := pgstore.Open(ctx, rawURL, opts...)
	if errors.Is(err, pgstore.ErrSchemaName) {
		return nil, usagef("--state-schema: %v", err)
	}
	return s, err
}
