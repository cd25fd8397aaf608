package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keyfence/keyfence/limits"
)

// DefaultSchema is the schema a Store keeps its tables in unless
// WithSchema names another.
const DefaultSchema = "keyfence"

// ErrConnString: the connection string does not parse. The error says
// nothing more, so that no part of the string (its password) can leak.
var ErrConnString = errors.New("pgstore: the connection string does not parse; use postgres://user@host:port/database or host=... user=... dbname=...")

// ErrSchemaTooNew: the database holds a schema written by a newer version
// of pgstore.
var ErrSchemaTooNew = errors.New("pgstore: the schema is newer than this version of keyfence knows; upgrade keyfence")

// ErrNoSchema: WithoutCreate was given and the schema does not exist.
var ErrNoSchema = errors.New("pgstore: no keyfence schema in this database; check the connection string and the schema name, or create it")

// ErrSchemaName: WithSchema was given a name that is not a plain SQL
// identifier.
var ErrSchemaName = errors.New("pgstore: the schema name must be letters, digits and underscores, not starting with a digit, at most 63 bytes")

// Error is a failure of the database: it could not be reached, a statement
// failed or a transaction was aborted. The store changed nothing, or (when
// the connection was lost during a commit) the caller cannot know; see the
// package doc. It wraps limits.ErrUndecidable and the driver's error.
type Error struct {
	Op  string // the Store method, e.g. "reserve"
	Err error
}

func (e *Error) Error() string {
	return "pgstore: " + e.Op + ": " + e.Err.Error() + "; check that the limit database is reachable"
}

// Unwrap returns limits.ErrUndecidable and the driver's error.
func (e *Error) Unwrap() []error { return []error{limits.ErrUndecidable, e.Err} }

// Store is a limits.Store in PostgreSQL, safe for concurrent use by many
// goroutines, processes and hosts. See the package doc.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	schema  string // the plain name
	q       queries
	log     *slog.Logger
	locks   keyLocks
	// retention is how long reserved_orders keeps an order.
	retention time.Duration
	// keys holds the sorted counter keys of the tickets this store
	// reserved and has not yet settled, so that Commit and Release queue
	// on them in process (see keyLocks).
	keys sync.Map // limits.Ticket -> []string
	// rq holds Admit's statements; replaySwept is when (unix ns, this
	// process's clock) Admit last deleted every expired replay key.
	rq          replayQueries
	replaySwept atomic.Int64
}

var (
	_ limits.Store        = (*Store)(nil)
	_ limits.SharedOrders = (*Store)(nil)
)

// Option configures a Store.
type Option func(*config)

type config struct {
	schema    string
	log       *slog.Logger
	maxCon    int32
	noCreate  bool
	retention time.Duration
}

// WithSchema keeps the tables in schema name (DefaultSchema by default).
// Stores that share a schema share their state; a name of its own gives a
// deployment, or a test, a state of its own in a shared database.
func WithSchema(name string) Option { return func(c *config) { c.schema = name } }

// WithLogger sets the logger for schema migrations (nothing is logged by
// default). The connection string is never logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithMaxConns sets the most connections Open's pool holds (pgx's default,
// the larger of 4 and the number of CPUs, unless the connection string sets
// pool_max_conns).
func WithMaxConns(n int32) Option { return func(c *config) { c.maxCon = n } }

// DefaultOrderRetention is how long a store remembers the orders
// reservations named (limits.SharedOrders): twice the order history
// reconciliation reads by default (exchange.DefaultReconcileHistory).
const DefaultOrderRetention = 48 * time.Hour

// WithOrderRetention sets how long the store remembers the orders
// reservations named, so that reconciliation in any process accounts for
// them; keep it longer than the order history reconciliation reads
// (exchange.ReconcileConfig.History).
func WithOrderRetention(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.retention = d
		}
	}
}

// WithoutCreate makes Open and New refuse a schema that does not exist
// yet (ErrNoSchema) instead of creating it: for tools, such as the CLI's
// kill switch, that must not create state by mistake. An existing schema
// is still migrated.
func WithoutCreate() Option { return func(c *config) { c.noCreate = true } }

var schemaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func newConfig(opts []Option) (*config, error) {
	c := &config{schema: DefaultSchema, log: slog.New(slog.DiscardHandler), retention: DefaultOrderRetention}
	for _, o := range opts {
		o(c)
	}
	if !schemaName.MatchString(c.schema) {
		return nil, ErrSchemaName
	}
	return c, nil
}

// Open connects to the database connString names, creates or migrates the
// store's schema and returns the store. Close it when done.
func Open(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, ErrConnString
	}
	if c.maxCon > 0 {
		pc.MaxConns = c.maxCon
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	s, err := newStore(ctx, pool, c)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// New returns a store on a pool the caller made (and closes), after
// creating or migrating its schema.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newStore(ctx, pool, c)
}

func newStore(ctx context.Context, pool *pgxpool.Pool, c *config) (*Store, error) {
	s := &Store{pool: pool, schema: c.schema, q: newQueries(pgx.Identifier{c.schema}.Sanitize()),
		rq: newReplayQueries(pgx.Identifier{c.schema}.Sanitize()), log: c.log, retention: c.retention}
	if err := s.migrate(ctx, !c.noCreate); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the pool Open made; a store made by New leaves its pool
// open. It returns nil: it has the io.Closer form of FileStore.Close.
func (s *Store) Close() error {
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

var _ io.Closer = (*Store)(nil)

// Schema returns the name of the schema the store keeps its tables in.
func (s *Store) Schema() string { return s.schema }

// outcome is a result a transaction returns to roll back without it being
// a database failure: a refusal, an unknown ticket, a dry run.
type outcome struct{ err error }

func (o *outcome) Error() string { return "pgstore: rolled back" }

// tx runs fn in a transaction. An error fn returns rolls it back; an
// *outcome's error is returned as it is, any other error as an *Error.
func (s *Store) tx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, fn)
	if err == nil {
		return nil
	}
	var o *outcome
	if errors.As(err, &o) {
		return o.err
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return fmt.Errorf("pgstore: %s: %w", op, ctxErr)
	}
	return &Error{Op: op, Err: err}
}
