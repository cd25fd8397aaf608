package venue

import "strings"

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
