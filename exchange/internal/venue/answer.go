package venue

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

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

// OffGrid returns "" when v is a whole multiple of step, or step is not
// positive, and otherwise names the multiples on either side, with as
// many decimals as step is written with: "nearest 100.00 or 100.01". It
// is the Detail's suffix of an increment FilterError.
func OffGrid(v, step decimal.Decimal) string {
	if step.Sign() <= 0 || v.Mod(step).IsZero() {
		return ""
	}
	places := max(-step.Exponent(), 0)
	lo := v.Div(step).Floor().Mul(step)
	return fmt.Sprintf("nearest %s or %s", lo.StringFixed(places), lo.Add(step).StringFixed(places))
}
