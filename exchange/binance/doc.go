// Package binance is the Binance Spot REST venue: a Scheme (route table,
// intent parser, signing) and a guarded Client.
//
// # What is signed
//
// A signed request carries its parameters in the query string, for every
// method, POST and DELETE included (Binance reads the query string of any
// method). Prepare appends, after the caller's parameters and in this
// order, recvWindow (when the scheme has one and the request does not) and
// timestamp (milliseconds of the venue's clock, unless the request already
// has one). The signed payload is the percent-encoded query string exactly
// as sent, non-ASCII symbols as UTF-8 percent escapes, followed with no
// separator by the form body when the caller gives one. The signature is
// appended as the last query parameter: HMAC-SHA256 in lowercase hex for an
// HMAC key, Ed25519 or RSA PKCS#1 v1.5 SHA-256 in base64, percent-encoded.
// The public API key goes in the X-MBX-APIKEY header. The path is not
// signed by Binance; keyfence checks it instead: the route is part of what
// the guard sees and audits.
//
// # How routes are classified
//
// Every method and path the package knows is in a route table that gives
// its exchange.Class, its request weight and unfilled-order count (from the
// Binance documentation), and whether it is signed. The table covers every
// order-creating route, not only POST /api/v3/order: the order test, SOR
// orders, cancel-replace, amend, the order lists (OCO, OTO, OTOCO, OPO,
// OPOCO) and the legacy OCO. Withdrawals, gift cards, Binance Pay,
// transfers and sub-account API key management are classified (withdraw,
// transfer, keys) so that the guard refuses them. A route outside the table
// is exchange.ErrUnknownEndpoint: nothing is signed.
//
// # Intents
//
// The intent is parsed from the parameters alone, query and body together.
// A parameter given twice is malformed on every route. On order-creating
// routes only the parameters the route takes are accepted (pegged orders
// are refused: the venue sets their price), and each order's side, type,
// time in force, price, quantity or quote quantity, and stop price must be
// consistent with its type; an order list yields one exchange.Order per
// leg. Every price a leg holds reaches its exchange.Order, for the guard
// to check against the band: price, stopPrice (StopPrice) and
// trailingDelta (TrailingDelta), with their leg prefixes (abovePrice,
// pendingBelowStopPrice, ...), and the legacy OCO's stopLimitPrice. A
// market order's quantity is a base quantity, which the guard refuses
// unless the policy accepts it (quoteOrderQty is the quote quantity).
// Anything else wraps exchange.ErrMalformedRequest.
//
// # Settlement
//
// After the venue answers, the client settles the guard's reservation:
// an accepted order commits it (venue ids, whether an order rests, quote
// filled); a refusal releases it with the *exchange.APIError as cause;
// a 5xx, a lost answer or an "execution status unknown" code does
// neither, so the budget stays reserved, and the error wraps
// exchange.ErrOutcomeUnknown and tells the caller to look the order up
// (the client always sets a client order id for that). Orders seen closed
// by CancelOrder or GetOrder are reported to a guard that implements
// exchange.OrderTracker.
//
// # Errors
//
// Venue refusals are *exchange.APIError whose Kind is one of exchange's
// categories: -1021 ErrClock, -1022 ErrSignature, -2015/-2014/-1002
// ErrPermission, 429/-1003/-1015 ErrRateLimited, 418 ErrBanned, unknown
// orders ErrNotFound, other refusals ErrRejected, 5xx ErrOutcomeUnknown.
// Every answer's X-MBX-USED-WEIGHT-* and X-MBX-ORDER-COUNT-* headers and
// Retry-After go to the rate limiter. Orders that break the symbol's
// exchangeInfo filters are refused before signing with an
// *exchange.FilterError naming the filter and the nearest valid values.
package binance
