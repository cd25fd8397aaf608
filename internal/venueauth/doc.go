// Package venueauth verifies signed requests the way each venue does:
// Binance's HMAC-SHA256, Ed25519 and RSA signatures with timestamp and
// recvWindow, KuCoin's v2/v3 HMAC headers with the signed passphrase, and
// Coinbase's CDP JWTs. The simulated venues (package exchangetest) and the
// gateway (package gateway) share it, so that a client the gateway accepts
// is one the venue would accept and the other way round.
//
// A verifier checks authenticity and freshness only. What a key may do
// (permissions, IP whitelists) and whether a signature was seen before
// (the gateway refuses replays; the venues do not) are the caller's: each
// Verify function returns what the caller needs for that, and an error
// in the venue's own shape (status, code, message) to answer with.
//
// Keys are found through a lookup function so that the caller keeps its
// own key registry and can revoke a key between two requests.
package venueauth
