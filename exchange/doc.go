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
// the RateLimiter and settles the Reservation from the venue's answer:
// Commit when the venue accepted the order, Release when it refused it, and
// neither when the outcome is unknown (5xx, timeout), so the budget stays
// reserved until the order is looked up.
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
