package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The schema, one migration per version. A migration runs in the
// transaction that records its version, so a schema is at one version or
// the one before. In the SQL, {S} stands for the schema.
//
// Keys, owners, order ids and reasons are bytea: the guard's counter keys
// hold NUL bytes, which text cannot.
//
// The invariants the store keeps:
//   - counters.sum of a rolling counter (window_ns > 0) is the sum of its
//     entries; of a gauge, the sum of the gauges its tickets hold;
//   - a ticket holds one part per limit: keys[i], windows[i] (its
//     counter's window) and gauges[i] (what it holds of a gauge); a rolling
//     part's amount is its entry (ticket, i+1);
//   - entries outlive their tickets and are dropped when they leave their
//     windows, by the next reservation on their counter;
//   - a tracked row is an open or unknown order of a committed ticket,
//     found by (owner, order id) or (owner, client id), newest (highest
//     ord) first; pending_refs finds a pending ticket by the client ids of
//     the orders it may create (refs_*);
//   - reserved_orders remembers every reservation's orders by client id
//     for the retention (limits.SharedOrders), pruned by reservations;
//   - replays holds a digest per signed request a gateway admitted, until
//     its signature expires (by the database's clock), pruned by Admit.
var migrations = [...]string{
	// Version 1.
	`
CREATE TABLE {S}.counters (
	key       bytea PRIMARY KEY,
	window_ns bigint NOT NULL,
	sum       numeric NOT NULL DEFAULT 0
);
CREATE SEQUENCE {S}.ticket_ids;
CREATE TABLE {S}.tickets (
	id        bigint PRIMARY KEY,
	owner     bytea NOT NULL,
	at_ns     bigint NOT NULL,
	committed boolean NOT NULL DEFAULT false,
	open      integer NOT NULL DEFAULT 0,
	filled    numeric NOT NULL DEFAULT 0,
	closed    numeric NOT NULL DEFAULT 0,
	keys      bytea[] NOT NULL,
	windows   bigint[] NOT NULL,
	gauges    numeric[] NOT NULL,
	refs_id   bytea[] NOT NULL DEFAULT '{}',
	refs_cid  bytea[] NOT NULL DEFAULT '{}',
	refs_sym  bytea[] NOT NULL DEFAULT '{}',
	created   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {S}.entries (
	ticket bigint NOT NULL,
	part   integer NOT NULL,
	key    bytea NOT NULL,
	at_ns  bigint NOT NULL,
	amount numeric NOT NULL,
	PRIMARY KEY (ticket, part)
);
CREATE INDEX entries_key_at ON {S}.entries (key, at_ns);
CREATE SEQUENCE {S}.tracked_order;
CREATE TABLE {S}.tracked (
	seq       bigserial PRIMARY KEY,
	ord       bigint NOT NULL DEFAULT nextval('{S}.tracked_order'),
	ticket    bigint NOT NULL REFERENCES {S}.tickets (id) ON DELETE CASCADE,
	owner     bytea NOT NULL,
	order_id  bytea,
	client_id bytea,
	symbol    bytea NOT NULL,
	unknown   boolean NOT NULL,
	at_once   numeric NOT NULL DEFAULT 0
);
CREATE INDEX tracked_id ON {S}.tracked (owner, order_id);
CREATE INDEX tracked_cid ON {S}.tracked (owner, client_id);
CREATE INDEX tracked_ticket ON {S}.tracked (ticket);
CREATE TABLE {S}.pending_refs (
	owner     bytea NOT NULL,
	client_id bytea NOT NULL,
	ticket    bigint NOT NULL REFERENCES {S}.tickets (id) ON DELETE CASCADE
);
CREATE INDEX pending_refs_cid ON {S}.pending_refs (owner, client_id);
CREATE INDEX pending_refs_ticket ON {S}.pending_refs (ticket);
CREATE TABLE {S}.reserved_orders (
	owner     bytea NOT NULL,
	client_id bytea NOT NULL,
	symbol    bytea NOT NULL,
	at_ns     bigint NOT NULL
);
CREATE INDEX reserved_orders_cid ON {S}.reserved_orders (owner, client_id);
CREATE INDEX reserved_orders_at ON {S}.reserved_orders (at_ns);
CREATE TABLE {S}.strikes (
	key   bytea PRIMARY KEY,
	n     integer NOT NULL,
	times bigint[] NOT NULL DEFAULT '{}'
);
CREATE TABLE {S}.kill_switch (
	id      integer PRIMARY KEY CHECK (id = 1),
	tripped boolean NOT NULL,
	reason  bytea NOT NULL,
	at_ns   bigint NOT NULL
);
`,
	// Version 2: the digests of the signed requests gateways admitted
	// (ReplayGuard), each until its signature expires.
	`
CREATE TABLE {S}.replays (
	key        bytea PRIMARY KEY,
	expires_ns bigint NOT NULL
);
CREATE INDEX replays_expires ON {S}.replays (expires_ns);
`,
}

// SchemaVersion is the schema version this package writes.
const SchemaVersion = len(migrations)

// migrate creates the schema (unless create is false) or brings it to
// SchemaVersion. Concurrent
// migrations of one schema (processes starting together) take turns on an
// advisory lock.
func (s *Store) migrate(ctx context.Context, create bool) error {
	ident := pgx.Identifier{s.schema}.Sanitize()
	return s.tx(ctx, "migrating the schema", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('keyfence.limits.pgstore'), hashtext($1))`, s.schema); err != nil {
			return err
		}
		if !create {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, ident+".schema_version").Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return &outcome{err: fmt.Errorf("%w (schema %s)", ErrNoSchema, s.schema)}
			}
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+ident); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+ident+`.schema_version (version integer NOT NULL)`); err != nil {
			return err
		}
		var v int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+ident+`.schema_version`).Scan(&v); err != nil {
			return err
		}
		if v > len(migrations) {
			return &outcome{err: fmt.Errorf("%w (schema %s is at version %d, this store writes %d)", ErrSchemaTooNew, s.schema, v, len(migrations))}
		}
		for i := v; i < len(migrations); i++ {
			sql := strings.ReplaceAll(migrations[i], "{S}", ident)
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("migration to version %d: %w", i+1, err)
			}
			s.log.LogAttrs(ctx, slog.LevelInfo, "pgstore: schema migrated", slog.String("schema", s.schema), slog.Int("version", i+1))
		}
		if v < len(migrations) {
			if _, err := tx.Exec(ctx, `DELETE FROM `+ident+`.schema_version`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+ident+`.schema_version (version) VALUES ($1)`, len(migrations)); err != nil {
				return err
			}
		}
		return nil
	})
}
