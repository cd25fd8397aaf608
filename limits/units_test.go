package limits

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

func TestUnitsConversion(t *testing.T) {
	tests := []struct {
		in       string
		up, down string
	}{
		{"0", "0", "0"},
		{"-5", "0", "0"},
		{"1", "1", "1"},
		{"500", "500", "500"},
		{"0.000000000000000001", "0.000000000000000001", "0.000000000000000001"},
		{"0.0000000000000000001", "0.000000000000000001", "0"},
		{"1.0000000000000000001", "1.000000000000000001", "1"},
		{"499.99999999999999999999999999999999999992", "500", "499.999999999999999999"},
		{"12345678901234567890.123456789", "12345678901234567890.123456789", "12345678901234567890.123456789"},
		{"1e40", "340282366920938463463.374607431768211455", "340282366920938463463.374607431768211455"},
		{"1e19", "10000000000000000000", "10000000000000000000"},
	}
	for _, tc := range tests {
		d := decimal.RequireFromString(tc.in)
		if got := unitsOf(d, true).decimal(); !got.Equal(decimal.RequireFromString(tc.up)) {
			t.Errorf("up(%s) = %s, want %s", tc.in, got, tc.up)
		}
		if got := unitsOf(d, false).decimal(); !got.Equal(decimal.RequireFromString(tc.down)) {
			t.Errorf("down(%s) = %s, want %s", tc.in, got, tc.down)
		}
	}
}

func TestUnitsArithmeticMatchesDecimal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func() decimal.Decimal {
		return decimal.New(r.Int64N(1<<62), -int32(r.IntN(19)))
	}
	for range 10000 {
		a, b := rnd(), rnd()
		ua, ub := unitsOf(a, true), unitsOf(b, true)
		if got := ua.add(ub).decimal(); !got.Equal(a.Add(b)) {
			t.Fatalf("%s + %s = %s", a, b, got)
		}
		if ua.cmp(ub) != a.Cmp(b) {
			t.Fatalf("cmp(%s, %s) = %d", a, b, ua.cmp(ub))
		}
		hi, lo := a, b
		if hi.LessThan(lo) {
			hi, lo = lo, hi
		}
		if got := unitsOf(hi, true).sub(unitsOf(lo, true)).decimal(); !got.Equal(hi.Sub(lo)) {
			t.Fatalf("%s - %s = %s", hi, lo, got)
		}
	}
	if !(units{lo: 1}).sub(units{lo: 2}).isZero() {
		t.Fatal("sub below zero")
	}
	if maxUnits.add(units{lo: 1}) != maxUnits {
		t.Fatal("add does not saturate")
	}
}

func TestMulUnits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		a := decimal.New(r.Int64N(1<<40), -int32(r.IntN(12)))
		b := decimal.New(r.Int64N(1<<40), -int32(r.IntN(12)))
		if r.IntN(10) == 0 {
			b = decimal.New(r.Int64N(1<<62), -int32(r.IntN(30)))
		}
		p := a.Mul(b)
		for _, up := range []bool{true, false} {
			if got, want := mulUnits(a, b, up), unitsOf(p, up); got != want {
				t.Fatalf("mulUnits(%s, %s, %v) = %s, want %s", a, b, up, got.decimal(), want.decimal())
			}
		}
	}
}

func TestMulDec(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		a := decimal.New(r.Int64N(1<<40)-1<<39, -int32(r.IntN(12)))
		b := decimal.New(r.Int64N(1<<30)-1<<29, int32(r.IntN(24))-12)
		if got, want := mulDec(a, b), a.Mul(b); !got.Equal(want) {
			t.Fatalf("mulDec(%s, %s) = %s, want %s", a, b, got, want)
		}
	}
}

// TestNumMatchesDecimal checks the conversions of resolved coefficients
// against math/big: unitsOf against unitsOfBig, mulNums against the
// decimal product, and mulNum against mulDec.
func TestNumMatchesDecimal(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	rnd := func() decimal.Decimal {
		switch r.IntN(8) {
		case 0:
			return decimal.New(r.Int64N(1<<62)-1<<61, int32(r.IntN(80))-60)
		case 1:
			return decimal.New(r.Int64N(1000), -int32(r.IntN(60)))
		}
		return decimal.New(r.Int64N(1<<40), int32(r.IntN(30))-20)
	}
	for range 20000 {
		a, b := rnd(), rnd()
		for _, up := range []bool{true, false} {
			want := units{}
			if a.IsPositive() {
				want = unitsOfBig(a, up)
			}
			if got := unitsOf(a, up); got != want {
				t.Fatalf("unitsOf(%s, %v) = %s, want %s", a, up, got.decimal(), want.decimal())
			}
			want = units{}
			if a.IsPositive() && b.IsPositive() {
				want = unitsOfBig(a.Mul(b), up)
			}
			if got := mulNums(numOf(a), numOf(b), up); got != want {
				t.Fatalf("mulNums(%s, %s, %v) = %s, want %s", a, b, up, got.decimal(), want.decimal())
			}
		}
		if p := mulNum(numOf(a), numOf(b)); p.ok {
			if got, want := decimal.New(int64(p.c), p.e), mulDec(a, b); !got.Equal(want) {
				t.Fatalf("mulNum(%s, %s) = %s, want %s", a, b, got, want)
			}
		} else if numOf(a).ok && numOf(b).ok && a.Mul(b).NumDigits() <= 18 && a.Exponent() > -1<<29 && b.Exponent() > -1<<29 {
			t.Fatalf("mulNum(%s, %s) not resolved", a, b)
		}
	}
}

func TestUnitsGreater(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 20000 {
		e := int32(r.IntN(30)) - 24
		a := decimal.New(r.Int64N(1e6), e)
		b := decimal.New(r.Int64N(1e6), e)
		if r.IntN(4) == 0 {
			b = decimal.New(r.Int64N(1e17), int32(r.IntN(30))-24)
		}
		want := unitsOf(a, false).cmp(unitsOf(b, true)) > 0
		if got := unitsGreater(numOf(a), numOf(b)); got != want {
			t.Fatalf("unitsGreater(%s, %s) = %v, want %v", a, b, got, want)
		}
	}
}
