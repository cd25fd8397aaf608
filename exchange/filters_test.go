package exchange_test

import (
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

func TestNotional(t *testing.T) {
	d := decimal.RequireFromString
	tests := []struct {
		name   string
		o      exchange.Order
		ref    string
		want   string
		wantOK bool
	}{
		{"by quote amount", exchange.Order{QuoteQuantity: d("25"), Quantity: d("1"), Price: d("9")}, "7", "25", true},
		{"limit", exchange.Order{Price: d("100.5"), Quantity: d("0.2")}, "7", "20.1", true},
		{"market at the reference", exchange.Order{Quantity: d("0.5")}, "3000", "1500", true},
		{"market without a reference", exchange.Order{Quantity: d("0.5")}, "0", "0", false},
		{"market with a negative reference", exchange.Order{Quantity: d("0.5")}, "-1", "0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := exchange.Notional(tt.o, d(tt.ref))
			if ok != tt.wantOK || !got.Equal(d(tt.want)) {
				t.Errorf("Notional = %s, %v; want %s, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
