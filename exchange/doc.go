// Package exchange holds what every venue shares: the venue-neutral types
// (orders, fills, balances, filters, key permissions), the signed Request,
// and the Authorizer that stands between a bot and its keys.
//
// # Model
//
// A venue client never signs by itself. It builds a Request (method, path,
// ordered parameters, body, credential name) and hands it to an Authorizer,
// which, on a private copy of that request:
//
//  1. classifies the endpoint with the venue's Scheme; an endpoint the Scheme
//     does not know is refused (ErrUnknownEndpoint);
//  2. parses the Intent from the request itself (never from a description
//     passed beside it) and asks the Guard, which returns a Reservation of
//     notional budget or a violation; the Intent carries the time of the
//     decision (one reading of the local clock), which the Guard judges
//     quote ages and daily windows at and the audit record carries;
//  3. reserves the request's rate cost with the RateLimiter, waiting at most
//     until the context's deadline;
//  4. stamps the request on the venue's clock (the local clock plus the
//     measured offset, read again after a rate wait) and writes an audit record with the
//     SHA-256 of the exact bytes that will be signed; if the record cannot be
//     written, nothing is signed (fail closed);
//  5. signs with the venue scheme through a signer.Signer that never hands
//     out the key, and returns the wire form of the request.
//
// The client sends the wire request, reports the venue's usage headers to
// the RateLimiter and settles the Reservation from the venue's answer,
// order by order: an order the answer states closed counts its real quote
// fill; an order that rests, or whose status and fills the answer does not
// state (Binance's ACK answers, KuCoin's asynchronous routes, Coinbase's
// create answer, a lost answer, a 5xx), is committed as open or of unknown
// outcome (Outcome.Orders) and holds its whole reservation and its
// open-order slot until a look-up or reconciliation sees it closed.
// Release is for the venue's refusal only.
//
// # Unknown means worst case; whatever is signed counts
//
// An Authorized's Reservation cannot give back the budget of a signed
// order on the caller's word: Release with anything but the venue's
// refusal (an *APIError that is not ErrOutcomeUnknown) commits the orders
// as of unknown outcome, and a reservation dropped without Commit or
// Release stays held. So a dry run that prints a signature, a signature
// sent by other means, or one thrown away, counts against the caps until
// reconciliation settles it: found at the venue, it settles from what the
// venue says; not found once every signature keyfence makes has expired
// (DefaultReconcileGrace), it is released as never placed. Every order
// keyfence signs carries a client order id (the venue clients add one
// when a request has none, and refuse one that is not plain), and the
// audit record's intent summary names it ("cid=...").
//
// # Reconciliation
//
// A Reconciler (Conn.Reconciler; the venue clients' Reconcile method, run
// when a client starts and every ReconcileConfig.Every) reads the venue's
// open orders, looks up every order the guard's OrderLedger holds open or
// of unknown outcome and settles what closed; then it reads the recent
// order history of the policy's symbols, and reports every venue order
// that no allow record of the audit log accounts for (by client order id,
// side and symbol) as a foreign order: a *ForeignOrderError, an
// error-level log line, a deny record of rule foreign_order in the audit
// log, and the kill switch tripped (or, with AlertOnly, not). Its
// requests are signed reads that go through the Authorizer, so their
// weight goes through the rate guard.
//
// What lies outside the guarantee: code running in the bot's process can
// reach the guard's Store and the signer directly, forge a venue refusal,
// or read the keystore's secrets once unsealed; an attacker with the same
// OS user can replace the state and audit files together. The answer to
// both is the gateway, which runs the guard as another user. A foreign
// order on a symbol outside the policy is seen only while it rests (open
// orders are read on every symbol; history only on the policy's). A
// client order id that keyfence signed, reused by the venue for another
// order after a restart, is matched to its record (the claims of ids are
// kept in memory). Orders placed by hand before keyfence was adopted, and
// still in the history window, are reported as foreign.
//
// A venue client holds a Conn: the connection of one credential to one
// venue (base URL, http.Client, the venue's clock as a ClockOffset, the
// Settler) that runs these flows for it. Public requests are classified,
// wait on the rate limiter, are sent and mapped to the venue's APIError;
// signed ones go through the Authorizer and are settled as above. What
// differs between venues comes in as ConnConfig hooks: how an answer maps
// to the venue's error, how usage is read from it, which limiter and
// Authorizer a request uses, and how an accepted order answer is settled.
// The venue client keeps its routes, its decoding and its own methods.
// A venue's public price feed is a TickerFeed in the same way: the venue
// gives the ticker request and how to read a quote from its answer.
//
// The Guard, RateLimiter and Auditor are interfaces so that the same
// Authorizer runs inside the bot or inside a signer daemon; package limits
// and package audit provide the implementations.
//
// # Cost
//
// Authorize runs once per order, so it is built to allocate little: a
// Scheme writes the intent, the signed bytes and the wire request into
// storage the Authorizer provides, header fields are an ordered Header
// slice rather than a map, and what is needed only while Authorize runs
// (the request's copy, the audit record, the signed bytes) is recycled.
// Schemes and Auditors therefore must not retain their arguments. See
// BenchmarkPlaceOrderSigned in package binance.
package exchange
