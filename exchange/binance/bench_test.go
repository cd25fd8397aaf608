package binance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
	"github.com/shopspring/decimal"
)

// benchPrices is the price source of a venue client with its ticker
// answering from memory: an exchange.QuoteCache, as the venues' price
// feeds use, whose fetch returns a fixed quote stamped when it is fetched.
// Orders find the quote in the cache, as they do while the ticker is
// fresh; it is fetched again every second.
func benchPrices() *exchange.QuoteCache {
	quote := exchange.Quote{Bid: decimal.RequireFromString("0.0999"), Ask: decimal.RequireFromString("0.1001")}
	return exchange.NewQuoteCache(exchange.QuoteCacheConfig{MaxAge: time.Second,
		Fetch: func(_ context.Context, symbol string) (exchange.Quote, error) {
			q := quote
			q.Symbol, q.At = symbol, time.Now()
			return q, nil
		}})
}

// benchAuthorizer is the full path of a LIMIT order: limits.Guard over a
// MemoryStore and a quote cache, the audit chain in memory (audit.Chain:
// each record numbered, linked and hashed as the Log does, without the
// file), and the documentation HMAC key.
func benchAuthorizer(b testing.TB) *exchange.Authorizer {
	b.Helper()
	nd := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	pol := &limits.Policy{Version: 1, Credentials: map[string]*limits.CredentialPolicy{
		"doc": {
			Venue: Venue, OrderTypes: []exchange.OrderType{exchange.Limit}, MaxOpenOrders: 1000, PriceBand: nd("0.05"),
			Quotes:  map[string]limits.Caps{"BTC": {MaxOrderNotional: nd("1000"), MaxDailyNotional: nd("1000000000")}},
			Symbols: map[string]limits.SymbolPolicy{"LTCBTC": {}},
		},
	}}
	g, err := limits.NewGuard(pol, limits.NewMemoryStore(), limits.WithPrices(Venue, benchPrices()))
	if err != nil {
		b.Fatal(err)
	}
	sg, _ := hmacSigner(b)
	return &exchange.Authorizer{Scheme: mustScheme(b, 5000), Signer: sg, Guard: g, Audit: new(audit.Chain)}
}

// BenchmarkPlaceOrderSigned measures what keyfence adds to a LIMIT order
// before it goes on the wire: build the request, classify, parse the
// intent, guard (reserve), record (the audit chain in memory), stamp and
// sign with HMAC-SHA256, then release the reservation. No network, no
// file.
func BenchmarkPlaceOrderSigned(b *testing.B) {
	benchPlaceOrder(b, benchAuthorizer(b))
}

// BenchmarkPlaceOrderSignedFileAudit is BenchmarkPlaceOrderSigned with the
// real audit log on a temp file opened with audit.NoSync: one write(2)
// per record, no fsync.
func BenchmarkPlaceOrderSignedFileAudit(b *testing.B) {
	auth := benchAuthorizer(b)
	log, err := audit.Open(context.Background(), filepath.Join(b.TempDir(), "audit.log"), audit.NoSync())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = log.Close() })
	auth.Audit = log
	benchPlaceOrder(b, auth)
}

func benchPlaceOrder(b *testing.B, auth *exchange.Authorizer) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		placeOrder(ctx, b, auth)
	}
}

// placeOrder builds a LIMIT order, authorizes it and settles its
// reservation as the venue's answer "expired, nothing filled" would (a
// signed order's reservation is released only by the venue's word).
func placeOrder(ctx context.Context, b *testing.B, auth *exchange.Authorizer) {
	req := &exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
		{Key: "symbol", Value: "LTCBTC"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
		{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "1"}, {Key: "price", Value: "0.1"}}}
	a, err := auth.Authorize(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Reservation.Commit(ctx, exchange.Outcome{}); err != nil {
		b.Fatal(err)
	}
}

// baselinePayload is the signed bytes of placeOrder's request.
const baselinePayload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"

// baselineHMAC keys a new HMAC-SHA256 and signs payload with it.
func baselineHMAC(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return m.Sum(nil)
}

// BenchmarkHMACBaseline is the bare cryptography of the same request: a new
// HMAC-SHA256 over the same payload.
func BenchmarkHMACBaseline(b *testing.B) {
	payload, key := []byte(baselinePayload), []byte(docSecret)
	b.ReportAllocs()
	for b.Loop() {
		_ = baselineHMAC(key, payload)
	}
}

// BenchmarkPlaceOrderSignedRatio measures BenchmarkPlaceOrderSigned and
// BenchmarkHMACBaseline together, alternating between them in rounds of
// 512 operations so that both see the machine in the same state, and
// reports the ratio of their times (x-baseline) beside the baseline's
// ns/op. The target is a ratio of at most 4.
func BenchmarkPlaceOrderSignedRatio(b *testing.B) {
	auth := benchAuthorizer(b)
	ctx := context.Background()
	payload, key := []byte(baselinePayload), []byte(docSecret)
	const round = 512
	var signed, baseline time.Duration
	n := 0
	for b.Loop() {
		// One operation of the loop is one round of each.
		t0 := time.Now()
		for range round {
			placeOrder(ctx, b, auth)
		}
		t1 := time.Now()
		for range round {
			_ = baselineHMAC(key, payload)
		}
		signed += t1.Sub(t0)
		baseline += time.Since(t1)
		n += round
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(signed.Nanoseconds())/float64(n), "signed-ns/op")
	b.ReportMetric(float64(baseline.Nanoseconds())/float64(n), "baseline-ns/op")
	b.ReportMetric(float64(signed)/float64(baseline), "x-baseline")
}

// BenchmarkSchemeOnly is this package's share of BenchmarkPlaceOrderSigned:
// classify, parse the intent, stamp and sign, without guard or audit log.
func BenchmarkSchemeOnly(b *testing.B) {
	s := mustScheme(b, 5000)
	sg, key := hmacSigner(b)
	ctx := context.Background()
	now := time.UnixMilli(1499827319559)
	b.ReportAllocs()
	for b.Loop() {
		req := &exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
			{Key: "symbol", Value: "LTCBTC"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
			{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "1"}, {Key: "price", Value: "0.1"}}}
		r := req.Clone()
		route, err := s.Classify(r)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Intent(r, route, &exchange.Intent{}); err != nil {
			b.Fatal(err)
		}
		payload, err := s.Prepare(nil, r, key, now)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Sign(ctx, sg, key, r, payload, now, &exchange.Wire{}); err != nil {
			b.Fatal(err)
		}
	}
}
