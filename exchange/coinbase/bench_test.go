package coinbase

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// staticPrices is an in-memory price source.
type staticPrices struct{ q exchange.Quote }

func (s staticPrices) Reference(_ context.Context, symbol string) (exchange.Quote, error) {
	q := s.q
	q.Symbol, q.At = symbol, time.Now()
	return q, nil
}

// benchAuthorizer is the full path of a limit order: limits.Guard over a
// MemoryStore and an in-memory price source, the real audit log on a temp
// file without fsync, and an ES256 key in the Memory signer.
func benchAuthorizer(b *testing.B) (*exchange.Authorizer, *testKey) {
	b.Helper()
	nd := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	pol := &limits.Policy{Version: 1, Credentials: map[string]*limits.CredentialPolicy{
		"cb": {
			Venue: Venue, OrderTypes: []exchange.OrderType{exchange.Limit}, MaxOpenOrders: 1000, PriceBand: nd("0.05"),
			Quotes:  map[string]limits.Caps{"USD": {MaxOrderNotional: nd("1000"), MaxDailyNotional: nd("1000000000")}},
			Symbols: map[string]limits.SymbolPolicy{"BTC-USD": {}},
		},
	}}
	prices := staticPrices{exchange.Quote{Bid: decimal.RequireFromString("49999.99"), Ask: decimal.RequireFromString("50000.01")}}
	g, err := limits.NewGuard(pol, limits.NewMemoryStore(), limits.WithPrices(Venue, prices))
	if err != nil {
		b.Fatal(err)
	}
	log, err := audit.Open(context.Background(), filepath.Join(b.TempDir(), "audit.log"), audit.NoSync())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = log.Close() })
	k := newTestKey(b, signer.KeyECDSAP256)
	s := mustScheme(b, "")
	s.setProducts(products())
	return &exchange.Authorizer{Scheme: s, Signer: k.store, Guard: g, Audit: log}, k
}

// BenchmarkPlaceOrderSigned measures what keyfence adds to a limit order
// before it goes on the wire: build the JSON body, classify, parse the
// intent with the strict parser, check the product, guard (reserve), audit
// (append, no fsync), mint the ES256 JWT, then release the reservation.
// No network.
func BenchmarkPlaceOrderSigned(b *testing.B) {
	auth, _ := benchAuthorizer(b)
	ctx := context.Background()
	o := exchange.Order{Symbol: "BTC-USD", Side: exchange.Buy, Type: exchange.Limit, TimeInForce: exchange.GTC,
		Quantity: decimal.RequireFromString("0.01"), Price: decimal.RequireFromString("50000"), ClientID: "kf-bench"}
	b.ReportAllocs()
	for b.Loop() {
		body, err := orderBody(o)
		if err != nil {
			b.Fatal(err)
		}
		a, err := auth.Authorize(ctx, &exchange.Request{Credential: "cb", Method: "POST", Path: Prefix + "/orders", Body: body})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Reservation.Release(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkECDSASignBaseline is the bare cryptography of the same request:
// one ecdsa.Sign over the SHA-256 digest of a JWT signing input of the
// same size.
func BenchmarkECDSASignBaseline(b *testing.B) {
	k := newTestKey(b, signer.KeyECDSAP256)
	priv := k.priv.(*ecdsa.PrivateKey)
	input := make([]byte, 330)
	for i := range input {
		input[i] = 'a' + byte(i%26)
	}
	b.ReportAllocs()
	for b.Loop() {
		dg := sha256.Sum256(input)
		if _, _, err := ecdsa.Sign(rand.Reader, priv, dg[:]); err != nil {
			b.Fatal(err)
		}
	}
}
