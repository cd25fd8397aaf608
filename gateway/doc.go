// Package gateway is keyfence as a separate process: an HTTP server that
// speaks each venue's own REST API (Binance Spot, KuCoin Spot HF, Coinbase
// Advanced Trade) to bots, and the venue's API to the venue, with the keys,
// the policy, the limit state and the audit log on its side of the trust
// boundary.
//
// A bot holds a client credential the gateway issued (NewClient) in the
// venue's own format and signs its requests as it would for the venue,
// with its base URL pointed at the gateway. For every request the gateway
//
//  1. verifies the client with the venue's own scheme (signature,
//     timestamp and receive window) and, for requests that change
//     something (anything but reads), refuses a signature it has seen
//     within its window (a replay): Config.Replays, by default a cache in
//     the gateway's memory; gateways sharing a pgstore schema share it;
//  2. turns the request, exactly as sent, into an exchange.Request for
//     the venue credential the client maps to, and runs it through the
//     venue client of package exchange/<venue>: the same Authorizer, guard
//     (limits.Guard under the policy), audit log, signer and settlement as
//     the in-process library;
//  3. answers with the venue's answer, byte for byte, with the headers
//     clients read (rate-limit usage).
//
// A request the guard refuses answers in the venue's error shape, with a
// status and code that CCXT and the venues' SDKs map to an invalid-order
// error (orders) or a permission error (everything else), never to a
// network or retryable one; the message names the rule and says what to
// change. Market data is forwarded unsigned; endpoints outside the venue
// package's route table are refused.
//
// All clients of one venue credential share its venue client, and so its
// rate guard: bots on one account no longer draw 429s from each other.
//
// The admin API (AdminHandler, on ListenAdmin's Unix socket, whose peer is checked
// with SO_PEERCRED) trips and resets the kill switch, reloads the policy,
// adds, lists and removes clients and reports status.
package gateway
