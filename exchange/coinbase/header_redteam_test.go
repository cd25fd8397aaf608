package coinbase

import (
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
)

// A compromised bot sets header fields that make the venue read another
// request than the guard checked (a form or multipart body type, a
// compressed body, a method override), or puts order fields in the query
// string, which the JWT does not cover and the parser never reads. Each is
// refused before signing: the guard sees no intent, the simulator no order.
// The venue's own JSON type, with or without a charset, still passes.
func TestRedteamHeaderAndQuerySmugglingRefused(t *testing.T) {
	e := mustEnv(t, signer.KeyECDSAP256)
	ctx := context.Background()
	body := []byte(`{"client_order_id":"rt-1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"40000"}}}`)
	orders := Prefix + "/orders"
	cases := []struct {
		name   string
		method string
		path   string
		header exchange.Header
		params exchange.Params
	}{
		{"form body type", "POST", orders, exchange.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}, nil},
		{"multipart", "POST", orders, exchange.Header{{Name: "Content-Type", Value: "multipart/form-data; boundary=b"}}, nil},
		{"two content types", "POST", orders, exchange.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "CONTENT-TYPE", Value: "text/plain"}}, nil},
		{"gzip", "POST", orders, exchange.Header{{Name: "Content-Encoding", Value: "gzip"}}, nil},
		{"method override", "GET", Prefix + "/accounts", exchange.Header{{Name: "X-Http-Method-Override", Value: "POST"}}, nil},
		{"order fields in the query", "POST", orders, nil, exchange.Params{{Key: "product_id", Value: "ETH-USD"}}},
		{"query on edit", "POST", Prefix + "/orders/edit", nil, exchange.Params{{Key: "price", Value: "1"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b []byte
			if c.method == "POST" {
				b = body
			}
			_, err := e.c.Do(ctx, &exchange.Request{Method: c.method, Path: c.path, Header: c.header, Params: c.params, Body: b})
			if !errors.Is(e.seen(err), exchange.ErrMalformedRequest) {
				t.Fatalf("err = %v, want ErrMalformedRequest", err)
			}
		})
	}
	e.g.mu.Lock()
	for _, in := range e.g.intents {
		if in.Class() == exchange.ClassTrade || in.Route.Name == "GET "+Prefix+"/accounts" {
			t.Errorf("the guard saw a smuggled intent: %s", in.String())
		}
	}
	e.g.mu.Unlock()
	for i, ct := range []string{"application/json", "Application/JSON; charset=utf-8"} {
		b := []byte(`{"client_order_id":"rt-ok-` + string(rune('a'+i)) + `","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"40000"}}}`)
		if _, err := e.c.Do(ctx, &exchange.Request{Method: "POST", Path: orders, Header: exchange.Header{{Name: "Content-Type", Value: ct}}, Body: b}); err != nil {
			t.Fatalf("%s: %v", ct, e.seen(err))
		}
	}
}
