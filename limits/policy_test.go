package limits

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

func TestLoadPolicyExample(t *testing.T) {
	p, err := LoadPolicy("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := p.Credentials["binance-main"]
	if c == nil || c.Venue != "binance" || c.MaxOpenOrders != 20 || !c.PriceBand.Decimal.Equal(dec("0.02")) || c.ReferenceMaxAge != 5*time.Second {
		t.Fatalf("credential %+v", c)
	}
	if btc := c.Symbols["BTCUSDT"]; btc.Quote != "USDT" || !btc.MaxOrderNotional.Decimal.Equal(dec("500")) || !btc.MaxDailyNotional.Decimal.Equal(dec("5000")) {
		t.Fatalf("BTCUSDT %+v", btc)
	}
	if eth := c.Symbols["ETHUSDT"]; eth.Quote != "USDT" || eth.MaxOrderNotional.Valid {
		t.Fatalf("ETHUSDT %+v", eth)
	}
	if !c.AllowsClass(exchange.ClassTrade) || c.AllowsClass(exchange.ClassWithdraw) || !c.AllowsClass(exchange.ClassPublic) {
		t.Fatal("classes")
	}
	ro := p.Credentials["coinbase-ro"]
	if ro.AllowsClass(exchange.ClassTrade) || !ro.AllowsClass(exchange.ClassRead) {
		t.Fatalf("coinbase-ro allow %v", ro.Allow)
	}
	if *p.KillSwitch.MaxConsecutiveRejections != 5 || *p.KillSwitch.MaxDenials != 20 || p.KillSwitch.DenialWindow != time.Minute {
		t.Fatalf("kill switch %+v", p.KillSwitch)
	}
}

// TestDocExampleParses keeps the policy example in the package doc valid.
func TestDocExampleParses(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var y strings.Builder
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "//\tversion: 1") {
			in = true
		}
		if in && !strings.HasPrefix(line, "//\t") && line != "//" {
			break
		}
		if in {
			y.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "//"), "\t") + "\n")
		}
	}
	p, err := ParsePolicy([]byte(y.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, y.String())
	}
	if q := p.Credentials["binance-main"].Symbols["BTC-EUR"].Quote; q != "EUR" {
		t.Fatalf("BTC-EUR quote %q", q)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	const head = "version: 1\ncredentials:\n  c:\n    venue: binance\n"
	const trading = head + "    order_types: [LIMIT]\n    max_open_orders: 1\n    price_band: 1%\n"
	tests := []struct {
		name  string
		yaml  string
		line  int
		field string
		msg   string
	}{
		{"empty", "", 0, "", "empty policy"},
		{"not yaml", "version: [1\n", 1, "", "not valid YAML"},
		{"missing version", "credentials: {c: {venue: x}}\n", 1, "version", "missing"},
		{"wrong version", "version: 2\ncredentials: {c: {venue: x}}\n", 1, "version", "not supported"},
		{"version not a number", "version: one\n", 1, "version", "whole number"},
		{"unknown top field", "version: 1\nlimits: {}\n", 2, "limits", "unknown field"},
		{"unknown credential field", head + "    venu: x\n", 5, "credentials.c.venu", "unknown field \"venu\""},
		{"duplicate key", head + "    venue: kucoin\n", 5, "credentials.c.venue", "duplicate key"},
		{"no credentials", "version: 1\n", 0, "credentials", "no credentials"},
		{"missing venue", "version: 1\ncredentials:\n  c: {allow: [read]}\n", 3, "credentials.c.venue", "missing"},
		{"unknown class", head + "    allow: [read, withdrawl]\n", 5, "credentials.c.allow", "unknown class \"withdrawl\""},
		{"unknown order type", head + "    order_types: [LIMIT, ICEBERG]\n", 5, "credentials.c.order_types", "unknown order type \"ICEBERG\""},
		{"lowercase order type", head + "    order_types: [limit]\n", 5, "credentials.c.order_types", "unknown order type"},
		{"bad decimal", trading + "    quotes:\n      USDT: {max_order_notional: 1O0}\n", 9, "credentials.c.quotes.USDT.max_order_notional", "bad decimal"},
		{"exponent refused", trading + "    quotes:\n      USDT: {max_order_notional: 1e3}\n", 9, "credentials.c.quotes.USDT.max_order_notional", "bad decimal"},
		{"negative cap", trading + "    quotes:\n      USDT:\n        max_daily_notional: \"-5\"\n", 10, "credentials.c.quotes.USDT.max_daily_notional", "negative cap"},
		{"percent cap", trading + "    quotes:\n      USDT: {max_daily_notional: 5%}\n", 9, "credentials.c.quotes.USDT.max_daily_notional", "not a percentage"},
		{"bool cap", trading + "    quotes:\n      USDT: {max_daily_notional: true}\n", 9, "credentials.c.quotes.USDT.max_daily_notional", "expected a decimal"},
		{"band 100%", head + "    price_band: 100%\n", 5, "credentials.c.price_band", "below 100%"},
		{"band negative", head + "    price_band: -0.01\n", 5, "credentials.c.price_band", "below 100%"},
		{"bad duration", head + "    reference_max_age: 5 seconds\n", 5, "credentials.c.reference_max_age", "duration"},
		{"duration as number", head + "    reference_max_age: 5\n", 5, "credentials.c.reference_max_age", "duration"},
		{"negative duration", "version: 1\nkill_switch:\n  denial_window: -1m\n", 3, "kill_switch.denial_window", "positive duration"},
		{"zero max age", head + "    reference_max_age: 0s\n", 5, "credentials.c.reference_max_age", "positive duration"},
		{"negative count", head + "    max_open_orders: -1\n", 5, "credentials.c.max_open_orders", "negative"},
		{"negative kill count", "version: 1\nkill_switch:\n  max_denials: -3\n", 3, "kill_switch.max_denials", "negative"},
		{"bad bool", head + "    accept_key_risks: {withdraw: yes}\n", 5, "credentials.c.accept_key_risks.withdraw", "true or false"},
		{"unknown risk", head + "    accept_key_risks: {everything: true}\n", 5, "credentials.c.accept_key_risks.everything", "unknown field"},
		{"uncapped symbol", trading + "    symbols:\n      PUMPBTC: {}\n", 9, "credentials.c.symbols.PUMPBTC", "no per-order notional cap"},
		{"no daily cap", trading + "    quotes:\n      USDT: {max_order_notional: 10}\n    symbols:\n      BTCUSDT: {}\n", 11, "credentials.c.symbols.BTCUSDT", "no daily notional cap"},
		{"trading without band", head + "    order_types: [LIMIT]\n    max_open_orders: 1\n    symbols:\n      X: {max_order_notional: 1, max_daily_notional: 1}\n", 3, "credentials.c.price_band", "missing"},
		{"trading without types", head + "    max_open_orders: 1\n    price_band: 1%\n    symbols:\n      X: {max_order_notional: 1, max_daily_notional: 1}\n", 3, "credentials.c.order_types", "missing"},
		{"trading without open orders", head + "    order_types: [LIMIT]\n    price_band: 1%\n    symbols:\n      X: {max_order_notional: 1, max_daily_notional: 1}\n", 3, "credentials.c.max_open_orders", "missing"},
		{"anchor", "version: 1\ncredentials:\n  c: &a {venue: x}\n  d: *a\n", 3, "credentials.c", "anchors"},
		{"merge key", "version: 1\ncredentials:\n  c:\n    <<: {venue: x}\n", 4, "credentials.c", "merge"},
		{"two documents", "version: 1\ncredentials: {c: {venue: x}}\n---\nversion: 1\n", 3, "", "more than one"},
		{"list instead of mapping", "version: 1\ncredentials: [a, b]\n", 2, "credentials", "expected a mapping"},
		{"scalar instead of list", head + "    allow: read\n", 5, "credentials.c.allow", "expected a list"},
		{"empty venue", "version: 1\ncredentials:\n  c: {venue: \"\"}\n", 3, "credentials.c.venue", "non-empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tc.yaml))
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("err = %v, want ErrInvalidPolicy", err)
			}
			// Every problem is reported (PolicyErrors); the one this
			// case is about must be among them, each on one line.
			all := policyErrors(err)
			if len(all) == 0 {
				t.Fatalf("err = %v, want *PolicyError", err)
			}
			found := false
			for _, pe := range all {
				if strings.Contains(pe.Error(), "\n") {
					t.Errorf("multi-line error %q", pe)
				}
				if pe.Line == tc.line && pe.Field == tc.field && strings.Contains(pe.Msg, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("got %q; want line %d field %q msg containing %q", err, tc.line, tc.field, tc.msg)
			}
		})
	}
}

