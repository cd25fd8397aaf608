package kucoin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// FuzzIntent feeds arbitrary bodies to every order route: the parser
// never panics, refuses with ErrMalformedRequest, or yields orders that
// are whole (a listed symbol, a side, a positive price or size or funds).
func FuzzIntent(f *testing.F) {
	for _, seed := range []string{
		`{"clientOid":"5c52e11203aa677f33e493fb","side":"buy","symbol":"BTC-USDT","type":"limit","price":"10000","size":"0.001"}`,
		`{"symbol":"BTC-USDT","side":"sell","type":"market","funds":"10"}`,
		`{"symbol":"BTC-USDT","side":"sell","type":"market","size":"1","size":"2"}`,
		`{"orderList":[{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1","size":"1","postOnly":true}]}`,
		`{"symbol":"BTC-USDT","orderId":"a","newPrice":"2","newSize":"3"}`,
		`{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1","size":"1","timeInForce":"GTT","cancelAfter":10}`,
		`{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1","size":"1","stop":"entry","stopPrice":"10"}`,
		`{"orderList":[{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1.5","size":"1"},{"symbol":"BTC-USDT","side":"sell","type":"market","size":"2"}]}`,
	} {
		for i := range 4 {
			f.Add(uint8(i), []byte(seed))
		}
	}
	paths := []string{"/api/v1/hf/orders", "/api/v1/hf/orders/multi/sync", "/api/v1/hf/orders/alter", "/api/v1/hf/orders/test"}
	s, err := NewScheme("")
	if err != nil {
		f.Fatal(err)
	}
	s.SetSymbols([]exchange.SymbolInfo{{Symbol: "BTC-USDT"}})
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		req := &exchange.Request{Method: "POST", Path: paths[int(route)%len(paths)], Body: body}
		r, err := s.Classify(req)
		if err != nil {
			t.Fatal(err)
		}
		var in exchange.Intent
		err = s.Intent(req, r, &in)
		if err != nil {
			if !errors.Is(err, exchange.ErrMalformedRequest) {
				t.Fatalf("error %v does not wrap ErrMalformedRequest", err)
			}
			return
		}
		if len(in.Orders) == 0 {
			t.Fatal("an order route yielded no order")
		}
		for _, o := range in.Orders {
			if o.Symbol != "BTC-USDT" || (o.Quantity.Sign() <= 0 && o.QuoteQuantity.Sign() <= 0) {
				t.Fatalf("incomplete order %s", o)
			}
			if o.Side == "" && req.Path != "/api/v1/hf/orders/alter" {
				t.Fatalf("order without a side %s", o)
			}
			if o.Type != exchange.Market && o.Price.Sign() <= 0 {
				t.Fatalf("priced order without a price %s", o)
			}
		}
		checkPricesCarried(t, req.Path, body, in.Orders)
	})
}

// checkPricesCarried fails unless every price a plain JSON reader (the
// venue) finds in an accepted body is the price of its order in the
// intent: price on an order, newPrice on an alter. A body with any other
// price field must have been refused.
func checkPricesCarried(t *testing.T, path string, body []byte, orders []exchange.Order) {
	t.Helper()
	var objs []map[string]json.RawMessage
	var batch struct {
		OrderList []map[string]json.RawMessage `json:"orderList"`
	}
	if strings.Contains(path, "/multi") {
		if err := json.Unmarshal(body, &batch); err != nil {
			t.Fatalf("accepted a batch a JSON reader refuses: %v", err)
		}
		objs = batch.OrderList
	} else {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			t.Fatalf("accepted a body a JSON reader refuses: %v", err)
		}
		objs = append(objs, obj)
	}
	if len(objs) != len(orders) {
		t.Fatalf("%d orders in the body, %d in the intent", len(objs), len(orders))
	}
	for i, obj := range objs {
		for key, raw := range obj {
			if !strings.Contains(strings.ToLower(key), "price") {
				continue
			}
			if key != "price" && key != "newPrice" {
				t.Fatalf("accepted price field %q the intent does not carry", key)
			}
			var price string
			if err := json.Unmarshal(raw, &price); err != nil || !d(price).Equal(orders[i].Price) {
				t.Fatalf("venue reads %s %s, the intent holds %s", key, raw, orders[i].Price)
			}
		}
	}
}
