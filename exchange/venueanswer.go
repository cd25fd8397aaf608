package exchange

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// What the venue clients read alike from the venues' answers.

// maxMessage is how much of a venue's message TrimMessage keeps.
const maxMessage = 300

// TrimMessage returns the first line of a venue's error message, cut to
// 300 bytes (marked "..."), so that an APIError stays one short line
// whatever the venue sent.
func TrimMessage(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > maxMessage {
		s = s[:maxMessage] + "..."
	}
	return s
}

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
