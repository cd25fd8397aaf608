package main

import (
	"context"
	"errors"
	"flag"
	"net/url"
	"strings"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
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
	if err := checkPostgresURL(rawURL); err != nil {
		return nil, err
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

// checkPostgresURL refuses a --state URL that does not parse or that
// carries a password, which argv would show to every user of the host.
func checkPostgresURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return usagef("--state: the PostgreSQL URL does not parse; use postgres://USER@HOST:PORT/DATABASE")
	}
	if _, ok := u.User.Password(); ok {
		return usagef("--state: keep the password out of the command line, where every user of the host can read it; set PGPASSWORD or use ~/.pgpass")
	}
	return nil
}

// openGuardState opens the state a command's guard uses: a postgres:// URL
// (shared state, whose database is its own record), or a state file tied
// to the audit log and to the keystore's generation. Unless create, a
// missing state (file or schema) is an error, never a new empty state. The
// returned close releases it.
func openGuardState(ctx context.Context, state, schema string, log *audit.Log, ks *keystore.Keystore, create bool) (limits.Store, func(), error) {
	if isPostgresState(state) {
		ps, err := openPostgresState(ctx, state, schema, create)
		if err != nil {
			return nil, nil, err
		}
		return ps, func() { _ = ps.Close() }, nil
	}
	opts := []limits.FileStoreOption{limits.WithAuditLog(log)}
	if !create {
		opts = append(opts, limits.ExistingState())
	}
	file, err := limits.OpenFileStoreContext(ctx, state, opts...)
	if err != nil {
		return nil, nil, err
	}
	if err := file.CheckGeneration(ctx, "keystore", ks.Generation()); err != nil {
		file.Close()
		return nil, nil, err
	}
	return file, func() { _ = file.Close() }, nil
}
