// Package kucoin is the KuCoin Spot high-frequency (HF) REST venue: a
// Scheme (route table, intent parser, signing) and a guarded Client.
//
// # What is signed
//
// KuCoin signs the string timestamp + METHOD + path + "?" + query (GET and
// DELETE, when there is a query) + body (POST: the exact JSON bytes sent),
// with HMAC-SHA256 under the API secret, in base64 (KC-API-SIGN). The
// timestamp is milliseconds of the venue's clock (KC-API-TIMESTAMP; the
// venue refuses more than 5 s of difference). KuCoin signs the query
// un-URL-encoded, so the scheme only accepts query keys and values made of
// bytes that need no escaping (letters, digits and - _ . ~ ,) and sends the
// query exactly as signed. GET and DELETE requests carry no body and POST
// requests no query, so everything the venue acts on is signed. Key
// versions 2 and 3 send KC-API-PASSPHRASE = base64(HMAC-SHA256(secret,
// passphrase)); the scheme asks the signer backend for it
// (signer.PassphraseSigner), so neither the passphrase nor the secret leaves
// the backend. Version 1 keys, which sent the passphrase in plain text, are
// refused. KC-API-KEY carries the public key and KC-API-KEY-VERSION the
// version ("2" by default, "3" with Config.KeyVersion).
//
// # How routes are classified
//
// The route table gives each method and path its exchange.Class, its
// resource pool (Spot, Management, Public) and its weight in that pool.
// Every HF order route is in it: the order, its sync, test and batch forms
// and alter. Withdrawals, transfers (inner, universal, sub-account) and
// sub-account API key management are classified (withdraw, transfer,
// keys) so that the guard refuses them; any other route is
// exchange.ErrUnknownEndpoint and nothing is signed.
//
// # Intents
//
// The intent is parsed from the exact JSON body. A key given twice,
// invalid UTF-8 or data after the object is malformed: two JSON readers
// could see different orders. An order object takes only the fields of
// orderFields (documented there: stp, hidden, iceberg, visibleSize,
// cancelAfter, remark, tags and clientOid besides the order itself); any
// other field is refused, so nothing the guard did not read can change the
// order. Decimals are JSON strings. Limit orders need price and size;
// market orders size or funds (funds is the quote amount:
// exchange.Order.QuoteQuantity; the guard refuses a market order by size
// unless the policy accepts it); postOnly makes a LIMIT_MAKER; GTT is
// exchange.GTD. A batch ({"orderList": [...]}) yields one exchange.Order
// per element; alter yields the order with its new price and size. Stop
// and OCO orders are not parsed: their routes are refused.
//
// # Rate limits
//
// Each pool is a limits.RateGuard bucket BucketKey(pool, 30s) with the
// VIP0 quotas (Spot 4000, Management 2000, Public 2000 per 30 s); the
// client waits on the guard of the route's pool and reports each answer's
// gw-ratelimit-limit and gw-ratelimit-remaining (used = limit −
// remaining) to it; on a 429, gw-ratelimit-reset (milliseconds) is how
// long the pool pauses.
//
// # Settlement and errors
//
// As in package binance: an accepted order commits the reservation (ids,
// whether an order may rest, the quote filled on the sync routes); a batch
// commits the orders it placed and releases when it placed none; a
// refusal releases it with the *exchange.APIError; a 5xx or a lost answer
// does neither and wraps exchange.ErrOutcomeUnknown (the client always
// sets a clientOid to look the order up). KuCoin answers
// {"code":"200000","data":...} on success and {"code":"...","msg":"..."}
// otherwise, sometimes with HTTP 200: 400002 is exchange.ErrClock, 400001
// and 400005 ErrSignature, 400003, 400004, 400006, 400007 and 411100
// ErrPermission, 429000 ErrRateLimited, unknown orders ErrNotFound, other
// codes (200004 insufficient balance, 400100 parameter error, ...)
// ErrRejected, and 5xx ErrOutcomeUnknown. Orders that break the symbol's
// rules (priceIncrement, baseMinSize, baseMaxSize, baseIncrement,
// quoteMinSize, quoteMaxSize, quoteIncrement, minFunds, enableTrading) are
// refused before signing with an *exchange.FilterError.
package kucoin
