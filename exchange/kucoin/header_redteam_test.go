package kucoin

import (
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// A compromised bot sets header fields that make the venue read another
// request than the guard checked: a compressed body, a form body type, a
// method override. Each is refused before signing: the guard sees no
// intent, the simulator no order. The venue's own JSON type still passes.
func TestRedteamHeaderSmugglingRefused(t *testing.T) {
	e := mustSimEnv(t)
	ctx := context.Background()
	body := []byte(`{"clientOid":"rt-1","symbol":"BTC-USDT","side":"buy","type":"limit","price":"40000","size":"0.001"}`)
	cases := []struct {
		name   string
		method string
		path   string
		header exchange.Header
	}{
		{"gzip", "POST", "/api/v1/hf/orders", exchange.Header{{Name: "Content-Encoding", Value: "gzip"}}},
		{"form body type", "POST", "/api/v1/hf/orders", exchange.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}},
		{"transfer encoding", "POST", "/api/v1/hf/orders/multi", exchange.Header{{Name: "Transfer-Encoding", Value: "chunked"}}},
		{"method override", "GET", "/api/v1/hf/orders/active", exchange.Header{{Name: "X-HTTP-Method", Value: "POST"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b []byte
			if c.method == "POST" {
				b = body
			}
			_, err := e.c.Do(ctx, &exchange.Request{Method: c.method, Path: c.path, Header: c.header, Body: b})
			if !errors.Is(err, exchange.ErrMalformedRequest) {
				t.Fatalf("err = %v, want ErrMalformedRequest", err)
			}
		})
	}
	e.g.mu.Lock()
	for _, in := range e.g.intents {
		if in.Class() == exchange.ClassTrade || in.Route.Name == "GET /api/v1/hf/orders/active" {
			t.Errorf("the guard saw a smuggled intent: %s", in.String())
		}
	}
	e.g.mu.Unlock()
	if _, err := e.c.Do(ctx, &exchange.Request{Method: "POST", Path: "/api/v1/hf/orders",
		Header: exchange.Header{{Name: "Content-Type", Value: "application/json; charset=utf-8"}}, Body: body}); err != nil {
		t.Fatalf("JSON with a charset: %v", err)
	}
}
