package binance

import "github.com/keyfence/keyfence/exchange"

// appendQuery appends p percent-encoded as exchange.Params.Encode does
// (url.QueryEscape of each key and value, joined by '=' and '&'), without
// intermediate strings.
func appendQuery(dst []byte, p exchange.Params) []byte {
	for i, kv := range p {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = appendEscaped(dst, kv.Key)
		dst = append(dst, '=')
		dst = appendEscaped(dst, kv.Value)
	}
	return dst
}

// appendEscaped appends s escaped like url.QueryEscape: unreserved bytes
// as they are, space as '+', every other byte as %XX (upper-case hex).
func appendEscaped(dst []byte, s string) []byte {
	const hexUpper = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return dst
}

// encodedLen estimates the encoded size of p.
func encodedLen(p exchange.Params) int {
	n := 0
	for _, kv := range p {
		n += len(kv.Key) + len(kv.Value) + 2
	}
	return n + n/4
}
