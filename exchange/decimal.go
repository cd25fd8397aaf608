package exchange

import (
	"strconv"

	"github.com/shopspring/decimal"
)

// appendDecimal appends d as d.String() formats it. Decimals with a
// coefficient of at most 18 digits and an exponent in -40..0 are formatted
// here without math/big; others by d.String().
func appendDecimal(dst []byte, d decimal.Decimal) []byte {
	exp := d.Exponent()
	if exp > 0 || exp < -40 || d.NumDigits() > 18 {
		return append(dst, d.String()...)
	}
	c := d.CoefficientInt64()
	if exp == 0 {
		return strconv.AppendInt(dst, c, 10)
	}
	if c < 0 {
		dst = append(dst, '-')
		c = -c // at most 18 digits: no overflow
	}
	var digits [20]byte
	str := strconv.AppendUint(digits[:0], uint64(c), 10)
	scale := int(-exp)
	var intPart, frac []byte
	zeros := 0
	if len(str) > scale {
		intPart, frac = str[:len(str)-scale], str[len(str)-scale:]
	} else {
		intPart, frac, zeros = []byte{'0'}, str, scale-len(str)
	}
	if decimal.TrimTrailingZeros {
		i := len(frac)
		for i > 0 && frac[i-1] == '0' {
			i--
		}
		frac = frac[:i]
		if len(frac) == 0 {
			zeros = 0
		}
	}
	dst = append(dst, intPart...)
	if zeros+len(frac) > 0 {
		dst = append(dst, '.')
		for range zeros {
			dst = append(dst, '0')
		}
		dst = append(dst, frac...)
	}
	return dst
}
