// Package exchangetest runs simulated exchanges on loopback, as
// net/http/httptest runs HTTP servers, for keyfence's own tests and for
// bot developers' tests. A simulated venue is an independent peer: it
// checks what a client sends the way the real venue does, and answers with
// the venue's status codes, error codes, JSON shapes and headers. It shares
// no code with the venue clients it tests.
//
// # Model
//
// Each simulator has two layers.
//
// The market (market.go) is venue-neutral: symbols with a last price and a
// synthetic order book around it, accounts with free and locked balances,
// orders, trades and withdrawals. The book's best bid and ask sit half the
// symbol's Spread either side of the last price, rounded out to the tick.
// A symbol with Depth offers that much base quantity on each of Levels price
// levels LevelGap apart, so large orders walk the book and a market order can
// run out of liquidity (thin markets); without Depth the best price has
// unlimited liquidity. Taker orders fill at once at the book's prices;
// limit orders that do not cross rest, with their funds locked, until
// SetPrice moves the last price through them, and then fill in full at
// their own price as makers. Balances move with every fill; what a closed
// order did not use is unlocked. Binance charges a buy's fee in the base
// asset it receives; KuCoin and Coinbase charge every fee in the quote
// asset, and a buy holds its fee, at the higher of the two rates, beside
// its cost. All amounts are decimals. With Thinning
// set, each level offers that fraction of the one before, so the book
// thins away from its top.
//
// The market keeps each symbol's public history (market_tape.go): every
// fill and every price move, from which the venues serve recent trades,
// klines and rolling 24-hour statistics. A Drift (market_drift.go) moves
// every price by itself, a random walk that is a pure function of its seed
// and the clock, so resting orders fill over time and tests on a fake
// clock repeat exactly.
//
// Options every venue shares: a drift, a fixed latency before every answer
// (wall-clock time) and rate limits switched off, in which case the venues
// advertise limits no client reaches.
//
// The venue front end (binance.go and its siblings) is the venue's HTTP API
// over the market: authentication (binance_auth.go), rate limits
// (binance_ratelimit.go, on the fixed windows of window.go), request
// parsing and the venue's JSON (binance_endpoints.go). Further venues are
// added as further front ends over the same market: coinbase.go with
// coinbase_auth.go, kucoin.go with kucoin_auth.go, and so on.
//
// # Binance
//
// NewBinance starts a simulated Binance Spot REST API. It verifies HMAC
// (hex), Ed25519 and RSA (base64) signatures over the query string and body
// exactly as received, the X-MBX-APIKEY header, timestamp and recvWindow,
// and the key's permissions; it counts request weight per client address
// and new orders per account in windows aligned to the interval, sends
// X-MBX-USED-WEIGHT-* and X-MBX-ORDER-COUNT-* headers, answers 429 with
// Retry-After over a limit and 418 (an IP ban) to a client that keeps
// sending. Its clock, limits, symbols and balances are options, so tests
// reach limits and time windows without sleeping.
//
// It serves what CCXT and go-binance call, with the shapes of the venue's
// documented examples (binance_marketdata.go; testdata/binance/golden): the
// 24-hour ticker, depth within the venue's limits, klines, recent and
// aggregate trades, order history, and the wallet and margin endpoints
// clients call at start, answered as for a spot-only account. It charges
// the venue's standard 0.1 % commission unless WithBinanceCommission says
// otherwise. WithBinanceTestnet serves no /sapi routes, like the Spot Test
// Network.
//
// Tests inject failures with FailNext and FailNextAfterExecuting (an
// order that executed but whose answer was lost) and read counters
// (Requests, Count429, Count418, OrdersPlaced), balances, orders and
// withdrawals to check what a client really did.
//
// # KuCoin and Coinbase
//
// NewKuCoin and NewCoinbase start the other two venues over the same
// market, with what clients call at start answered as the venue answers a
// spot-only account, so that CCXT and the official SDKs work with only
// their base URL changed. KuCoin verifies the v2 and v3 HMAC headers with
// the signed passphrase and counts its resource pools (gw-ratelimit-*
// headers); Coinbase verifies CDP JWTs as the venue accepts them from its
// SDKs and CCXT (package internal/venueauth) and refuses a nonce a key
// already used in a token that has not expired. Their default fees are
// the venues' lowest tiers. Their answers follow the documented examples,
// which the golden tests in testdata/golden hold them to.
//
// For the command line, ListenBinance starts on a given address and Run
// serves until a context is done; `keyfence sim` parses its flag values
// itself.
package exchangetest
