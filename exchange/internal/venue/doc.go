// Package venue holds what the venue packages (binance, coinbase, kucoin)
// share beyond the exchange package's public API: the public ticker feed
// their price feeds are built on, the JSON client order id checks of the
// venues that take orders as JSON bodies, and the wording of their
// refusals and filter checks (TrimMessage, Notional, OffGrid). Users need
// none of it; a venue written outside this module builds the same from
// package exchange.
package venue
