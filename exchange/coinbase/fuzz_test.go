package coinbase

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// FuzzIntent feeds arbitrary bodies to the order and edit parsers. Any
// body is either refused with ErrMalformedRequest (or a FilterError) or
// yields exactly one order whose product, side and sizes are what a
// standard JSON reader finds in the same body: the guard never sees
// another order than the venue would read.
func FuzzIntent(f *testing.F) {
	for _, seed := range []string{
		head + `{"market_market_ioc":{"quote_size":"100"}}}`,
		head + `{"limit_limit_gtc":{"base_size":"0.001","limit_price":"50000","post_only":true}}}`,
		head + `{"limit_limit_gtd":{"base_size":"1","limit_price":"2","end_time":"2030-01-01T00:00:00Z"}}}`,
		head + `{"stop_limit_stop_limit_gtc":{"base_size":"1","limit_price":"2","stop_price":"2.1","stop_direction":"STOP_DIRECTION_STOP_UP"}}}`,
		head + `{"stop_limit_stop_limit_gtd":{"base_size":"1","limit_price":"2","stop_price":"1.9","stop_direction":"STOP_DIRECTION_STOP_DOWN","end_time":"2030-01-01T00:00:00Z"}}}`,
		head + `{"trigger_bracket_gtc":{"base_size":"1","limit_price":"2","stop_trigger_price":"0.5"}}}`,
		head + `{"sor_limit_ioc":{"base_size":"1","limit_price":"2"}}}`,
		`{"client_order_id":"c1","product_id":"BTC-USD","product_id":"ETH-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"1"}}}`,
		head + `{"market_market_ioc":{"quote_size":"1","quote_size":"9"}}}`,
		`{"order_id":"o1","price":"10","size":"2"}`,
		`{}`, `[]`, `{"a":`,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	s := mustScheme(f, "")
	s.setProducts(products())
	s.track("o1", trackedOrder{Product: "BTC-USD", Side: exchange.Buy})
	f.Fuzz(func(t *testing.T, body string, edit bool) {
		path := Prefix + "/orders"
		if edit {
			path = Prefix + "/orders/edit"
		}
		req := &exchange.Request{Method: "POST", Path: path, Body: []byte(body)}
		route, err := s.Classify(req)
		if err != nil {
			t.Fatal(err)
		}
		var in exchange.Intent
		err = s.Intent(req, route, &in)
		if err != nil {
			if !errors.Is(err, exchange.ErrMalformedRequest) && !errors.Is(err, exchange.ErrFilter) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(in.Orders) != 1 {
			t.Fatalf("%d orders", len(in.Orders))
		}
		o := in.Orders[0]
		if o.Price.Sign() < 0 || o.Quantity.Sign() < 0 || o.QuoteQuantity.Sign() < 0 || (o.Quantity.IsZero() == o.QuoteQuantity.IsZero()) {
			t.Fatalf("order %+v", o)
		}
		if edit {
			var e struct {
				Price string `json:"price"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || !d(e.Price).Equal(o.Price) {
				t.Fatalf("venue edits to price %q (%v), guard saw %s", e.Price, err, o.Price)
			}
			return
		}
		// What a plain JSON reader (the venue) reads agrees with the intent.
		var v struct {
			ProductID string                                `json:"product_id"`
			Side      string                                `json:"side"`
			Config    map[string]map[string]json.RawMessage `json:"order_configuration"`
		}
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("accepted a body a JSON reader refuses: %v", err)
		}
		if v.ProductID != o.Symbol || v.Side != string(o.Side) || len(v.Config) != 1 {
			t.Fatalf("venue reads %+v, guard saw %+v", v, o)
		}
		for _, cfg := range v.Config {
			var size string
			if raw, ok := cfg["base_size"]; ok {
				_ = json.Unmarshal(raw, &size)
				if size != o.Quantity.String() && !d(size).Equal(o.Quantity) {
					t.Fatalf("venue base_size %q, guard %s", size, o.Quantity)
				}
			}
			if raw, ok := cfg["quote_size"]; ok {
				_ = json.Unmarshal(raw, &size)
				if !d(size).Equal(o.QuoteQuantity) {
					t.Fatalf("venue quote_size %q, guard %s", size, o.QuoteQuantity)
				}
			}
			// Every price the venue reads is in the intent, in the field
			// the guard checks; no other price key is accepted.
			for key, raw := range cfg {
				if !strings.Contains(key, "price") {
					continue
				}
				var price string
				_ = json.Unmarshal(raw, &price)
				var got decimal.Decimal
				switch key {
				case "limit_price":
					got = o.Price
				case "stop_price":
					got = o.StopPrice
				default:
					t.Fatalf("accepted price key %q the intent does not carry", key)
				}
				if !d(price).Equal(got) {
					t.Fatalf("venue %s %q, guard %s", key, price, got)
				}
			}
			if o.Type == exchange.StopLimit && o.StopPrice.Sign() <= 0 {
				t.Fatalf("stop-limit order without a stop price in the intent: %s", o)
			}
		}
	})
}
