// Package pgstore keeps the state of a limits.Guard in PostgreSQL, so that
// several processes, on one host or many, share exact caps, one set of open
// orders and one kill switch.
//
// # Model
//
// A limits.Guard keeps no state of its own: every rolling notional window,
// open-order gauge, open order, strike counter and the kill switch live in
// its limits.Store. A *Store keeps them in tables of one PostgreSQL schema
// ("keyfence" by default), so two gateways or two bots whose guards open the
// same database and schema draw on the same budget: 4 processes racing to
// reserve 1% of a cap 250 times each get exactly 100 reservations between
// them.
//
// Every method is one transaction. Reserve locks the rows of the counters
// it touches (the credential's open-order gauge is one of them, so a
// credential's reservations are serialised while other credentials run in
// parallel), reads the database's clock, drops the entries that left their
// windows, checks every limit and records the reservation, or nothing.
// Commit, Release, CloseOrder and UpdateOrder lock the tickets they settle
// (in id order) and then their counters. Open orders and orders of unknown
// outcome are rows of their own, found by venue id or client order id, so
// that reconciliation in any process can look them up.
// BEGIN travels with the first locks and COMMIT with the writes, so a
// reservation or a settlement costs two round trips and one WAL flush.
// Callers of one process that need the same counters queue in the process
// first, so that the database sees one waiter per counter from each
// process.
//
// # Time
//
// The rolling windows and the windowed strike counters are judged by the
// database's clock (clock_timestamp() when the counters are locked), not by
// the times the caller passes (ReserveRequest.Now, the now of Strike):
// processes on several hosts whose clocks disagree would otherwise see one
// another's reservations expire early or late. This is the exception the
// limits.Store contract allows for a store shared between hosts. A guard's
// own clock (limits.WithClock) still judges reference prices; the time of a
// kill switch trip (limits.KillState.At) is the caller's, as a record. The
// time Tracked reports for an order (limits.TrackedOrder.At) is the
// database's time of its reservation.
//
// # Faults
//
// A failed statement, an aborted transaction or an unreachable database is
// an *Error, which wraps limits.ErrUndecidable: the guard refuses (fail
// closed) while the database is away, and decides again once it answers;
// the pool reconnects by itself. A reservation stays reserved until it is
// committed or released: a process that dies holding reservations leaves
// them held (their orders count as open, their notional stays in the
// window) until reconciliation settles them: Tracked lists them, by the
// client order ids their requests carried, to every process on the
// database, and UpdateOrder settles each as the venue answers. Nothing is
// released on a timeout. When a transaction's
// commit is lost with the connection, the caller cannot know whether it
// took effect; for Reserve the worst case is a reservation held that no
// order uses, never a cap exceeded.
//
// # Reconciliation
//
// Reconciliation (exchange.Reconciler) settles what Tracked lists and
// reports venue orders that no allow record of the process's own audit
// log names as foreign. Each process keeps its own audit log, so the store
// also remembers, for WithOrderRetention (48 h by default), the client
// order id and symbol of every order a reservation named
// (limits.SharedOrders): reconciliation in one process accounts for the
// orders another signed, and an order placed with the key outside keyfence
// is still foreign.
//
// # Replays
//
// A Store is also a gateway.ReplayGuard: Admit records the digest of a
// signed client request (never its signature) until the signature
// expires, in a table with the digest as primary key, so gateways sharing
// a schema admit a captured request once between them, not once each. A
// conflicting insert is a replay; a database error is an *Error, and the
// gateway refuses the request. Expired digests are deleted by later
// Admits (the database's clock judges expiry).
//
// # Set-up
//
// Open takes a connection string (postgres://user@host:port/db, or the
// key=value form) and creates or migrates the schema; a schema_version table
// records the version, and a store refuses a schema newer than it knows
// (ErrSchemaTooNew). Keep the password out of the string where you can:
// pgx reads PGPASSWORD and ~/.pgpass (PGPASSFILE). The store never logs the
// connection string, and its errors never carry the password.
package pgstore
