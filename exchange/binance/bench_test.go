package binance

import (
	"bytes"
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

// bufferAudit is an Auditor that encodes and hashes each record like the
// audit log and appends the hash to a buffer: the log's CPU cost without
// its write system call.
type bufferAudit struct{ buf bytes.Buffer }

func (a *bufferAudit) Append(_ context.Context, r *audit.Record) error {
	h, err := r.ComputeHash()
	if err != nil {
		return err
	}
	if a.buf.Len() > 1<<20 {
		a.buf.Reset()
	}
	a.buf.WriteString(h)
	return nil
}

// benchAuthorizer is the full path of a LIMIT order: limits.Guard over a
// MemoryStore and an in-memory price source, the real audit log on a temp
// file without fsync, and the documentation HMAC key.
func benchAuthorizer(b *testing.B) *exchange.Authorizer {
	b.Helper()
	nd := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	pol := &limits.Policy{Version: 1, Credentials: map[string]*limits.CredentialPolicy{
		"doc": {
			Venue: Venue, OrderTypes: []exchange.OrderType{exchange.Limit}, MaxOpenOrders: 1000, PriceBand: nd("0.05"),
			Quotes:  map[string]limits.Caps{"BTC": {MaxOrderNotional: nd("1000"), MaxDailyNotional: nd("1000000000")}},
			Symbols: map[string]limits.SymbolPolicy{"LTCBTC": {}},
		},
	}}
	prices := staticPrices{exchange.Quote{Bid: decimal.RequireFromString("0.0999"), Ask: decimal.RequireFromString("0.1001")}}
	g, err := limits.NewGuard(pol, limits.NewMemoryStore(), limits.WithPrices(Venue, prices))
	if err != nil {
		b.Fatal(err)
	}
	log, err := audit.Open(context.Background(), filepath.Join(b.TempDir(), "audit.log"), audit.NoSync())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = log.Close() })
	sg, _ := hmacSigner(b)
	return &exchange.Authorizer{Scheme: mustScheme(b, 5000), Signer: sg, Guard: g, Audit: log}
}

// BenchmarkPlaceOrderSigned measures what keyfence adds to a LIMIT order
// before it goes on the wire: build the request, classify, parse the
// intent, guard (reserve), audit (append, no fsync), stamp and sign with
// HMAC-SHA256, then release the reservation. No network.
func BenchmarkPlaceOrderSigned(b *testing.B) {
	benchPlaceOrder(b, benchAuthorizer(b))
}

// BenchmarkPlaceOrderSignedBufferAudit is BenchmarkPlaceOrderSigned with
// the audit log's encoding and hashing but no file write.
func BenchmarkPlaceOrderSignedBufferAudit(b *testing.B) {
	auth := benchAuthorizer(b)
	auth.Audit = &bufferAudit{}
	benchPlaceOrder(b, auth)
}

func benchPlaceOrder(b *testing.B, auth *exchange.Authorizer) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req := &exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
			{Key: "symbol", Value: "LTCBTC"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
			{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "1"}, {Key: "price", Value: "0.1"}}}
		a, err := auth.Authorize(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Reservation.Release(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHMACBaseline is the bare cryptography of the same request: a new
// HMAC-SHA256 over the same payload.
func BenchmarkHMACBaseline(b *testing.B) {
	payload := []byte("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559")
	key := []byte(docSecret)
	b.ReportAllocs()
	for b.Loop() {
		m := hmac.New(sha256.New, key)
		m.Write(payload)
		_ = m.Sum(nil)
	}
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
		if _, err := s.Intent(r, route); err != nil {
			b.Fatal(err)
		}
		payload, err := s.Prepare(r, key, now)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Sign(ctx, sg, key, r, payload, now); err != nil {
			b.Fatal(err)
		}
	}
}
