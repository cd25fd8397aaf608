package limits

import (
	"math/big"
	"math/bits"

	"github.com/shopspring/decimal"
)

// unitScale is the number of decimal places of units.
const unitScale = 18

// units is a non-negative amount in 10^-18 of a quote unit, as an unsigned
// 128-bit integer. The store keeps its counters in units so that the hot
// path neither allocates nor rescales decimals. Amounts convert rounding
// up and caps rounding down, so a value finer than 10^-18 can only make a
// check stricter, never looser; values beyond 2^128-1 units saturate.
type units struct{ hi, lo uint64 }

var maxUnits = units{^uint64(0), ^uint64(0)}

var pow10u64 = [20]uint64{
	1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

func (a units) add(b units) units {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, c := bits.Add64(a.hi, b.hi, c)
	if c != 0 {
		return maxUnits
	}
	return units{hi, lo}
}

// sub returns a-b, or zero when b > a.
func (a units) sub(b units) units {
	lo, br := bits.Sub64(a.lo, b.lo, 0)
	hi, br := bits.Sub64(a.hi, b.hi, br)
	if br != 0 {
		return units{}
	}
	return units{hi, lo}
}

func (a units) cmp(b units) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

func (a units) isZero() bool { return a.hi == 0 && a.lo == 0 }

func minUnits(a, b units) units {
	if a.cmp(b) <= 0 {
		return a
	}
	return b
}

// mul10 multiplies by 10^k (k <= 19), saturating.
func (a units) mul10(k int) units {
	p := pow10u64[k]
	hh, hl := bits.Mul64(a.hi, p)
	lh, ll := bits.Mul64(a.lo, p)
	if hh != 0 {
		return maxUnits
	}
	hi, c := bits.Add64(hl, lh, 0)
	if c != 0 {
		return maxUnits
	}
	return units{hi, ll}
}

// unitsOf converts a decimal to units, rounding up when up is set and down
// otherwise. Negative values are zero.
func unitsOf(d decimal.Decimal, up bool) units {
	return numOf(d).units(up)
}

// num is a decimal with its coefficient resolved once. When ok, its value
// is c*10^e, positive with c below 10^18, which the conversions to units
// use without math/big, and d is that value or, for mulNum's products,
// unset. Otherwise d is the value. The hot path resolves each decimal of
// an order once and converts it as often as it needs.
type num struct {
	d  decimal.Decimal
	c  uint64
	e  int32
	ok bool
}

func numOf(d decimal.Decimal) num {
	// With at most 18 digits the coefficient is exact, so its sign is the
	// decimal's.
	if d.NumDigits() > 18 {
		return num{d: d}
	}
	c := d.CoefficientInt64()
	if c <= 0 {
		return num{d: d}
	}
	return num{d: d, c: uint64(c), e: d.Exponent(), ok: true}
}

// units is unitsOf(n.d, up).
func (n num) units(up bool) units {
	if !n.ok {
		if n.d.Sign() <= 0 {
			return units{}
		}
		return unitsOfBig(n.d, up)
	}
	return scaleUnits(units{lo: n.c}, int(n.e), up)
}

// unitsGreater reports whether a.units(false) > b.units(true).
func unitsGreater(a, b num) bool {
	// With one exponent from -18 to 2, both convert exactly (c < 10^18
	// times at most 10^20 stays below 2^128): compare the coefficients.
	if a.ok && b.ok && a.e == b.e && a.e >= -unitScale && a.e <= 2 {
		return a.c > b.c
	}
	return a.units(false).cmp(b.units(true)) > 0
}

// scaleUnits returns u*10^exp in units, rounding up when up is set.
func scaleUnits(u units, exp int, up bool) units {
	shift := exp + unitScale
	for shift > 0 {
		k := min(shift, 19)
		u = u.mul10(k)
		shift -= k
		if u == maxUnits {
			return u
		}
	}
	for shift < 0 {
		k := -shift
		if k > 38 {
			// u < 2^128 < 10^39 divided by 10^39 or more.
			if up && !u.isZero() {
				return units{lo: 1}
			}
			return units{}
		}
		k = min(k, 19)
		shift += k
		var r uint64
		u, r = u.div10(k)
		if r != 0 && up {
			// ceil(ceil(x/m)/n) == ceil(x/(m*n)) for positive integers.
			u = u.add(units{lo: 1})
		}
	}
	return u
}

func unitsOfBig(d decimal.Decimal, up bool) units {
	s := d.Shift(unitScale)
	if up {
		s = s.RoundCeil(0)
	} else {
		s = s.RoundFloor(0)
	}
	b := s.BigInt()
	if b.BitLen() > 128 {
		return maxUnits
	}
	lo := new(big.Int).And(b, new(big.Int).SetUint64(^uint64(0))).Uint64()
	hi := new(big.Int).Rsh(b, 64).Uint64()
	return units{hi, lo}
}

// decimal converts units back to a decimal.
func (a units) decimal() decimal.Decimal {
	b := new(big.Int).SetUint64(a.hi)
	b.Lsh(b, 64)
	b.Or(b, new(big.Int).SetUint64(a.lo))
	return decimal.NewFromBigInt(b, -unitScale)
}

// mulUnits returns a*b in units, rounding up when up is set. When both
// coefficients fit in 64 bits it does not allocate.
func mulUnits(a, b decimal.Decimal, up bool) units {
	return mulNums(numOf(a), numOf(b), up)
}

// mulNums is mulUnits(a.d, b.d, up).
func mulNums(a, b num, up bool) units {
	if !a.ok || !b.ok {
		if a.d.Sign() <= 0 || b.d.Sign() <= 0 {
			return units{}
		}
		// Both positive, so one has more than 18 digits.
		return unitsOf(a.d.Mul(b.d), up)
	}
	hi, lo := bits.Mul64(a.c, b.c)
	return scaleUnits(units{hi, lo}, int(a.e)+int(b.e), up)
}

// mulNum returns a*b as a num, exact, or a num that is not ok when the
// product's coefficient has more than 18 digits or either is not ok.
func mulNum(a, b num) num {
	if !a.ok || !b.ok {
		return num{}
	}
	hi, lo := bits.Mul64(a.c, b.c)
	e := int64(a.e) + int64(b.e)
	if hi != 0 || lo >= pow10u64[18] || e < -1<<30 || e > 1<<30 {
		return num{}
	}
	return num{c: lo, e: int32(e), ok: true}
}

// div10 divides by 10^k (k <= 19) and returns the remainder.
func (a units) div10(k int) (units, uint64) {
	d := pow10u64[k]
	qh, r := bits.Div64(0, a.hi, d)
	ql, r := bits.Div64(r, a.lo, d)
	return units{qh, ql}, r
}

// mulDec returns a*b, without math/big arithmetic when the product's
// coefficient fits in 63 bits.
func mulDec(a, b decimal.Decimal) decimal.Decimal {
	exp := int64(a.Exponent()) + int64(b.Exponent())
	if a.NumDigits()+b.NumDigits() <= 18 && exp >= -1<<30 && exp <= 1<<30 {
		return decimal.New(a.CoefficientInt64()*b.CoefficientInt64(), int32(exp))
	}
	return a.Mul(b)
}

// numGreater reports whether a > b, exactly, for positive a and b whose
// d is set (numOf's, not mulNum's).
func numGreater(a, b num) bool {
	if !a.ok || !b.ok {
		return a.d.GreaterThan(b.d)
	}
	// c*10^e against c'*10^e': scale the one with the larger exponent
	// down to the other's. Saturation happens only above 2^128-1, which
	// is above any coefficient (below 10^18).
	if a.e >= b.e {
		return scaleExact(a.c, int(a.e)-int(b.e)).cmp(units{lo: b.c}) > 0
	}
	return units{lo: a.c}.cmp(scaleExact(b.c, int(b.e)-int(a.e))) > 0
}

// scaleExact returns c*10^k for k >= 0, saturating at maxUnits.
func scaleExact(c uint64, k int) units {
	u := units{lo: c}
	for k > 0 && u != maxUnits {
		step := min(k, 19)
		u = u.mul10(step)
		k -= step
	}
	return u
}
