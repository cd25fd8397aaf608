package kucoin

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

// staticPrices is an in-memory price source.
type staticPrices struct{ q exchange.Quote }

func (s staticPrices) Reference(_ context.Context, symbol string) (exchange.Quote, error) {
	q := s.q
	q.Symbol, q.At = symbol, time.Now()
	return q, nil
}

const benchBody = `{"clientOid":"5c52e11203aa677f33e493fb","side":"buy","symbol":"BTC-USDT","type":"limit","price":"10000","size":"0.001"}`

// benchAuthorizer is the full path of a limit order: limits.Guard over a
// MemoryStore and an in-memory price source, the real audit log on a temp
// file without fsync, and the SDK test key with its passphrase.
func benchAuthorizer(b *testing.B) *exchange.Authorizer {
	b.Helper()
	nd := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	pol := &limits.Policy{Version: 1, Credentials: map[string]*limits.CredentialPolicy{
		"doc": {
			Venue: Venue, OrderTypes: []exchange.OrderType{exchange.Limit}, MaxOpenOrders: 1000, PriceBand: nd("0.05"),
			Quotes:  map[string]limits.Caps{"USDT": {MaxOrderNotional: nd("1000"), MaxDailyNotional: nd("1000000000")}},
			Symbols: map[string]limits.SymbolPolicy{"BTC-USDT": {}},
		},
	}}
	prices := staticPrices{exchange.Quote{Bid: decimal.RequireFromString("9999"), Ask: decimal.RequireFromString("10001")}}
	g, err := limits.NewGuard(pol, limits.NewMemoryStore(), limits.WithPrices(Venue, prices))
	if err != nil {
		b.Fatal(err)
	}
	log, err := audit.Open(context.Background(), filepath.Join(b.TempDir(), "audit.log"), audit.NoSync())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = log.Close() })
	sg, _ := memSigner(b, "doc", docAPIKey, docSecret, docPassphrase)
	s := mustScheme(b, "")
	s.SetSymbols([]exchange.SymbolInfo{{Symbol: "BTC-USDT", Base: "BTC", Quote: "USDT", Trading: true}})
	return &exchange.Authorizer{Scheme: s, Signer: sg, Guard: g, Audit: log}
}

// BenchmarkPlaceOrderSigned measures what keyfence adds to a KuCoin limit
// order before it goes on the wire: classify, parse the JSON intent,
// guard (reserve), audit (append, no fsync), stamp, sign with HMAC-SHA256
// and sign the passphrase, then release the reservation. No network.
func BenchmarkPlaceOrderSigned(b *testing.B) {
	auth := benchAuthorizer(b)
	ctx := context.Background()
	body := []byte(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		a, err := auth.Authorize(ctx, &exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v1/hf/orders", Body: body})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Reservation.Release(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHMACBaseline is the bare cryptography of the same request: a
// new HMAC-SHA256 over the same prehash.
func BenchmarkHMACBaseline(b *testing.B) {
	payload := []byte("1234567890000POST/api/v1/hf/orders" + benchBody)
	key := []byte(docSecret)
	b.ReportAllocs()
	for b.Loop() {
		m := hmac.New(sha256.New, key)
		m.Write(payload)
		_ = m.Sum(nil)
	}
}

// BenchmarkSchemeOnly is this package's share of BenchmarkPlaceOrderSigned:
// classify, parse the intent, stamp and sign (order and passphrase),
// without guard or audit log.
func BenchmarkSchemeOnly(b *testing.B) {
	s := mustScheme(b, "")
	sg, key := memSigner(b, "doc", docAPIKey, docSecret, docPassphrase)
	ctx := context.Background()
	now := time.UnixMilli(docTS)
	body := []byte(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		r := (&exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v1/hf/orders", Body: body}).Clone()
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
