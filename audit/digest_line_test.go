package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// goldenRecords are an allow record with both optional digests and a
// deny record without them, with the lines the log wrote for them when
// digests were hex strings: the binary Digest must not change a byte.
var goldenRecords = []struct {
	rec  Record
	line string
}{
	{
		Record{Seq: 7, Time: time.Date(2026, 11, 24, 16, 2, 52, 992986689, time.UTC), Credential: "bot-main", Venue: "binance", Class: "trade",
			Route: "POST /api/v3/order", Intent: "BUY LIMIT 0.01 BTCUSDT @ 50000", Decision: Allow,
			PayloadSHA256: mustParseDigest("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
			PolicySHA256:  mustParseDigest("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
			Prev:          mustParseDigest("fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210")},
		`{"seq":7,"time":"2026-11-24T16:02:52.992986689Z","credential":"bot-main","venue":"binance","class":"trade","route":"POST /api/v3/order","intent":"BUY LIMIT 0.01 BTCUSDT @ 50000","decision":"allow","payload_sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","policy_sha256":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff","prev":"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210","hash":"eb626cf112bcea0267fb1ece57d7fa9125433a00d82226b61f84d8f246a0bd82"}`,
	},
	{
		Record{Seq: 8, Time: time.Date(2026, 11, 24, 16, 2, 53, 0, time.UTC), Credential: "bot-main", Venue: "binance", Class: "withdraw",
			Decision: Deny, Rule: "class", Reason: "withdrawals are not allowed",
			Prev: mustParseDigest("fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210")},
		`{"seq":8,"time":"2026-11-24T16:02:53Z","credential":"bot-main","venue":"binance","class":"withdraw","decision":"deny","rule":"class","reason":"withdrawals are not allowed","prev":"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210","hash":"00ee19899f28e93529d3fbb3429a95662298eae0ecacc01306ad58bff5fab232"}`,
	},
}

func TestGoldenLines(t *testing.T) {
	for _, g := range goldenRecords {
		line, hash, err := g.rec.encode()
		if err != nil || string(line) != g.line {
			t.Fatalf("record %d encodes to\n%s (%v)\nwant\n%s", g.rec.Seq, line, err, g.line)
		}
		if !strings.HasSuffix(g.line, `"hash":"`+hash.String()+`"}`) {
			t.Errorf("record %d: hash %s is not the line's", g.rec.Seq, hash)
		}
		back, reason := parseLine(line)
		want := g.rec
		want.Hash = hash
		if reason != "" || back != want {
			t.Errorf("record %d: parseLine = %+v, %q; want %+v", g.rec.Seq, back, reason, want)
		}
	}
	// No payload and no policy: the keys are left out, as "" was.
	if l := goldenRecords[1].line; strings.Contains(l, "payload_sha256") || strings.Contains(l, "policy_sha256") {
		t.Errorf("zero digests written: %s", l)
	}
}

// TestLineDigestMustBeLowercaseHex edits each digest of a valid line into
// text that is not 64 lowercase hex digits: Verify must report that line.
func TestLineDigestMustBeLowercaseHex(t *testing.T) {
	g := goldenRecords[0]
	v := Verifier{After: &Anchor{Seq: 6, Hash: g.rec.Prev}}
	if _, err := v.Verify(context.Background(), strings.NewReader(g.line+"\n")); err != nil {
		t.Fatalf("the golden line does not verify: %v", err)
	}
	for _, key := range []string{"payload_sha256", "policy_sha256", "prev", "hash"} {
		i := strings.Index(g.line, `"`+key+`":"`) + len(key) + 4
		digest := g.line[i : i+64]
		for name, bad := range map[string]string{
			"uppercase": strings.ToUpper(digest),
			"short":     digest[:63],
			"long":      digest + "0",
			"non-hex":   digest[:10] + "xyz" + digest[13:],
			"empty":     "",
			"spaced":    " " + digest[1:],
		} {
			line := g.line[:i] + bad + g.line[i+64:]
			_, err := v.Verify(context.Background(), strings.NewReader(line+"\n"))
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Line != 1 || ce.Seq != 7 {
				t.Errorf("%s %s: Verify = %v, want a ChainError at line 1, seq 7", key, name, err)
				continue
			}
			if !strings.Contains(ce.Reason, "not a record") || name != "empty" && strings.Contains(ce.Reason, bad) {
				t.Errorf("%s %s: reason %q", key, name, ce.Reason)
			}
		}
	}
}

// TestNormalizeUTF8 checks every text field: valid UTF-8 beyond ASCII is
// kept as it is, invalid UTF-8 is replaced by U+FFFD, ASCII is untouched.
func TestNormalizeUTF8(t *testing.T) {
	fields := func(r *Record) map[string]*string {
		return map[string]*string{"credential": &r.Credential, "venue": &r.Venue, "class": &r.Class,
			"route": &r.Route, "intent": &r.Intent, "rule": &r.Rule, "reason": &r.Reason}
	}
	cases := []struct{ in, want string }{
		{"plain ascii text, long enough for words", "plain ascii text, long enough for words"},
		{"café ☕ 日本語 😀", "café ☕ 日本語 😀"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{"12345678\xc3", "12345678\uFFFD"},
		{"\xed\xa0\x80 surrogate", "\uFFFD surrogate"}, // one U+FFFD per run, as strings.ToValidUTF8 does
		{"", ""},
	}
	for name := range fields(&Record{}) {
		for _, c := range cases {
			r := Record{Credential: "c", Venue: "v", Class: "k", Route: "r", Intent: "i", Rule: "u", Reason: "why", Decision: Deny}
			*fields(&r)[name] = c.in
			if err := r.normalize(); err != nil {
				t.Fatal(err)
			}
			for other, p := range fields(&r) {
				want := map[string]string{"credential": "c", "venue": "v", "class": "k", "route": "r", "intent": "i", "rule": "u", "reason": "why"}[other]
				if other == name {
					want = c.want
				}
				if *p != want {
					t.Errorf("%s = %q: after normalize %s = %q, want %q", name, c.in, other, *p, want)
				}
			}
		}
	}
}

func TestHighBits(t *testing.T) {
	for n := range 20 {
		s := []byte(strings.Repeat("a", n))
		if highBits(string(s)) != 0 {
			t.Fatalf("highBits(%q) != 0", s)
		}
		for i := range s {
			s[i] = 0x80
			if highBits(string(s)) == 0 {
				t.Fatalf("highBits(%q) = 0", s)
			}
			s[i] = 'a'
		}
	}
}
