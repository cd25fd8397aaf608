package binance

import (
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// BenchmarkIntent measures the intent of the LIMIT order of
// BenchmarkPlaceOrderSigned: route lookup, the parameter checks and the
// parse of one order.
func BenchmarkIntent(b *testing.B) {
	s := mustScheme(b, 5000)
	req := &exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
		{Key: "symbol", Value: "LTCBTC"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
		{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "1"}, {Key: "price", Value: "0.1"}}}
	route, err := s.Classify(req)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var in exchange.Intent
		err := s.Intent(req, route, &in)
		if err != nil || len(in.Orders) != 1 {
			b.Fatal(err)
		}
	}
}
