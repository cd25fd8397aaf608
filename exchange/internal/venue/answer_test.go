package venue_test

import (
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange/internal/venue"
	"github.com/shopspring/decimal"
)

func TestTrimMessage(t *testing.T) {
	long := strings.Repeat("x", 301)
	tests := []struct{ in, want string }{
		{"", ""},
		{"Filter failure: LOT_SIZE", "Filter failure: LOT_SIZE"},
		{"first\nsecond", "first"},
		{"first\r\nsecond", "first"},
		{"\nall hidden", ""},
		{long[:300], long[:300]},
		{long, long[:300] + "..."},
		{long + "\nmore", long[:300] + "..."},
	}
	for _, tt := range tests {
		if got := venue.TrimMessage(tt.in); got != tt.want {
			t.Errorf("TrimMessage(%.20q) = %.20q (len %d), want %.20q (len %d)", tt.in, got, len(got), tt.want, len(tt.want))
		}
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
