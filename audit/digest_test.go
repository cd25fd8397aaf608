package audit

import (
	"encoding"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

var (
	_ encoding.TextMarshaler   = Digest{}
	_ encoding.TextAppender    = Digest{}
	_ encoding.TextUnmarshaler = (*Digest)(nil)
)

// badDigests are texts that are not 64 lowercase hex digits; one carries
// a canary that no error may quote.
func badDigests() []string {
	const canary = "CANARY-5b7e"
	good := strings.Repeat("0123456789abcdef", 4)
	return []string{
		"",
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
		`"` + good[2:] + `"`,
	}
}

// TestParseDigestRefuses checks that ParseDigest and UnmarshalText take
// exactly 64 lowercase hex digits, fail wrapping ErrInvalidRecord without
// quoting the input, and leave the Digest unchanged on failure.
func TestParseDigestRefuses(t *testing.T) {
	for _, s := range badDigests() {
		d, err := ParseDigest(s)
		if !errors.Is(err, ErrInvalidRecord) || !d.IsZero() {
			t.Errorf("ParseDigest(%q) = %v, %v; want ErrInvalidRecord", s, d, err)
			continue
		}
		if strings.Contains(err.Error(), "CANARY") || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseDigest(%q): error %q quotes its input or spans lines", s, err)
		}
		d = fill(0x42)
		if err := d.UnmarshalText([]byte(s)); !errors.Is(err, ErrInvalidRecord) || d != fill(0x42) {
			t.Errorf("UnmarshalText(%q) = %v, left %v; want ErrInvalidRecord and no change", s, err, d)
		}
	}
}

// TestDigestTextRoundTrip holds every text form of a Digest to
// encoding/hex and checks that parsing it gives the Digest back.
func TestDigestTextRoundTrip(t *testing.T) {
	for _, d := range []Digest{{}, fill(0xff), fill(0x0a), {0: 0x12, 31: 0xef}, benchRecord().PayloadSHA256} {
		want := hex.EncodeToString(d[:])
		m, err := d.MarshalText()
		if err != nil || string(m) != want {
			t.Errorf("MarshalText(%x) = %q, %v; want %q", d[:], m, err, want)
		}
		a, err := d.AppendText([]byte("x:"))
		if err != nil || string(a) != "x:"+want {
			t.Errorf("AppendText(%x) = %q, %v; want %q", d[:], a, err, "x:"+want)
		}
		if s := d.String(); s != want {
			t.Errorf("String(%x) = %q, want %q", d[:], s, want)
		}
		p, err := ParseDigest(want)
		if err != nil || p != d {
			t.Errorf("ParseDigest(%q) = %x, %v; want %x", want, p[:], err, d[:])
		}
		var u Digest
		if err := u.UnmarshalText(m); err != nil || u != d {
			t.Errorf("UnmarshalText(%q) = %x, %v; want %x", m, u[:], err, d[:])
		}
		if d.IsZero() != (want == strings.Repeat("0", 64)) {
			t.Errorf("IsZero(%x) = %v", d[:], d.IsZero())
		}
	}
}

// TestDigestAllocations checks that the hot text forms do not allocate
// beyond what they return.
func TestDigestAllocations(t *testing.T) {
	d := benchRecord().PayloadSHA256
	text := []byte(d.String())
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { _, _ = d.AppendText(buf[:0]) }); n > 0 {
		t.Errorf("AppendText allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = d.UnmarshalText(text) }); n > 0 {
		t.Errorf("UnmarshalText allocates %v times, want 0", n)
	}
}
