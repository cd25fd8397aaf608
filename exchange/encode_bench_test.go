package exchange_test

import (
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// BenchmarkAppendEncoded encodes the parameters of a LIMIT order with its
// stamps, as a Binance payload is built.
func BenchmarkAppendEncoded(b *testing.B) {
	p := exchange.Params{
		{Key: "symbol", Value: "LTCBTC"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
		{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "1"}, {Key: "price", Value: "0.1"},
		{Key: "recvWindow", Value: "5000"}, {Key: "timestamp", Value: "1499827319559"}}
	buf := make([]byte, 0, 192)
	b.ReportAllocs()
	for b.Loop() {
		buf = p.AppendEncoded(buf[:0])
	}
}
