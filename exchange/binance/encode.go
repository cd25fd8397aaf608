package binance

import "github.com/keyfence/keyfence/exchange"

// appendQuery appends p percent-encoded as exchange.Params.Encode does
// (url.QueryEscape of each key and value, joined by '=' and '&'), without
// intermediate strings.
func appendQuery(dst []byte, p exchange.Params) []byte {
	return p.AppendEncoded(dst)
}

// encodedLen estimates the encoded size of p.
func encodedLen(p exchange.Params) int {
	n := 0
	for _, kv := range p {
		n += len(kv.Key) + len(kv.Value) + 2
	}
	return n + n/4
}
