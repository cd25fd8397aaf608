package venue_test

import (
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange/internal/venue"
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
