package binance

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
)

// checkParseDecimal holds parseDecimal, without and with a cache, to
// decimal.NewFromString on every string parseDecimal accepts: the same
// coefficient and exponent.
func checkParseDecimal(t *testing.T, cache *decimalCache, s string) {
	t.Helper()
	got, err := parseDecimal(s, nil)
	cached, cerr := parseDecimal(s, cache)
	if (err == nil) != (cerr == nil) {
		t.Fatalf("parseDecimal(%q): error %v without cache, %v with", s, err, cerr)
	}
	checked, kerr := parseDecimalChecked(s, nil)
	if (err == nil) != (kerr == nil) || err != nil && err.Error() != kerr.Error() ||
		err == nil && (checked.Exponent() != got.Exponent() || checked.Coefficient().Cmp(got.Coefficient()) != 0) {
		t.Fatalf("parseDecimal(%q) = %v, %v; parseDecimalChecked = %v, %v", s, got, err, checked, kerr)
	}
	if err != nil {
		return
	}
	if cached.Exponent() != got.Exponent() || cached.Coefficient().Cmp(got.Coefficient()) != 0 {
		t.Fatalf("parseDecimal(%q) = %se%d from cache, %se%d without", s,
			cached.Coefficient(), cached.Exponent(), got.Coefficient(), got.Exponent())
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
	cache := new(decimalCache)
	for _, s := range []string{"", ".", "1.", ".1", "1..2", "1.2.3", "-1", "+1", "1e5", " 1", "1 ",
		"0", "1", "0.1", "0.10", "00.1", "000", "0.000", "123456789012345678", "12345678901234567.8", "1234567890123456789",
		"1234567890123456789", "99999999999999999.9", "999999999.999999999", "9999999999.999999999",
		strings.Repeat("9", 20) + "." + strings.Repeat("9", 20), "50000.00000001"} {
		checkParseDecimal(t, cache, s)
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
		checkParseDecimal(t, cache, b.String())
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "0.1", "1.", ".1", "12345678901234567890.5", "1e5", "-1"} {
		f.Add(s)
	}
	cache := new(decimalCache)
	f.Fuzz(func(t *testing.T, s string) { checkParseDecimal(t, cache, s) })
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

// TestDecimalCacheConcurrent has goroutines share a small set of values
// that collide in the cache's slots: every value handed out is the decimal
// asked for, and a value asked for again while in its slot is not rebuilt.
func TestDecimalCacheConcurrent(t *testing.T) {
	cache := new(decimalCache)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 20000 {
				coef, exp := rng.Int64N(3*decimalCacheSlots), -rng.Int32N(4)
				d := cache.get(coef, exp)
				if d.Exponent() != exp || !d.Coefficient().IsInt64() || d.CoefficientInt64() != coef {
					errs <- d.String()
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Fatalf("cache handed out %s for another value", s)
	}
	a, b := cache.get(12345, -2), cache.get(12345, -2)
	if a.Coefficient().Cmp(b.Coefficient()) != 0 || testing.AllocsPerRun(100, func() { _ = cache.get(12345, -2) }) != 0 {
		t.Fatal("a value asked for twice is built twice")
	}
	var none *decimalCache
	if d := none.get(5, -1); d.String() != "0.5" {
		t.Fatalf("nil cache: %s", d)
	}
}

// TestParamSetMatchesAllowList holds each route's paramSet to its
// allow-list: every name of every list, near misses and odd strings.
func TestParamSetMatchesAllowList(t *testing.T) {
	var names []string
	for _, spec := range routeTable {
		for k := range spec.params {
			names = append(names, k, k[1:], k[:len(k)-1], strings.ToUpper(k[:1])+k[1:], k+"x", "x"+k[1:])
		}
	}
	names = append(names, "", "a", strings.Repeat("s", 31), strings.Repeat("s", 32), strings.Repeat("s", 100), "symbol\x00", "\xffymbol")
	n := 0
	for _, nr := range routes {
		spec := nr.spec
		if (spec.params == nil) != (spec.allowed == nil) {
			t.Fatalf("%s: params %v, paramSet %v", nr.name, spec.params, spec.allowed)
		}
		if spec.params == nil {
			continue
		}
		for _, k := range names {
			if got, want := spec.allowed.has(k), spec.params[k]; got != want {
				t.Fatalf("%s: paramSet.has(%q) = %v, allow-list says %v", nr.name, k, got, want)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no route with an allow-list")
	}
}
