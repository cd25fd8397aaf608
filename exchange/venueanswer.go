package exchange

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// What the venue clients read alike from the venues' answers.

// RetryAfter reads an answer's Retry-After header in whole seconds. It is
// zero when the header is missing, not a number of seconds, or negative.
func RetryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
