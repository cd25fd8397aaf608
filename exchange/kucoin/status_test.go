package kucoin

import (
	"encoding/json"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// An order answer that does not say whether the order is active settles
// nothing: it reads as StatusUnknown, never as closed.
func TestOrderWithoutActiveIsUnknown(t *testing.T) {
	for body, want := range map[string]exchange.OrderStatus{
		`{"id":"1","symbol":"BTC-USDT","type":"limit","side":"buy","price":"1","size":"1","dealSize":"0"}`:                                   exchange.StatusUnknown,
		`{"id":"1","symbol":"BTC-USDT","type":"limit","side":"buy","price":"1","size":"1","dealSize":"0","active":true}`:                     exchange.StatusNew,
		`{"id":"1","symbol":"BTC-USDT","type":"limit","side":"buy","price":"1","size":"1","dealSize":"1","active":false}`:                    exchange.StatusFilled,
		`{"id":"1","symbol":"BTC-USDT","type":"limit","side":"buy","price":"1","size":"1","dealSize":"0","active":false,"cancelExist":true}`: exchange.StatusCanceled,
	} {
		var j orderJSON
		if err := json.Unmarshal([]byte(body), &j); err != nil {
			t.Fatal(err)
		}
		if got := j.order().Status; got != want {
			t.Errorf("%s: status %s, want %s", body, got, want)
		}
	}
}
