package kucoin

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

func intentOf(t testing.TB, s *Scheme, path, body string) (exchange.Intent, error) {
	t.Helper()
	req := &exchange.Request{Method: "POST", Path: path, Body: []byte(body)}
	route, err := s.Classify(req)
	if err != nil {
		return exchange.Intent{}, err
	}
	var in exchange.Intent
	err = s.Intent(req, route, &in)
	return in, err
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestIntentOrderForms(t *testing.T) {
	s := mustScheme(t, "")
	s.SetSymbols([]exchange.SymbolInfo{{Symbol: "BTC-USDT"}, {Symbol: "ETH-USDT"}})
	tests := []struct {
		name, path, body string
		want             []exchange.Order
		test             bool
	}{
		{"limit", "/api/v1/hf/orders",
			`{"clientOid":"c1","side":"buy","symbol":"BTC-USDT","type":"limit","price":"10000","size":"0.001"}`,
			[]exchange.Order{{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit, TimeInForce: exchange.GTC, Price: d("10000"), Quantity: d("0.001"), ClientID: "c1"}}, false},
		{"limit post-only GTT", "/api/v1/hf/orders/sync",
			`{"symbol":"BTC-USDT","side":"sell","type":"limit","price":"1","size":"2","timeInForce":"GTT","cancelAfter":60,"postOnly":true,"stp":"CN","remark":"r","tags":"t"}`,
			[]exchange.Order{{Symbol: "BTC-USDT", Side: exchange.Sell, Type: exchange.LimitMaker, TimeInForce: exchange.GTD, Price: d("1"), Quantity: d("2")}}, false},
		{"limit IOC iceberg", "/api/v1/hf/orders",
			`{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1","size":"2","timeInForce":"IOC","iceberg":true,"visibleSize":"1"}`,
			[]exchange.Order{{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit, TimeInForce: exchange.IOC, Price: d("1"), Quantity: d("2")}}, false},
		{"market by size", "/api/v1/hf/orders",
			`{"symbol":"ETH-USDT","side":"sell","type":"market","size":"0.5"}`,
			[]exchange.Order{{Symbol: "ETH-USDT", Side: exchange.Sell, Type: exchange.Market, Quantity: d("0.5")}}, false},
		{"market by funds", "/api/v1/hf/orders",
			`{"symbol":"ETH-USDT","side":"buy","type":"market","funds":"100"}`,
			[]exchange.Order{{Symbol: "ETH-USDT", Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: d("100")}}, false},
		{"test order", "/api/v1/hf/orders/test",
			`{"symbol":"ETH-USDT","side":"buy","type":"market","funds":"100"}`,
			[]exchange.Order{{Symbol: "ETH-USDT", Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: d("100")}}, true},
		{"multi", "/api/v1/hf/orders/multi",
			`{"orderList":[{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1","size":"1"},{"symbol":"ETH-USDT","side":"sell","type":"market","size":"3"}]}`,
			[]exchange.Order{
				{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit, TimeInForce: exchange.GTC, Price: d("1"), Quantity: d("1")},
				{Symbol: "ETH-USDT", Side: exchange.Sell, Type: exchange.Market, Quantity: d("3")}}, false},
		{"alter", "/api/v1/hf/orders/alter",
			`{"symbol":"BTC-USDT","orderId":"670fd33bf9406e0007ab3945","newPrice":"2","newSize":"3"}`,
			[]exchange.Order{{Symbol: "BTC-USDT", Type: exchange.Limit, Price: d("2"), Quantity: d("3"), ID: "670fd33bf9406e0007ab3945"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := intentOf(t, s, tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if in.Test != tc.test || len(in.Orders) != len(tc.want) {
				t.Fatalf("intent %s, want %d orders, test %v", in.String(), len(tc.want), tc.test)
			}
			for i, w := range tc.want {
				if got := in.Orders[i]; got.String() != w.String() || got.ClientID != w.ClientID || got.ID != w.ID {
					t.Errorf("order %d = %s (%q %q), want %s (%q %q)", i, got, got.ClientID, got.ID, w, w.ClientID, w.ID)
				}
			}
		})
	}
}

func TestIntentRefusals(t *testing.T) {
	s := mustScheme(t, "")
	s.SetSymbols([]exchange.SymbolInfo{{Symbol: "BTC-USDT"}})
	lim := func(extra string) string {
		return `{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1","size":"1"` + extra + `}`
	}
	tests := []struct{ name, path, body, want string }{
		{"duplicate key", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1","size":"1","size":"100"}`, "more than once"},
		{"duplicate escaped key", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1","size":"1","\u0073ize":"100"}`, "more than once"},
		{"duplicate in batch element", "/api/v1/hf/orders/multi", `{"orderList":[{"symbol":"BTC-USDT","side":"buy","side":"sell","type":"market","size":"1"}]}`, "more than once"},
		{"unknown field", "/api/v1/hf/orders", lim(`,"stop":"loss"`), "not accepted"},
		{"margin trade type", "/api/v1/hf/orders", lim(`,"tradeType":"MARGIN_TRADE"`), "not accepted"},
		{"unlisted symbol", "/api/v1/hf/orders", `{"symbol":"DOGE-USDT","side":"buy","type":"market","funds":"1"}`, "not listed"},
		{"bad symbol", "/api/v1/hf/orders", `{"symbol":"btcusdt","side":"buy","type":"market","funds":"1"}`, "BASE-QUOTE"},
		{"upper-case side", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"BUY","type":"market","funds":"1"}`, "buy or sell"},
		{"numeric price", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"buy","type":"limit","price":1,"size":"1"}`, "JSON string"},
		{"exponent", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1e3","size":"1"}`, "decimal"},
		{"negative", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"-1","size":"1"}`, "decimal"},
		{"zero size", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1","size":"0"}`, "above zero"},
		{"funds on limit", "/api/v1/hf/orders", lim(`,"funds":"1"`), "only accepted on market"},
		{"size and funds", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"buy","type":"market","size":"1","funds":"1"}`, "not both"},
		{"price on market", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"buy","type":"market","price":"1","size":"1"}`, "not accepted on market"},
		{"tif on market", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"buy","type":"market","size":"1","timeInForce":"IOC"}`, "only accepted on limit"},
		{"postOnly IOC", "/api/v1/hf/orders", lim(`,"timeInForce":"IOC","postOnly":true`), "postOnly"},
		{"postOnly string", "/api/v1/hf/orders", lim(`,"postOnly":"true"`), "true or false"},
		{"cancelAfter without GTT", "/api/v1/hf/orders", lim(`,"cancelAfter":5`), "GTT"},
		{"bad tif", "/api/v1/hf/orders", lim(`,"timeInForce":"DAY"`), "timeInForce"},
		{"bad stp", "/api/v1/hf/orders", lim(`,"stp":"XX"`), "stp"},
		{"visible without iceberg", "/api/v1/hf/orders", lim(`,"visibleSize":"1"`), "visibleSize"},
		{"long clientOid", "/api/v1/hf/orders", lim(`,"clientOid":"` + strings.Repeat("a", 41) + `"`), "40"},
		{"no type", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"buy","price":"1","size":"1"}`, "type is missing"},
		{"stop type", "/api/v1/hf/orders", `{"symbol":"BTC-USDT","side":"buy","type":"stop","price":"1","size":"1"}`, "limit or market"},
		{"trailing data", "/api/v1/hf/orders", lim(``) + `{}`, "after the JSON"},
		{"not an object", "/api/v1/hf/orders", `[1]`, "not a JSON object"},
		{"invalid utf8", "/api/v1/hf/orders", "{\"symbol\":\"BTC-USDT\xff\"}", "UTF-8"},
		{"empty batch", "/api/v1/hf/orders/multi", `{"orderList":[]}`, "give 1 to 20"},
		{"batch extra key", "/api/v1/hf/orders/multi", `{"orderList":[],"symbol":"BTC-USDT"}`, "nothing else"},
		{"alter without size", "/api/v1/hf/orders/alter", `{"symbol":"BTC-USDT","orderId":"a","newPrice":"2"}`, "newSize"},
		{"alter both ids", "/api/v1/hf/orders/alter", `{"symbol":"BTC-USDT","orderId":"a","clientOid":"b","newPrice":"2","newSize":"1"}`, "one of them"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := intentOf(t, s, tc.path, tc.body)
			if !errors.Is(err, exchange.ErrMalformedRequest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("intent %s, err = %v; want ErrMalformedRequest mentioning %q", in.String(), err, tc.want)
			}
		})
	}
	req := &exchange.Request{Method: "POST", Path: "/api/v1/hf/orders", Params: params("symbol", "BTC-USDT"), Body: []byte(lim(""))}
	if err := s.Intent(req, exchange.Route{}, &exchange.Intent{}); !errors.Is(err, exchange.ErrMalformedRequest) {
		t.Fatalf("query on an order route: err = %v", err)
	}
}

// Non-order routes yield no orders whatever they carry.
func TestIntentNonOrderRoutes(t *testing.T) {
	s := mustScheme(t, "")
	req := &exchange.Request{Method: "GET", Path: "/api/v1/accounts", Params: params("currency", "BTC")}
	route, _ := s.Classify(req)
	var in exchange.Intent
	err := s.Intent(req, route, &in)
	if err != nil || len(in.Orders) != 0 || in.Class() != exchange.ClassRead {
		t.Fatalf("intent %s, %v", in.String(), err)
	}
}
