package binance

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// checkParseDecimal holds parseDecimal to decimal.NewFromString on every
// string parseDecimal accepts: the same coefficient and exponent.
func checkParseDecimal(t *testing.T, s string) {
	t.Helper()
	got, err := parseDecimal(s)
	if err != nil {
		return
	}
	want, werr := decimal.NewFromString(s)
	if werr != nil {
		t.Fatalf("parseDecimal(%q) accepted what NewFromString refuses: %v", s, werr)
	}
	if got.Exponent() != want.Exponent() || got.Coefficient().Cmp(want.Coefficient()) != 0 {
		t.Fatalf("parseDecimal(%q) = %se%d, NewFromString = %se%d", s,
			got.Coefficient(), got.Exponent(), want.Coefficient(), want.Exponent())
	}
}

func TestParseDecimalMatchesNewFromString(t *testing.T) {
	for _, s := range []string{"0", "1", "0.1", "0.10", "00.1", "000", "0.000", "123456789012345678",
		"1234567890123456789", "99999999999999999.9", "999999999.999999999", "9999999999.999999999",
		strings.Repeat("9", 20) + "." + strings.Repeat("9", 20), "50000.00000001"} {
		checkParseDecimal(t, s)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		var b strings.Builder
		for range 1 + rng.IntN(20) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		if rng.IntN(3) > 0 {
			b.WriteByte('.')
			for range 1 + rng.IntN(20) {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		checkParseDecimal(t, b.String())
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "0.1", "1.", ".1", "12345678901234567890.5", "1e5", "-1"} {
		f.Add(s)
	}
	f.Fuzz(checkParseDecimal)
}

// TestSchemeLookupMatchesTable checks the Scheme's remembered route against
// the route table, switching routes on every call.
func TestSchemeLookupMatchesTable(t *testing.T) {
	s := mustScheme(t, 5000)
	keys := []routeKey{{"GET", "/nope"}, {"POST", "/sapi/v1/capital/withdraw/apply"}, {"GET", "/api/v3/order?x"}}
	for k := range routes {
		keys = append(keys, k)
	}
	for range 3 {
		for i, k := range keys {
			for _, kk := range []routeKey{k, k, keys[(i+1)%len(keys)]} {
				name, spec, ok := s.lookup(kk.method, kk.path)
				wname, wspec, wok := lookup(kk.method, kk.path)
				if name != wname || ok != wok || (spec == nil) != (wspec == nil) || (spec != wspec && (spec.class != wspec.class || spec.weight != wspec.weight || spec.signed != wspec.signed || spec.kind != wspec.kind || spec.orders != wspec.orders)) {
					t.Fatalf("Scheme.lookup(%s %s) = %q %v %v, lookup = %q %v %v", kk.method, kk.path, name, spec, ok, wname, wspec, wok)
				}
			}
		}
	}
}
