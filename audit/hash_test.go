package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// kaRecord is the record of the known-answer test: a zone offset,
// nanoseconds, an empty optional field, an empty digest and a text field
// longer than 127 bytes (a two-byte length).
func kaRecord() Record {
	return Record{
		Seq:        42,
		Time:       time.Date(2026, 11, 24, 17, 30, 0, 123, time.FixedZone("IST", 5*3600+30*60)),
		Credential: "bot-main", Venue: "binance", Class: "trade",
		Route:    "", // absent from the line, empty in the hash
		Intent:   "BUY LIMIT 0.01 BTCUSDT @ 50000",
		Decision: Deny, Rule: "notional",
		Reason:        strings.Repeat("r", 200),
		PayloadSHA256: "",
		PolicySHA256:  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		Prev:          ZeroHash,
		Hash:          "not covered",
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
	in = append(in, make([]byte, 32)...) // Prev: ZeroHash
	sum := sha256.Sum256(in)
	want := hex.EncodeToString(sum[:])
	if want != kaHash {
		t.Errorf("hash built by hand = %s, pinned %s", want, kaHash)
	}

	r := kaRecord()
	got, err := r.ComputeHash()
	if err != nil || got != want {
		t.Fatalf("ComputeHash = %s, %v; want %s", got, err, want)
	}
	if ref, ok := refHash(r); !ok || ref != want {
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
		"payload set":            func(r *Record) { r.PayloadSHA256 = ZeroHash },
		"policy digit":           func(r *Record) { r.PolicySHA256 = r.PolicySHA256[:63] + "e" },
		"policy empty":           func(r *Record) { r.PolicySHA256 = "" },
		"prev digit":             func(r *Record) { r.Prev = ZeroHash[:63] + "1" },
		"prev empty":             func(r *Record) { r.Prev = "" },
		"byte moved across":      func(r *Record) { r.Credential, r.Venue = "bot-mainb", "inance" },
		"text moved to next":     func(r *Record) { r.Rule, r.Reason = r.Rule+r.Reason, "" },
		"digest moved to next":   func(r *Record) { r.PolicySHA256, r.PayloadSHA256 = "", r.PolicySHA256 },
		"credential to venue":    func(r *Record) { r.Credential, r.Venue = r.Venue, r.Credential },
		"empty route and intent": func(r *Record) { r.Route, r.Intent = r.Intent, "" },
	}
	baseHash, err := base.ComputeHash()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{baseHash: "base"}
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
	r.Hash = strings.Repeat("f", 64)
	if h, err := r.ComputeHash(); err != nil || h != baseHash {
		t.Errorf("ComputeHash depends on Hash: %s, %v; want %s", h, err, baseHash)
	}
}

// TestHashRefusesBadDigests checks that a digest field is empty or exactly
// 64 lowercase hex digits, and that the error does not quote it.
func TestHashRefusesBadDigests(t *testing.T) {
	const canary = "CANARY-5b7e"
	good := strings.Repeat("0123456789abcdef", 4)
	bad := []string{
		strings.ToUpper(good),
		good[:63] + "A",
		good[:63],
		good + "0",
		good[:63] + "g",
		good[:40] + canary + good[51:],
		good[:62] + "é",
		" " + good[1:],
		good[:63] + "\x00",
		strings.Repeat("0", 128),
	}
	fields := map[string]func(r *Record) *string{
		"payload_sha256": func(r *Record) *string { return &r.PayloadSHA256 },
		"policy_sha256":  func(r *Record) *string { return &r.PolicySHA256 },
		"prev":           func(r *Record) *string { return &r.Prev },
	}
	for name, field := range fields {
		for _, v := range bad {
			r := kaRecord()
			*field(&r) = v
			h, err := r.ComputeHash()
			if !errors.Is(err, ErrInvalidRecord) || h != "" {
				t.Errorf("%s = %q: ComputeHash = %q, %v; want ErrInvalidRecord", name, v, h, err)
				continue
			}
			if !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "CANARY") {
				t.Errorf("%s = %q: error %q should name the field and not quote it", name, v, err)
			}
			if line, _, err := r.encode(); !errors.Is(err, ErrInvalidRecord) || line != nil {
				t.Errorf("%s = %q: encode = %q, %v; want ErrInvalidRecord", name, v, line, err)
			}
		}
		r := kaRecord()
		*field(&r) = good
		if _, err := r.ComputeHash(); err != nil {
			t.Errorf("%s = %q: %v", name, good, err)
		}
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
			var got [32]byte
			ok := decodeHexDigest(&got, string(s))
			if ok != wantOK || ok && string(got[:]) != string(want) {
				t.Fatalf("decodeHexDigest(%q) = %x, %v; want %x, %v", s, got, ok, want, wantOK)
			}
		}
	}
}

// TestComputeHashAllocations checks that ComputeHash allocates only the
// string it returns, for a usual record.
func TestComputeHashAllocations(t *testing.T) {
	r := benchRecord()
	if n := testing.AllocsPerRun(100, func() { _, _ = r.ComputeHash() }); n > 1 {
		t.Errorf("ComputeHash allocates %v times, want 1", n)
	}
}