func TestEmptyAllowIsPublicOnly(t *testing.T) {
	p, err := ParsePolicy([]byte("version: 1\ncredentials:\n  c: {venue: x, allow: []}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Credentials["c"]
	for _, cl := range exchange.Classes() {
		if c.AllowsClass(cl) != (cl == exchange.ClassPublic) {
			t.Errorf("allow: [] and class %s: %v", cl, c.AllowsClass(cl))
		}
	}
	var b bytes.Buffer
	p.WriteText(&b)
	p2, err := ParsePolicy(b.Bytes())
	if err != nil || p2.Credentials["c"].AllowsClass(exchange.ClassRead) {
		t.Fatalf("round trip of allow: []: %v\n%s", err, b.String())
	}
}

func TestParsePolicyDecimals(t *testing.T) {
	y := `version: 1
credentials:
  c:
    venue: v
    order_types: [LIMIT]
    max_open_orders: 1
    price_band: 0.015
    quotes:
      USDT: {max_order_notional: 0.1000000000000000055511151231257827, max_daily_notional: "12345678901234567890.123456789"}
      USD: {max_order_notional: 7, max_daily_notional: 7}
      BUSD: {max_order_notional: 9, max_daily_notional: 9}
    symbols:
      BTCUSDT: {}
      ETHBUSD: {}
      SOL-USD: {}
      XBTUSD: {quote: BUSD}
`
	p, err := ParsePolicy([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Credentials["c"]
	if got := c.Quotes["USDT"].MaxOrderNotional.Decimal.String(); got != "0.1000000000000000055511151231257827" {
		t.Fatalf("number parsed through float: %s", got)
	}
	if got := c.Quotes["USDT"].MaxDailyNotional.Decimal.String(); got != "12345678901234567890.123456789" {
		t.Fatalf("string decimal: %s", got)
	}
	if !c.PriceBand.Decimal.Equal(dec("0.015")) {
		t.Fatal("band")
	}
	for sym, q := range map[string]string{"BTCUSDT": "USDT", "ETHBUSD": "BUSD", "SOL-USD": "USD", "XBTUSD": "BUSD"} {
		if got := c.Symbols[sym].Quote; got != q {
			t.Errorf("%s quote %q, want %q", sym, got, q)
		}
	}
}

func TestPolicyTextRoundTripAndHash(t *testing.T) {
	p, err := LoadPolicy("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"price_band: \"0.02\"  # 2%", "BTCUSDT: {quote: USDT, max_order_notional: \"500\"", "per order <= 500 USDT (symbol) and 1000 USDT (quote)", "allow: [read]"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	p2, err := ParsePolicy(b.Bytes())
	if err != nil {
		t.Fatalf("effective text does not parse: %v\n%s", err, b.String())
	}
	if p.Hash() != p2.Hash() || len(p.Hash()) != 64 {
		t.Fatalf("hash changed over a round trip: %s %s", p.Hash(), p2.Hash())
	}
	// Formatting does not change the hash; a limit does.
	src, _ := os.ReadFile("testdata/policy.yaml")
	p3, err := ParsePolicy([]byte(strings.ReplaceAll(string(src), `"2%"`, `0.020`)))
	if err != nil {
		t.Fatal(err)
	}
	if p3.Hash() != p.Hash() {
		t.Fatal("same policy, different hash")
	}
	p4, err := ParsePolicy([]byte(strings.Replace(string(src), `"500"`, `"501"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if p4.Hash() == p.Hash() {
		t.Fatal("different policy, same hash")
	}
}

func TestPolicyBuiltInGo(t *testing.T) {
	p := &Policy{Version: 1, Credentials: map[string]*CredentialPolicy{
		"k": {Venue: "binance", OrderTypes: []exchange.OrderType{exchange.Limit}, MaxOpenOrders: 1,
			Symbols: map[string]SymbolPolicy{"BTCUSDT": {Caps: Caps{MaxOrderNotional: nullDec("1"), MaxDailyNotional: nullDec("1")}}}},
	}}
	_, err := NewGuard(p, NewMemoryStore())
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Field != "credentials.k.price_band" || pe.Line != 0 {
		t.Fatalf("err = %v", err)
	}
	p.Credentials["k"].PriceBand = nullDec("0.01")
	if _, err := NewGuard(p, NewMemoryStore()); err != nil {
		t.Fatal(err)
	}
}

func FuzzParsePolicy(f *testing.F) {
	if b, err := os.ReadFile("testdata/policy.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(testPolicy))
	f.Add([]byte("version: 1\ncredentials:\n  c: &a {venue: x}\n  d: *a\n"))
	f.Add([]byte("version: 1\ncredentials: {c: {venue: x, price_band: 2%, quotes: {U: {max_order_notional: 1}}}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *PolicyError: %v", err)
			}
			return
		}
		var out bytes.Buffer
		if err := p.WriteText(&out); err != nil {
			t.Fatalf("valid policy does not print: %v", err)
		}
		p2, err := ParsePolicy(out.Bytes())
		if err != nil {
			t.Fatalf("effective text does not parse: %v\n%s", err, out.String())
		}
		if p.Hash() != p2.Hash() {
			t.Fatalf("hash changed over a round trip\n%s", out.String())
		}
	})
}

// policyErrors returns every *PolicyError in err.
func policyErrors(err error) []*PolicyError {
	var many PolicyErrors
	if errors.As(err, &many) {
		return many
	}
	var one *PolicyError
	if errors.As(err, &one) {
		return []*PolicyError{one}
	}
	return nil
}

// TestParsePolicyReportsEveryError: a policy with several independent
// mistakes gets all of them in one answer, in the order of the file, and
// a value that failed to parse is not also reported missing.
func TestParsePolicyReportsEveryError(t *testing.T) {
	const y = `version: 1
credentials:
  c:
    venue: binance
    venu: typo
    order_types: [LIMIT, ICEBERG]
    max_open_orders: 3
    price_band: 150%
    quotes:
      USDT: {max_order_notional: 1O0, max_daily_notional: 1000}
    symbols:
      BTCUSDT: {}
`
	_, err := ParsePolicy([]byte(y))
	all := policyErrors(err)
	var got []string
	for _, pe := range all {
		got = append(got, fmt.Sprintf("%d %s", pe.Line, pe.Field))
	}
	want := []string{
		"5 credentials.c.venu",
		"6 credentials.c.order_types",
		"8 credentials.c.price_band",
		"10 credentials.c.quotes.USDT.max_order_notional",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("problems %q\nwant %q\nerror: %v", got, want, err)
	}
	if !errors.Is(err, ErrInvalidPolicy) {
		t.Fatal("not ErrInvalidPolicy")
	}
}

// TestParsePolicyKnownVenues: with KnownVenues a misspelt venue is an
// error that lists the venues there are.
func TestParsePolicyKnownVenues(t *testing.T) {
	y := []byte("version: 1\ncredentials:\n  c: {venue: binanse, allow: [read]}\n")
	if _, err := ParsePolicy(y); err != nil {
		t.Fatalf("without KnownVenues: %v", err)
	}
	_, err := ParsePolicy(y, KnownVenues("kucoin", "binance"))
	all := policyErrors(err)
	if len(all) != 1 || all[0].Line != 3 || all[0].Field != "credentials.c.venue" || !strings.Contains(all[0].Msg, `unknown venue "binanse"; use one of binance, kucoin`) {
		t.Fatalf("err = %v", err)
	}
}
