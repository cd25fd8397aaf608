package exchange_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

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
