// Package limits decides whether a request may be signed: it holds the
// policy, the guard that enforces it on every intent, the kill switch, the
// client-side rate guard, and the state stores that make the limits survive
// a restart.
//
// # Model
//
// An exchange.Authorizer parses the intent of every request from the
// request itself and asks a Guard. The guard answers with a Reservation
// (budget set aside for this intent) or a *Violation. Nothing is signed on
// a violation. The caller settles the reservation from the venue's answer:
// Commit when the venue accepted the request, Release when it was never
// sent or the venue refused it, and neither when the outcome is unknown, so
// the budget stays reserved until the order is looked up.
//
// # Rules, in order
//
// The first rule that fails decides; its name is Violation.Rule.
//
//  1. kill_switch: when tripped, every trade, transfer, withdraw and keys
//     intent is refused; cancel, read and public requests still pass, so a
//     bot can always cancel.
//  2. credential: the credential must be in the policy, on its venue.
//  3. class: public is always allowed; read, trade and cancel when listed
//     in allow (the default); transfer, withdraw and keys only when listed.
//     Intents of any class but trade stop here and reserve nothing.
//  4. intent: a trade intent must create at least one order (at most 8),
//     each with a side, a positive quantity or quote quantity, and for
//     priced types (LIMIT, LIMIT_MAKER, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT)
//     a positive price.
//  5. symbol: every order's symbol must be in the credential's allowlist.
//  6. order_type: every order's type must be listed in order_types.
//  7. market_by_base: an order that fills at whatever the book offers
//     (MARKET, and once triggered STOP_LOSS and TAKE_PROFIT) must not be
//     by base quantity, buy or sell, unless the symbol sets
//     allow_market_by_base: true. Nothing bounds its price at the venue:
//     on a thin book a buy of a base quantity valued at the reference can
//     spend several times its notional. A market order by quote quantity
//     (spend or receive exactly Q) passes; so does a LIMIT IOC priced
//     inside the band, the safe way to take liquidity now.
//  8. reference: each symbol needs a fresh reference quote from the venue's
//     exchange.PriceSource (WithPrices). The reference is the ask for a buy
//     and the bid for a sell: the price the order would actually cross at,
//     tighter than the mid. A missing source, an error, a quote without the
//     needed side, a crossed quote, or a quote older (or further in the
//     future) than reference_max_age refuses the intent with ErrNoReference.
//     Ages are judged at the intent's time (exchange.Intent.At, else the
//     guard's clock), which a source implementing exchange.PriceSourceAt
//     is given too.
//  9. price_band: every price that can execute, of every order of the
//     intent (each leg of an order list), is in the band. A priced buy may
//     be at most price_band above the ask (price <= ask*(1+band)); a priced
//     sell at most price_band below the bid (price >= bid*(1-band)). The
//     trigger of a stop or take-profit order (exchange.Order.StopPrice) is
//     held to the same bound, whatever its type, since the order executes
//     near its trigger. A trailing stop (exchange.Order.TrailingDelta, in
//     basis points) starts trailing at its stop price, or at once from the
//     market (the reference) without one; a buy then triggers at most delta
//     above that start, a sell at least delta below, and that furthest
//     trigger must be in the band: without a stop price, a delta wider than
//     the band is refused. A stop or take-profit type without a trigger, or
//     a trigger on another type, is refused by rule intent. Exactly at the
//     edge passes.
//  10. order_notional: an order is valued at its worst execution price. A
//     priced buy (a stop-limit too: it fills at its limit or better) is
//     worth price*quantity; a priced sell fills at its price or better, up
//     to the bid it meets, so it is worth the furthest of its price and the
//     bid (and, for a stop-limit or take-profit-limit, its trigger) times
//     quantity. A MARKET order is valued at reference*(1+band),
//     on either side; a stop-market order (STOP_LOSS, TAKE_PROFIT) at the
//     furthest of its trigger and the reference, times (1+band). An order by
//     quote quantity is worth its quote quantity (the larger, if both are
//     set). The notional must not exceed the symbol's max_order_notional
//     nor its quote asset's. Exactly at the cap passes.
//  11. daily_notional: the orders' notional is reserved in rolling 24-hour
//     windows, one per symbol and one per quote asset (shared by every
//     symbol quoted in it), for the caps the policy sets. The window never
//     exceeds its cap, even under concurrency: the check and the
//     reservation are one Store operation.
//  12. open_orders: the intent's orders plus the credential's open orders
//     (reserved, or committed and not yet closed) must not exceed
//     max_open_orders. Reserved in the same Store operation.
//
// Venue test orders (Intent.Test) go through every rule but reserve
// nothing. Every error from Check is a *Violation; all wrap ErrDenied.
// A store failure refuses with ErrUndecidable (rule "store"); the reference
// rule wraps ErrNoReference; the kill switch wraps ErrKillSwitch.
//
// # Rolling windows and settlement
//
// An amount counts in a window from the moment it was reserved at time t
// while now < t+24h. Release returns it at once. When the venue accepted an
// order that rests on the book (Outcome.Open), its full notional keeps
// counting, since it may fill at any time, and it holds one open-order slot
// per order id; when a venue client reports through Guard.OrderClosed that
// the order closed (filled, cancelled, expired), the slot is freed and, once
// every order of the reservation closed, the notional is trimmed to what
// was filled. An accepted order that does not rest (filled at once, IOC,
// FOK) releases its slots and keeps only Outcome.FilledQuote in the window.
// An order whose status and fills the answer does not state is committed as
// of unknown outcome (Outcome.Orders, OrderRef.Unknown) and counts as a
// resting one. A reservation neither committed nor released keeps
// everything it holds. The store remembers every order it holds open or of
// unknown outcome, with its venue id, client order id and symbol
// (Store.Tracked); reconciliation looks each up at the venue and reports
// what it found (Guard.UpdateOrder, the exchange.OrderLedger the guard
// implements).
//
// Amounts are compared in units of 10^-18 of the quote asset: an amount
// finer than that is rounded up and a cap or band edge rounded down, so
// rounding can only make a check stricter, and only for values with more
// than 18 decimal places.
//
// # Kill switch
//
// Trip halts trading by hand; Reset resumes it. It trips by itself after
// kill_switch.max_consecutive_rejections venue rejections in a row on one
// credential (a Release whose cause wraps an *exchange.APIError; a Commit
// clears the count), or after kill_switch.max_denials denied intents within
// kill_switch.denial_window. It lives in the Store, so with a FileStore it
// stays tripped across restarts until reset.
//
// # What fails closed, what survives a restart
//
// Unknown credential, class, symbol or order type; missing or stale
// reference; a store error: refused. A policy that leaves a tradable symbol
// without a per-order or a daily cap (on the symbol or on its quote asset)
// does not load. With a FileStore, reservations, open orders, strike counts
// and the kill switch survive a restart and a crash: every change is
// journalled and fsynced before it takes effect, and a torn last journal
// line (kill -9 mid-write) is ignored. A MemoryStore forgets everything;
// a venue client's reconciliation at start then adopts the orders still
// resting at the venue that the audit log accounts for (Guard.AdoptOrder),
// as it does after a FileStore was rebuilt (RebuildState).
//
// A FileStore's file is evidence, not truth: it is locked on itself and
// checked before every write to be the file it opened, a journal that does
// not start with its snapshot is corrupt, and tied to the audit log
// (WithAuditLog) and to the keystore's generation (CheckGeneration) it
// refuses to open missing, older than the log, or with an older keystore
// (ErrStateMissing, ErrStateStale, ErrStateMismatch, ErrRollback, each a
// *StateError whose message says what to do). RebuildState is the explicit
// way back: the state restarts tied to the log, with the kill switch
// tripped until the orders are reconciled.
//
// # Store contract
//
// The guard keeps no state: everything lives behind the Store interface,
// so a shared store (Redis, a database) can serve several processes without
// touching the guard. Store.Reserve is the atomic check-and-reserve: it is
// given every counter the intent touches, with its cap, amount and window,
// and the time; it records all amounts or none, and reports an
// *ExceededError naming the counter that would overflow. Every method is
// safe for concurrent use, changes nothing when it fails, takes time from
// its caller, and returns only once the change is as durable as the store
// promises. See Store.
//
// # Policy file
//
// ParsePolicy and LoadPolicy read YAML strictly: an unknown field, a
// duplicate key, a bad decimal or duration, a negative cap, an unknown class
// or order type is a *PolicyError with the line and the field. Decimals may
// be strings or numbers; they are read from their literal text, never
// through a float. Policy.WriteText prints the effective policy (defaults
// filled in, quote assets resolved, the caps each symbol is under) and
// Policy.Hash is its SHA-256, recorded in the audit log. A full example:
//
//	version: 1
//
//	kill_switch:                        # global; defaults shown
//	  max_consecutive_rejections: 5     # venue rejections in a row on one credential -> trip (0 disables)
//	  max_denials: 20                   # denied intents within denial_window -> trip (0 disables)
//	  denial_window: 1m
//
//	credentials:
//	  binance-main:                     # the credential (key) name
//	    venue: binance                  # required: the venue the key belongs to
//	    allow: [read, trade, cancel]    # default; public is always allowed;
//	                                    # transfer, withdraw, keys only if listed
//	    order_types: [LIMIT, LIMIT_MAKER, MARKET]  # LIMIT, LIMIT_MAKER, MARKET, STOP_LOSS,
//	                                               # STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT
//	    max_open_orders: 20             # required when trading
//	    price_band: "2%"                # or "0.02"; required when trading
//	    reference_max_age: 5s           # default 5s
//	    accept_key_risks:               # what exchange.CheckPermissions accepts of the key
//	      {withdraw: false, transfer: false, unrestricted_ip: false, unknown: false}
//	    quotes:                         # caps per quote asset, in that asset,
//	      USDT:                         # shared by every symbol quoted in it
//	        max_order_notional: "1000"
//	        max_daily_notional: "20000" # rolling 24 hours
//	    symbols:                        # the allowlist: nothing else is tradable
//	      BTCUSDT: {max_order_notional: "500", max_daily_notional: "5000"}
//	      ETHUSDT: {}                   # under the USDT caps only
//	      SOLUSDT: {allow_market_by_base: true}   # accepts MARKET orders by base quantity
//	      BTC-EUR: {quote: EUR, max_order_notional: "300", max_daily_notional: "3000"}
//
// A symbol's quote asset is the longest asset under quotes that its name
// ends with, unless quote: names it. Both caps apply where both are set.
//
// # Rate guard
//
// RateGuard implements exchange.RateLimiter for one venue account. It
// reserves a request's weight (and order count) on token buckets from
// golang.org/x/time/rate before the request is signed, waiting at most
// until the context's deadline; it corrects itself from the usage the
// venue reports in its answers' headers; after a 429 it backs off for the
// venue's Retry-After, and during a 418 ban it refuses every request at once
// with an *exchange.RateLimitError until the ban ends.
package limits
