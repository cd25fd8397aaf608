package exchange_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/coinbase"
	"github.com/keyfence/keyfence/exchange/kucoin"
	"github.com/keyfence/keyfence/signer"
)

// schemeCase is one venue's scheme with a key and an order request, and a
// malformed request its Intent refuses.
type schemeCase struct {
	scheme    exchange.Scheme
	keys      *signer.Memory
	key       string
	order     func() *exchange.Request
	malformed func() *exchange.Request
}

func schemeCases(t *testing.T) map[string]schemeCase {
	t.Helper()
	keys := signer.NewMemory()
	t.Cleanup(func() { _ = keys.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(keys.Import(signer.KeyInfo{Name: "bn", Venue: "binance", Type: signer.KeyHMAC, APIKey: "bn-api"}, []byte("bn-secret"), nil))
	must(keys.Import(signer.KeyInfo{Name: "kc", Venue: "kucoin", Type: signer.KeyHMAC, APIKey: "kc-api"}, []byte("kc-secret"), []byte("kc-pass")))
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	must(keys.Import(signer.KeyInfo{Name: "cb", Venue: "coinbase", Type: signer.KeyEd25519, APIKey: "organizations/o/apiKeys/k"}, seed, nil))

	bn, err := binance.NewScheme(5 * time.Second)
	must(err)
	cb, err := coinbase.NewScheme("")
	must(err)
	kc, err := kucoin.NewScheme("")
	must(err)
	return map[string]schemeCase{
		"binance": {scheme: bn, keys: keys, key: "bn",
			order: func() *exchange.Request {
				return &exchange.Request{Credential: "bn", Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
					{Key: "symbol", Value: "BTCUSDT"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
					{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "0.01"}, {Key: "price", Value: "50000"}}}
			},
			malformed: func() *exchange.Request {
				return &exchange.Request{Credential: "bn", Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
					{Key: "symbol", Value: "BTCUSDT"}, {Key: "side", Value: "BUY"}, {Key: "side", Value: "SELL"}}}
			}},
		"coinbase": {scheme: cb, keys: keys, key: "cb",
			order: func() *exchange.Request {
				return &exchange.Request{Credential: "cb", Method: "POST", Path: coinbase.Prefix + "/orders",
					Body: []byte(`{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.01","limit_price":"50000"}}}`)}
			},
			malformed: func() *exchange.Request {
				return &exchange.Request{Credential: "cb", Method: "POST", Path: coinbase.Prefix + "/orders", Body: []byte(`{"side":"BUY","side":"SELL"}`)}
			}},
		"kucoin": {scheme: kc, keys: keys, key: "kc",
			order: func() *exchange.Request {
				return &exchange.Request{Credential: "kc", Method: "POST", Path: "/api/v1/hf/orders",
					Body: []byte(`{"clientOid":"c1","side":"buy","symbol":"BTC-USDT","type":"limit","price":"50000","size":"0.01"}`)}
			},
			malformed: func() *exchange.Request {
				return &exchange.Request{Credential: "kc", Method: "POST", Path: "/api/v1/hf/orders", Body: []byte(`{"side":"buy","side":"sell"}`)}
			}},
	}
}

// TestSchemesWriteIntoCallerStorage holds every scheme to the storage
// contract of exchange.Scheme: Intent appends to in.Orders[:0] and leaves
// no orders on error, Prepare appends to dst, Sign overwrites every field
// of w and reuses w.Header's array.
func TestSchemesWriteIntoCallerStorage(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1767225600000)
	for name, c := range schemeCases(t) {
		t.Run(name, func(t *testing.T) {
			key, err := c.keys.Info(ctx, c.key)
			if err != nil {
				t.Fatal(err)
			}
			req := c.order()
			route, err := c.scheme.Classify(req)
			if err != nil {
				t.Fatal(err)
			}

			// Intent: the caller's array is used, stale orders are gone.
			var buf [2]exchange.Order
			buf[0].Symbol, buf[1].Symbol = "STALE0", "STALE1"
			in := exchange.Intent{Orders: buf[:2]}
			if err := c.scheme.Intent(req, route, &in); err != nil {
				t.Fatal(err)
			}
			if len(in.Orders) != 1 || &in.Orders[0] != &buf[0] || in.Orders[0].Symbol == "STALE0" || in.Route.Name != route.Name {
				t.Fatalf("Intent = %+v: want one order written into the caller's array", in)
			}
			fresh := exchange.Intent{}
			if err := c.scheme.Intent(c.order(), route, &fresh); err != nil || fresh.String() != in.String() {
				t.Fatalf("Intent into nil storage = %q, %v; into the caller's array %q", fresh.String(), err, in.String())
			}
			if err := c.scheme.Intent(c.malformed(), route, &in); err == nil || len(in.Orders) != 0 {
				t.Fatalf("malformed request: err %v, %d orders left", err, len(in.Orders))
			}

			// Prepare: appended after the caller's bytes, the same bytes as
			// into nil.
			want, err := c.scheme.Prepare(nil, c.order(), key, now)
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("prefix|")
			got, err := c.scheme.Prepare(prefix, req, key, now)
			if err != nil || !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
				t.Fatalf("Prepare after a prefix = %q, %v; want %q after it", got, err, want)
			}
			payload := got[len(prefix):]

			// Sign: nothing stale survives; the header array is reused when
			// it has room.
			hdr := make(exchange.Header, 1, 8)
			hdr[0] = exchange.HeaderField{Name: "X-Stale", Value: "1"}
			w := exchange.Wire{Method: "STALE", Path: "/stale", Query: "stale=1", Header: hdr, Body: []byte("stale")}
			if err := c.scheme.Sign(ctx, c.keys, key, req, payload, now, &w); err != nil {
				t.Fatal(err)
			}
			if w.Method != req.Method || w.Path != req.Path || w.Header.Has("X-Stale") || !bytes.Equal(w.Body, req.Body) || w.Query == "stale=1" {
				t.Fatalf("Sign left stale fields: %+v", w)
			}
			if len(w.Header) == 0 || &w.Header[0] != &hdr[:1][0] {
				t.Errorf("Sign did not reuse the caller's header array: %v", w.Header)
			}
		})
	}
}
