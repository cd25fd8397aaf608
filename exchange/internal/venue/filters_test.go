package venue_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/internal/venue"
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
			got, ok := venue.Notional(tt.o, d(tt.ref))
			if ok != tt.wantOK || !got.Equal(d(tt.want)) {
				t.Errorf("Notional = %s, %v; want %s, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestOffGrid(t *testing.T) {
	d := decimal.RequireFromString
	tests := []struct {
		v, step, want string
	}{
		{"100.01", "0.01", ""},
		{"100", "0.01", ""},
		{"0", "0.01", ""},
		{"100.005", "0.01", "nearest 100.00 or 100.01"},
		{"100.005", "0.0100", "nearest 100.0000 or 100.0100"}, // written decimals
		{"7", "5", "nearest 5 or 10"},
		{"12", "10", "nearest 10 or 20"},
		{"0.123", "0.1", "nearest 0.1 or 0.2"},
		{"1.5", "0", ""},  // no rule
		{"1.5", "-1", ""}, // no rule
		{"-0.15", "0.1", "nearest -0.2 or -0.1"},
	}
	for _, tt := range tests {
		if got := venue.OffGrid(d(tt.v), d(tt.step)); got != tt.want {
			t.Errorf("OffGrid(%s, %s) = %q, want %q", tt.v, tt.step, got, tt.want)
		}
	}
}

func TestMarketReference(t *testing.T) {
	d := decimal.RequireFromString
	prices := staticPrices{"BTCUSDT": {Symbol: "BTCUSDT", Bid: d("49990"), Ask: d("50000"), At: testNow}} // bid 49990, ask 50000
	tests := []struct {
		name string
		o    exchange.Order
		want string
	}{
		{"market by quantity", exchange.Order{Symbol: "BTCUSDT", Type: exchange.Market, Quantity: d("1")}, "49995"},
		{"market by quote", exchange.Order{Symbol: "BTCUSDT", Type: exchange.Market, QuoteQuantity: d("10")}, "0"},
		{"limit", exchange.Order{Symbol: "BTCUSDT", Type: exchange.Limit, Quantity: d("1"), Price: d("1")}, "0"},
		{"no quote", exchange.Order{Symbol: "ETHUSDT", Type: exchange.Market, Quantity: d("1")}, "0"},
	}
	for _, tt := range tests {
		if got := venue.MarketReference(context.Background(), prices, tt.o); !got.Equal(d(tt.want)) {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	if got := venue.MarketReference(context.Background(), nil, tests[0].o); !got.IsZero() {
		t.Errorf("nil source: %s", got)
	}
}

type staticPrices map[string]exchange.Quote

func (p staticPrices) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	q, ok := p[symbol]
	if !ok {
		return exchange.Quote{}, errors.New("no ticker for " + symbol)
	}
	return q, nil
}
