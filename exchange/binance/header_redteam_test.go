package binance

import (
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// A compromised bot sets header fields that make the venue read another
// request than the guard checked: a multipart body whose preamble is the
// form the parser reads (the venue reads only the parts), a compressed
// body, a method override. Each is refused before signing; the order never
// reaches the simulator. The venue's own form type, with or without a
// charset, still passes.
func TestRedteamHeaderSmugglingRefused(t *testing.T) {
	env := mustSim(t, simOpts{})
	ctx := context.Background()
	form := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=49000"
	multipart := form + "&newClientOrderId=x\r\n--b\r\nContent-Disposition: form-data; name=\"price\"\r\n\r\n490000\r\n--b--\r\n"
	cases := []struct {
		name   string
		header exchange.Header
		body   string
		method string
		path   string
	}{
		{"multipart preamble", exchange.Header{{Name: "Content-Type", Value: "multipart/form-data; boundary=b"}}, multipart, "POST", "/api/v3/order"},
		{"json body type", exchange.Header{{Name: "Content-Type", Value: "application/json"}}, form, "POST", "/api/v3/order"},
		{"two content types", exchange.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}, {Name: "content-type", Value: "text/plain"}}, form, "POST", "/api/v3/order"},
		{"latin-1 charset", exchange.Header{{Name: "Content-Type", Value: "application/x-www-form-urlencoded; charset=ISO-8859-1"}}, form, "POST", "/api/v3/order"},
		{"gzip", exchange.Header{{Name: "Content-Encoding", Value: "gzip"}}, form, "POST", "/api/v3/order"},
		{"method override", exchange.Header{{Name: "X-HTTP-Method-Override", Value: "POST"}}, "", "GET", "/api/v3/openOrders"},
		{"host", exchange.Header{{Name: "host", Value: "api.binance.us"}}, "", "GET", "/api/v3/openOrders"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body []byte
			if c.body != "" {
				body = []byte(c.body)
			}
			_, err := env.c.Do(ctx, &exchange.Request{Method: c.method, Path: c.path, Header: c.header, Body: body})
			if !errors.Is(err, exchange.ErrMalformedRequest) {
				t.Fatalf("err = %v, want ErrMalformedRequest", err)
			}
		})
	}
	open, err := env.c.OpenOrders(ctx, "")
	if err != nil || len(open) != 0 {
		t.Fatalf("open orders %+v %v: a smuggled request reached the venue", open, err)
	}
	for _, ct := range []string{"application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded; charset=UTF-8"} {
		if _, err := env.c.Do(ctx, &exchange.Request{Method: "POST", Path: "/api/v3/order",
			Header: exchange.Header{{Name: "Content-Type", Value: ct}}, Body: []byte(form)}); err != nil {
			t.Fatalf("%s: %v", ct, err)
		}
	}
}
