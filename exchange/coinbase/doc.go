// Package coinbase is the Coinbase Advanced Trade REST venue
// (api.coinbase.com/api/v3/brokerage): a Scheme (route table, intent
// parser, CDP JWT signing) and a guarded Client.
//
// # Authentication
//
// Coinbase authenticates a request with a JWT minted for that request by
// a CDP key: an ECDSA P-256 key (ES256, the signature in raw r||s as JWS
// requires, never DER) or an Ed25519 key (EdDSA). The header is
// {"alg","kid":<key name>,"nonce":<random hex>,"typ":"JWT"} and the
// claims {"sub":<key name>,"iss":"cdp","nbf":now,"exp":now+120,
// "uri":"<METHOD> <host><path>"}; the key name
// (organizations/{org}/apiKeys/{id}) is the key's signer.KeyInfo.APIKey,
// the host comes from the configured base URL, and the uri carries no
// query string. The JWT goes in "Authorization: Bearer <jwt>". The signer
// signs the JWT's signing input; the private key never leaves it.
//
// A JWT is a credential for two minutes: it is minted per request, never
// logged, never put in an error and never audited. The audit record's
// payload hash covers "METHOD path?query\n" followed by the body instead.
//
// # The body is not signed
//
// The JWT binds the method, host and path, not the query or the body.
// keyfence therefore parses the intent from the exact body bytes that are
// sent, and Sign refuses a request whose bytes changed after Prepare (the
// Authorizer works on its own copy). The body must be one JSON object with
// no key given twice at any depth (two JSON readers may keep different
// copies), valid UTF-8, nothing after the object, only the keys the route
// takes (exact case), decimal amounts as plain strings, and exactly one
// order configuration keyfence knows: market_market_ioc and
// market_market_fok (base_size or quote_size), limit_limit_gtc,
// limit_limit_gtd and limit_limit_fok (post_only where Coinbase allows
// it), sor_limit_ioc, and the stop_limit_stop_limit_gtc/gtd variants,
// whose stop_price reaches exchange.Order.StopPrice for the guard to
// check against the band. base_size on a market order is a base quantity,
// which the guard refuses unless the policy accepts it. Anything else
// wraps exchange.ErrMalformedRequest; leverage, margin, trigger brackets
// and attached (take-profit/stop-loss) orders are refused because their
// prices are not parsed.
//
// An edit (POST /orders/edit, {order_id, price, size}) names no product,
// so the scheme remembers the product and side of the orders the client
// placed or read and refuses an edit of any other order.
// Closing a position and conversions are classified as trade but refused:
// their requests carry nothing the guard can value.
//
// # Routes
//
// The route table gives each known endpoint its exchange.Class: public
// market data and server time (unsigned), reads (products, best bid and
// ask, accounts, orders, fills, key permissions), trade (create, preview,
// edit, edit preview, close position, conversions), cancel (batch
// cancel), transfer (portfolio moves, INTX allocation, futures sweeps)
// and withdraw (Coinbase App v2 sends, and any other v2 change), so the
// guard refuses the last two unless a policy allows them. Anything else
// is exchange.ErrUnknownEndpoint: nothing is signed. Every request costs
// one unit of the client's requests-per-second bucket ("PRIVATE:1s",
// DefaultRateLimit by default), corrected from x-ratelimit-* headers.
//
// # Products
//
// Products carry increments and sizes (price_increment, base_increment,
// quote_increment, base_min_size, base_max_size, quote_min_size,
// quote_max_size) and status flags. Once the table is loaded every order,
// through PlaceOrder or Do, is checked against it before signing
// (*exchange.FilterError): a product that is trading_disabled,
// cancel_only, view_only or not online takes no order, a limit_only
// product no market order, and a post_only product only post-only orders.
//
// # Settlement
//
// Coinbase answers a refused order with HTTP 200 and
// {"success":false,"error_response":{"error":"INSUFFICIENT_FUND",...}}:
// the client releases the reservation with an *exchange.APIError
// (ErrRejected). An accepted order's answer says nothing of fills, so it
// is committed as open (the guard keeps its whole value) and PlaceOrder
// reads it back at once; an order seen closed by GetOrder, CancelOrder or
// PlaceOrder is reported to a guard that implements exchange.OrderTracker
// with its filled value. A 5xx or a lost answer settles nothing and wraps
// exchange.ErrOutcomeUnknown: look the order up by its client order id.
//
// # Errors and permissions
//
// Venue errors ({"error","message","error_details"}, or a bare 401) are
// *exchange.APIError: 401 ErrSignature (key name, signature, lifetime or
// uri refused), 403 or PERMISSION_DENIED ErrPermission, 429
// ErrRateLimited, 404 or NOT_FOUND ErrNotFound, 5xx ErrOutcomeUnknown,
// other refusals ErrRejected. GET /key_permissions maps can_view to Read,
// can_trade to Trade and can_transfer to Transfer and Withdraw (the
// transfer scope covers sends). Coinbase does not report IP allowlists,
// so a key always counts as unrestricted: New refuses it unless
// Config.KeyRisks.UnrestrictedIP is set, which the operator does after
// restricting the key at Coinbase or to accept the risk.
//
// # Reference prices
//
// PriceFeed serves the guard's reference from GET /best_bid_ask, which
// Coinbase serves to authenticated keys only: the feed sends through the
// Client it is attached to (Config.Prices), as audited reads.
package coinbase
