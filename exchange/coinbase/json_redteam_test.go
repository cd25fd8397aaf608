package coinbase

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// JSON smuggling: every body that two JSON readers (keyfence's, and the
// venue's, which may match keys case-insensitively, take protobuf's
// lowerCamelCase names, coerce types or keep the last of two keys) could
// read differently, or that spells a number otherwise than a plain decimal
// string, is refused before the guard.
func TestRedteamJSONSmugglingRefused(t *testing.T) {
	s := mustScheme(t, "")
	cfg := func(c string) string {
		return `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":` + c + `}}`
	}
	limit := func(size, price string) string { return cfg(`{"base_size":` + size + `,"limit_price":` + price + `}`) }
	bodies := map[string]string{
		"duplicate key":             limit(`"0.001"`, `"50000"`)[:len(limit(`"0.001"`, `"50000"`))-3] + `,"limit_price":"1"}}}`,
		"duplicate escaped key":     cfg(`{"base_size":"0.001","limit_price":"50000","limit_pr\u0069ce":"1"}`),
		"duplicate top-level key":   strings.Replace(limit(`"0.001"`, `"50000"`), `"side":"BUY"`, `"side":"BUY","side":"SELL"`, 1),
		"camelCase key":             strings.Replace(limit(`"0.001"`, `"50000"`), `"product_id"`, `"productId"`, 1),
		"camelCase twin":            strings.Replace(limit(`"0.001"`, `"50000"`), `"product_id":"BTC-USD"`, `"product_id":"BTC-USD","productId":"ETH-USD"`, 1),
		"camelCase config":          strings.Replace(limit(`"0.001"`, `"50000"`), `limit_limit_gtc`, `limitLimitGtc`, 1),
		"camelCase leg key":         cfg(`{"base_size":"0.001","limitPrice":"1","limit_price":"50000"}`),
		"case variant key":          strings.Replace(limit(`"0.001"`, `"50000"`), `"side"`, `"Side"`, 1),
		"two configurations":        `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"0.001","limit_price":"50000"},"market_market_ioc":{"quote_size":"10"}}}`,
		"attached order":            strings.Replace(limit(`"0.001"`, `"50000"`), `"side":"BUY"`, `"side":"BUY","attached_order_configuration":{"trigger_bracket_gtc":{"limit_price":"1","stop_trigger_price":"1"}}`, 1),
		"leverage":                  strings.Replace(limit(`"0.001"`, `"50000"`), `"side":"BUY"`, `"side":"BUY","leverage":"10"`, 1),
		"bracket":                   cfg(`{"base_size":"0.001","limit_price":"50000","stop_trigger_price":"1"}`),
		"number not string":         limit(`0.001`, `"50000"`),
		"exponent":                  limit(`"0.001"`, `"5e4"`),
		"negative zero":             limit(`"-0"`, `"50000"`),
		"zero":                      limit(`"0"`, `"50000"`),
		"leading zeros":             limit(`"0.001"`, `"050000"`),
		"leading space":             limit(`"0.001"`, `" 50000"`),
		"unicode digits":            limit(`"0.001"`, `"５0000"`),
		"escaped unicode digit":     limit(`"0.001"`, `"\uff150000"`),
		"NaN":                       limit(`"0.001"`, `"NaN"`),
		"Infinity":                  limit(`"0.001"`, `"Infinity"`),
		"huge precision":            limit(`"0.001"`, `"50000.00000000000000000000000000000000001"`),
		"null price":                limit(`"0.001"`, `null`),
		"side as enum number":       strings.Replace(limit(`"0.001"`, `"50000"`), `"side":"BUY"`, `"side":1`, 1),
		"lower-case side":           strings.Replace(limit(`"0.001"`, `"50000"`), `"BUY"`, `"buy"`, 1),
		"post_only as string":       cfg(`{"base_size":"0.001","limit_price":"50000","post_only":"true"}`),
		"trailing data":             limit(`"0.001"`, `"50000"`) + `{}`,
		"invalid UTF-8":             strings.Replace(limit(`"0.001"`, `"50000"`), `"c1"`, "\"c\xff\"", 1),
		"product with a slash":      strings.Replace(limit(`"0.001"`, `"50000"`), `BTC-USD`, `BTC-USD/../ETH-USD`, 1),
		"product with a space":      strings.Replace(limit(`"0.001"`, `"50000"`), `BTC-USD`, `BTC-USD `, 1),
		"market by base and quote":  `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"base_size":"1","quote_size":"10"}}}`,
		"stop limit, no stop price": `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":{"stop_limit_stop_limit_gtc":{"base_size":"1","limit_price":"50000","stop_direction":"STOP_DIRECTION_STOP_UP"}}}`,
	}
	for name, body := range bodies {
		if _, err := intentOf(t, s, orderReq(body)); !errors.Is(err, exchange.ErrMalformedRequest) {
			t.Errorf("%s: err = %v, want ErrMalformedRequest", name, err)
		}
	}
	if _, err := intentOf(t, s, orderReq(limit(`"0.001"`, `"50000"`))); err != nil {
		t.Fatal(err)
	}
}
