package exchange

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// slowEncode is the definition of Params.Encode: url.QueryEscape of each
// key and value.
func slowEncode(p Params) string {
	var b strings.Builder
	for i, kv := range p {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv.Key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv.Value))
	}
	return b.String()
}

var oddParamStrings = []string{"", "plain", "a b", "a+b", "50%", "x=y&z", "~-._", "é", "日本", "\x00\x7f\xff",
	"!*'();:@&=+$,/?#[]", "<script>", strings.Repeat("long value ", 40)}

func TestParamsEncodeMatchesQueryEscape(t *testing.T) {
	for _, k := range oddParamStrings {
		for _, v := range oddParamStrings {
			p := Params{{"symbol", "LTCBTC"}, {k, v}, {v, k}}
			if got, want := p.Encode(), slowEncode(p); got != want {
				t.Fatalf("Encode(%q) = %q, want %q", p, got, want)
			}
			if got, want := string(p.AppendEncoded([]byte("x"))), "x"+slowEncode(p); got != want {
				t.Fatalf("AppendEncoded(%q) = %q, want %q", p, got, want)
			}
		}
	}
	for c := range 256 {
		p := Params{{string(rune(c)), string([]byte{byte(c)})}}
		if got, want := p.Encode(), slowEncode(p); got != want {
			t.Fatalf("byte %#x: Encode = %q, want %q", c, got, want)
		}
	}
	if got := Params(nil).Encode(); got != "" {
		t.Fatalf("Encode(nil) = %q", got)
	}
}

func FuzzParamsEncode(f *testing.F) {
	for _, s := range oddParamStrings {
		f.Add(s, "v")
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		p := Params{{k, v}, {v, k}}
		if got, want := p.Encode(), slowEncode(p); got != want {
			t.Fatalf("Encode(%q) = %q, want %q", p, got, want)
		}
	})
}

func checkDecimal(t *testing.T, d decimal.Decimal) {
	t.Helper()
	if got, want := string(appendDecimal([]byte("x"), d)), "x"+d.String(); got != want {
		t.Fatalf("appendDecimal(coef %s, exp %d) = %q, want %q", d.Coefficient(), d.Exponent(), got, want)
	}
}

func TestAppendDecimalMatchesString(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "0.1", "0.10", "-0.1", "100", "1e3", "1.5e2", "0.000", "-0.000001",
		"123456789012345678", "1234567890123456789", "-999999999999999999", "0.000000000000000000000000000000000000001",
		"1e-41", "12345678901234567890.5", "50000", "0.00000001", "1.23400", "120.000", "99999999999999999.9"} {
		checkDecimal(t, decimal.RequireFromString(s))
	}
	checkDecimal(t, decimal.Decimal{})
	checkDecimal(t, decimal.New(-9223372036854775807, -3))
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		c := rng.Int64N(1 << rng.IntN(63))
		if rng.IntN(2) == 0 {
			c = -c
		}
		checkDecimal(t, decimal.New(c, int32(rng.IntN(50)-45)))
	}
}

func TestAppendDecimalFollowsTrimTrailingZeros(t *testing.T) {
	defer func(v bool) { decimal.TrimTrailingZeros = v }(decimal.TrimTrailingZeros)
	decimal.TrimTrailingZeros = false
	for _, d := range []decimal.Decimal{decimal.New(10, -2), decimal.New(0, -3), decimal.New(-1500, -2), decimal.New(7, -5)} {
		checkDecimal(t, d)
	}
}

func FuzzAppendDecimal(f *testing.F) {
	f.Add(int64(1), int32(-1))
	f.Add(int64(-100), int32(-2))
	f.Fuzz(func(t *testing.T, c int64, exp int32) {
		checkDecimal(t, decimal.New(c, exp%60))
	})
}

func TestOrderStringFastPath(t *testing.T) {
	o := Order{Symbol: "LTCBTC", Side: Buy, Type: Limit, TimeInForce: GTC,
		Price: decimal.RequireFromString("0.10"), Quantity: decimal.RequireFromString("1.500")}
	if got, want := o.String(), "BUY LIMIT 1.5 LTCBTC @ 0.1 GTC"; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
	in := Intent{Route: Route{Name: "POST /api/v3/order"}, Test: true, Orders: []Order{o, o}}
	if got, want := in.String(), "POST /api/v3/order (test): "+o.String()+"; "+o.String(); got != want {
		t.Fatalf("Intent.String = %q, want %q", got, want)
	}
}
