package exchange_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
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
		if got := exchange.TrimMessage(tt.in); got != tt.want {
			t.Errorf("TrimMessage(%.20q) = %.20q (len %d), want %.20q (len %d)", tt.in, got, len(got), tt.want, len(tt.want))
		}
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		header string
		set    bool
		want   time.Duration
	}{
		{"", false, 0},
		{"", true, 0},
		{"0", true, 0},
		{"7", true, 7 * time.Second},
		{" 12 ", true, 12 * time.Second},
		{"-3", true, 0},
		{"1.5", true, 0},
		{"Wed, 21 Oct 2015 07:28:00 GMT", true, 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.set {
			h.Set("Retry-After", tt.header)
		}
		if got := exchange.RetryAfter(h); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}
