package exchange_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
)

// A venue client builds its Conn with its scheme and hooks; here, a
// public request whose refusal becomes the venue's error.
func ExampleConn() {
	venue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("symbol") != "BTCUSDT" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `unknown symbol`)
			return
		}
		fmt.Fprint(w, `{"symbol":"BTCUSDT","bidPrice":"49990","askPrice":"50000"}`)
	}))
	defer venue.Close()
	scheme, err := binance.NewScheme(0)
	if err != nil {
		fmt.Println(err)
		return
	}
	conn, err := exchange.NewConn(exchange.ConnConfig{
		Venue: "binance", Credential: "bot", BaseURL: venue.URL, Scheme: scheme,
		Answer: func(resp *exchange.Response) ([]byte, *exchange.APIError) {
			if resp.Status/100 != 2 {
				return nil, &exchange.APIError{Venue: "binance", Status: resp.Status, Msg: string(resp.Body), Kind: exchange.ErrRejected}
			}
			return resp.Body, nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	conn.Clock().Store(250 * time.Millisecond) // as measured by Clock().Sync
	ticker := func(symbol string) *exchange.Request {
		return &exchange.Request{Method: http.MethodGet, Path: "/api/v3/ticker/bookTicker",
			Params: exchange.Params{{Key: "symbol", Value: symbol}}}
	}
	ctx := context.Background()
	_, payload, err := conn.Public(ctx, ticker("BTCUSDT"))
	fmt.Println(string(payload), err)
	_, _, err = conn.Public(ctx, ticker("NOPE"))
	var apiErr *exchange.APIError
	fmt.Println(errors.As(err, &apiErr), apiErr.Status, apiErr.Msg)
	fmt.Println(conn.Clock().Load())
	// Output:
	// {"symbol":"BTCUSDT","bidPrice":"49990","askPrice":"50000"} <nil>
	// true 400 unknown symbol
	// 250ms
}
