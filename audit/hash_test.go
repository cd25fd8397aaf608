package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// kaRecord is the record of the known-answer test: a zone offset,
// nanoseconds, an empty optional field, an absent (zero) digest, record
// 1's zero Prev and a text field longer than 127 bytes (a two-byte
// length).
func kaRecord() Record {
	return Record{
		Seq:        42,
		Time:       time.Date(2026, 11, 24, 17, 30, 0, 123, time.FixedZone("IST", 5*3600+30*60)),
		Credential: "bot-main", Venue: "binance", Class: "trade",
		Route:    "", // absent from the line, empty in the hash
		Intent:   "BUY LIMIT 0.01 BTCUSDT @ 50000",
		Decision: Deny, Rule: "notional",
		Reason:        strings.Repeat("r", 200),
		PayloadSHA256: Digest{},
		PolicySHA256:  mustParseDigest("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
		Prev:          Digest{},
		Hash:          fill(0x55), // not covered
	}
}

// kaHash is the hash of kaRecord, as TestHashKnownAnswer computes it by
// hand (and as Python's hashlib and struct do on the same bytes). It pins
// the definition: a change here is a new log format.
const kaHash = "36de6ff86e4cfb42cec449e82fde26addabbeec1913b10980dfd313a26c4614e"

func TestHashKnownAnswer(t *testing.T) {
	text := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	var in []byte
	in = append(in, "keyfence-audit-1"...)
	in = append(in, 0, 0, 0, 0, 0, 0, 0, 42)            // Seq
	in = append(in, 0, 0, 0, 0, 0x6b, 0x05, 0x7c, 0x40) // 1795521600: 2026-11-24T12:00:00Z
	in = append(in, 0, 0, 0, 123)                       // nanoseconds
	in = append(in, 0, 0, 0x4d, 0x58)                   // +05:30 = 19800 s
	in = append(in, text("bot-main")...)
	in = append(in, text("binance")...)
	in = append(in, text("trade")...)
	in = append(in, 0) // Route
	in = append(in, text("BUY LIMIT 0.01 BTCUSDT @ 50000")...)
	in = append(in, text("deny")...)
	in = append(in, text("notional")...)
	in = append(in, 0xc8, 0x01) // 200 as a uvarint
	in = append(in, strings.Repeat("r", 200)...)
	in = append(in, 0) // PayloadSHA256
	in = append(in, 1, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff) // PolicySHA256
	in = append(in, 1)
	in = append(in, make([]byte, 32)...) // Prev: the zero Digest, always present
	sum := sha256.Sum256(in)
	want := hex.EncodeToString(sum[:])
	if want != kaHash {
		t.Errorf("hash built by hand = %s, pinned %s", want, kaHash)
	}

	r := kaRecord()
	got, err := r.ComputeHash()
	if err != nil || got.String() != want {
		t.Fatalf("ComputeHash = %s, %v; want %s", got, err, want)
	}
	if ref, ok := refHash(r); !ok || ref.String() != want {
		t.Fatalf("refHash = %s, %v; want %s", ref, ok, want)
	}
	var buf [hashBufSize]byte
	if b, err := appendHashInput(buf[:0], &r); err != nil || string(b) != string(in) {
		t.Fatalf("hash input = %x, %v\nwant %x", b, err, in)
	}
}

// TestHashCoversEveryField changes each field in turn, including each
// part of the time and the boundaries between text fields: every change
// must give another hash. Only Hash is not covered.
func TestHashCoversEveryField(t *testing.T) {
	base := kaRecord()
	mutations := map[string]func(r *Record){
		"seq":                    func(r *Record) { r.Seq++ },
		"seconds":                func(r *Record) { r.Time = r.Time.Add(time.Second) },
		"nanoseconds":            func(r *Record) { r.Time = r.Time.Add(1) },
		"zone offset":            func(r *Record) { r.Time = r.Time.In(time.FixedZone("", -3600)) },
		"zone UTC":               func(r *Record) { r.Time = r.Time.UTC() },
		"credential":             func(r *Record) { r.Credential = "bot-maim" },
		"venue":                  func(r *Record) { r.Venue = "binancf" },
		"class":                  func(r *Record) { r.Class = "trade " },
		"route":                  func(r *Record) { r.Route = "x" },
		"intent":                 func(r *Record) { r.Intent = strings.ToLower(r.Intent) },
		"decision":               func(r *Record) { r.Decision = Allow },
		"rule":                   func(r *Record) { r.Rule = "" },
		"reason":                 func(r *Record) { r.Reason += "." },
		"payload set":            func(r *Record) { r.PayloadSHA256 = Digest{31: 1} },
		"policy bit":             func(r *Record) { r.PolicySHA256[31] ^= 1 },
		"policy first bit":       func(r *Record) { r.PolicySHA256[0] ^= 0x80 },
		"policy empty":           func(r *Record) { r.PolicySHA256 = Digest{} },
		"prev bit":               func(r *Record) { r.Prev[31] = 1 },
		"byte moved across":      func(r *Record) { r.Credential, r.Venue = "bot-mainb", "inance" },
		"text moved to next":     func(r *Record) { r.Rule, r.Reason = r.Rule+r.Reason, "" },
		"digest moved to next":   func(r *Record) { r.PolicySHA256, r.PayloadSHA256 = Digest{}, r.PolicySHA256 },
		"credential to venue":    func(r *Record) { r.Credential, r.Venue = r.Venue, r.Credential },
		"empty route and intent": func(r *Record) { r.Route, r.Intent = r.Intent, "" },
	}
	baseHash, err := base.ComputeHash()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[Digest]string{baseHash: "base"}
	for name, mutate := range mutations {
		r := base
		mutate(&r)
		h, err := r.ComputeHash()
		if err != nil {
			t.Errorf("%s: ComputeHash: %v", name, err)
			continue
		}
		if other, dup := seen[h]; dup {
			t.Errorf("%s: same hash as %s", name, other)
		}
		seen[h] = name
		if ref, ok := refHash(r); !ok || ref != h {
			t.Errorf("%s: ComputeHash = %s, definition %s", name, h, ref)
		}
	}

	r := base
	r.Hash = fill(0xff)
	if h, err := r.ComputeHash(); err != nil || h != baseHash {
		t.Errorf("ComputeHash depends on Hash: %s, %v; want %s", h, err, baseHash)
	}
}

// TestDecodeHexDigest holds decodeHexDigest to encoding/hex restricted to
// lowercase, for every byte value at every position.
func TestDecodeHexDigest(t *testing.T) {
	base := []byte(strings.Repeat("0f1e2d3c4b5a6978", 4))
	for pos := range base {
		for c := range 256 {
			s := append([]byte(nil), base...)
			s[pos] = byte(c)
			want, err := hex.DecodeString(string(s))
			wantOK := err == nil && hex.EncodeToString(want) == string(s)
			var got Digest
			ok := decodeHexDigest(&got, string(s))
			if ok != wantOK || ok && string(got[:]) != string(want) {
				t.Fatalf("decodeHexDigest(%q) = %x, %v; want %x, %v", s, got, ok, want, wantOK)
			}
		}
	}
}

// TestComputeHashAllocations checks that ComputeHash does not allocate
// for a usual record.
func TestComputeHashAllocations(t *testing.T) {
	r := benchRecord()
	if n := testing.AllocsPerRun(100, func() { _, _ = r.ComputeHash() }); n > 0 {
		t.Errorf("ComputeHash allocates %v times, want 0", n)
	}
}

func mustParseDigest(s string) Digest {
	d, err := ParseDigest(s)
	if err != nil {
		panic(err)
	}
	return d
}
