package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/signer"
)

// oddStrings are strings encoding/json escapes in every way it knows.
var oddStrings = []string{
	"", "plain", "BUY LIMIT 1 LTCBTC @ 0.1 GTC", `quote " and \ backslash`,
	"<script>&amp;</script>", "\b\f\n\r\t", "\x00\x01\x1f\x7f", "line\u2028sep\u2029para",
	"héllo wörld", "日本語", "emoji 😀", "\xff", "a\xc3", "\xed\xa0\x80", // surrogate half
	"\xf4\x90\x80\x80", // above U+10FFFF
	"\xc0\xaf",         // overlong
	"mixed \xfe<\u2028>\x00é", "\uFFFD", "\u00a0\u200b\ufeff",
}

// refHash is the definition of a record's hash (package doc, "The
// chain"), written apart from the package's encoder: SHA-256 over the
// domain, Seq, Time, the length-prefixed text fields and the digests in
// binary. ok is false for a record that has no hash: a time encoding/json
// refuses.
func refHash(r Record) (hash Digest, ok bool) {
	if _, err := r.Time.MarshalJSON(); err != nil {
		return Digest{}, false
	}
	_, off := r.Time.Zone()
	b := []byte("keyfence-audit-1")
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(r.Time.Nanosecond()))
	b = binary.BigEndian.AppendUint32(b, uint32(int32(off)))
	for _, s := range []string{r.Credential, r.Venue, r.Class, r.Route, r.Intent, r.Decision, r.Rule, r.Reason} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, d := range [][sha256.Size]byte{r.PayloadSHA256, r.PolicySHA256} {
		if d == [sha256.Size]byte{} {
			b = append(b, 0)
			continue
		}
		b = append(append(b, 1), d[:]...)
	}
	b = append(append(b, 1), r.Prev[:]...) // always present
	return sha256.Sum256(b), true
}

// slowLine is the definition of a stored line: encoding/json of r with
// Hash set to the record's hash (refHash).
func slowLine(t testing.TB, r Record) ([]byte, Digest, error) {
	t.Helper()
	h, ok := refHash(r)
	if !ok {
		return nil, Digest{}, errors.New("record has no hash")
	}
	r.Hash = h
	b, err := json.Marshal(r)
	if err != nil {
		return nil, Digest{}, err
	}
	return b, h, nil
}

func checkSameEncoding(t *testing.T, r Record) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		if _, ok := appendRecordJSON(nil, &r); ok {
			t.Fatalf("fast encoder accepted a record encoding/json refuses: %v", err)
		}
		if _, herr := r.ComputeHash(); !errors.Is(herr, ErrInvalidRecord) {
			t.Fatalf("ComputeHash error = %v, want ErrInvalidRecord like encoding/json (%v)", herr, err)
		}
		return
	}
	got, ok := appendRecordJSON([]byte("prefix"), &r)
	if !ok {
		t.Fatalf("fast encoder refused %+v", r)
	}
	if !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("fast encoding differs from encoding/json:\n got %q\nwant %q", got[len("prefix"):], want)
	}
	wantLine, wantHash, serr := slowLine(t, r)
	line, hash, err := r.encode()
	if (serr == nil) != (err == nil) || hash != wantHash || !bytes.Equal(line, wantLine) {
		t.Fatalf("encode = %q, %s, %v; want %q, %s, %v", line, hash, err, wantLine, wantHash, serr)
	}
	if err != nil && !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("encode error %v, want ErrInvalidRecord", err)
	}
	if h, err := r.ComputeHash(); (serr == nil) != (err == nil) || h != wantHash {
		t.Fatalf("ComputeHash = %s, %v; want %s, %v", h, err, wantHash, serr)
	}
}

func TestFastEncoderMatchesEncodingJSON(t *testing.T) {
	base := Record{
		Seq: 42, Time: time.Date(2026, 11, 24, 12, 0, 0, 123456789, time.UTC),
		Credential: "doc", Venue: "binance", Class: "trade", Route: "POST /api/v3/order",
		Intent: "POST /api/v3/order: BUY LIMIT 1 LTCBTC @ 0.1 GTC", Decision: Allow,
		PayloadSHA256: fill(0xab), PolicySHA256: fill(0xcd), Hash: fill(0xef),
	}
	checkSameEncoding(t, base)
	checkSameEncoding(t, Record{}) // every optional field empty, zero digests, zero time
	long := base                   // a hash input longer than the stack buffer
	long.Intent, long.Reason = strings.Repeat("x", 300), strings.Repeat("é", 200)
	checkSameEncoding(t, long)

	fields := func(r *Record) []*string {
		return []*string{&r.Credential, &r.Venue, &r.Class, &r.Route, &r.Intent, &r.Decision,
			&r.Rule, &r.Reason}
	}
	digests := func(r *Record) []*Digest { return []*Digest{&r.PayloadSHA256, &r.PolicySHA256, &r.Prev, &r.Hash} }
	for i := range digests(&base) {
		for _, d := range []Digest{{}, fill(0xff), fill(0x00a), {31: 1}} {
			r := base
			*digests(&r)[i] = d
			checkSameEncoding(t, r)
		}
	}
	for i := range fields(&base) {
		for _, s := range oddStrings {
			r := base
			*fields(&r)[i] = s
			checkSameEncoding(t, r)
		}
	}

	zones := []*time.Location{time.UTC, time.FixedZone("e", 5*3600+30*60), time.FixedZone("w", -(23*3600 + 59*60)), time.FixedZone("s", 17)}
	times := []time.Time{
		{}, time.Unix(0, 0), time.Unix(1499827319, 559000000), time.Unix(1, 1),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Now(), time.Now().Round(0),
	}
	for _, tm := range times {
		for _, z := range zones {
			r := base
			r.Time = tm.In(z)
			checkSameEncoding(t, r)
		}
	}

	// Seeded random records: random bytes, random runes, random fields.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		r := base
		r.Seq = rng.Uint64()
		r.Time = time.Unix(rng.Int64N(253402300799), rng.Int64N(1e9)).UTC()
		for _, d := range digests(&r) {
			*d = Digest{}
			if rng.IntN(3) != 0 {
				for j := range d {
					d[j] = byte(rng.Uint32())
				}
			}
		}
		for _, f := range fields(&r) {
			if rng.IntN(3) == 0 {
				*f = ""
				continue
			}
			var b []byte
			for range rng.IntN(24) {
				switch rng.IntN(4) {
				case 0:
					b = append(b, byte(rng.IntN(256)))
				case 1:
					b = append(b, byte(rng.IntN(0x80)))
				default:
					b = append(b, string(rune(rng.IntN(0x110000)))...)
				}
			}
			*f = string(b)
		}
		checkSameEncoding(t, r)
	}
}

// TestFastEncoderFallsBack checks that times encoding/json refuses take the
// encoding/json path and fail as they always did.
func TestFastEncoderFallsBack(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 24*3600)),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", -25*3600)),
	} {
		r := Record{Time: tm, Decision: Allow}
		if _, ok := appendRecordJSON(nil, &r); ok {
			t.Errorf("fast encoder accepted %v", tm)
		}
		_, jerr := json.Marshal(r)
		_, err := r.ComputeHash()
		if jerr == nil || !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%v: ComputeHash error %v, encoding/json error %v; want both to fail", tm, err, jerr)
		}
	}
}

func FuzzRecordEncoding(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(uint64(7), int64(1499827319559000000), int32(0), s, "<&>")
	}
	digest := strings.Repeat("0123456789abcdef", 4)
	for _, s := range []string{digest, strings.ToUpper(digest), digest[:63], digest + "0", digest[:63] + "g", digest[:62] + "\u00e9"} {
		f.Add(uint64(9), int64(1795521600123456789), int32(19800), s, digest)
	}
	// digest is a digest made of s: none for "", else its SHA-256.
	digestOf := func(s string) Digest {
		if s == "" {
			return Digest{}
		}
		return sha256.Sum256([]byte(s))
	}
	f.Fuzz(func(t *testing.T, seq uint64, nanos int64, offset int32, a, b string) {
		r := Record{
			Seq: seq, Time: time.Unix(0, nanos).In(time.FixedZone("z", int(offset))),
			Credential: a, Venue: b, Class: a + b, Route: b, Intent: a, Decision: b, Rule: a,
			Reason: a + "\n" + b, PayloadSHA256: digestOf(b), PolicySHA256: digestOf(a), Prev: digestOf(a + b), Hash: digestOf(a + "#"),
		}
		// ParseDigest accepts exactly what encoding/hex decodes to 32
		// bytes and encodes back to the same lowercase text.
		for _, s := range []string{a, b} {
			d, err := ParseDigest(s)
			want, herr := hex.DecodeString(s)
			valid := herr == nil && len(want) == sha256.Size && hex.EncodeToString(want) == s
			if valid != (err == nil) || valid && (string(d[:]) != string(want) || d.String() != s) {
				t.Fatalf("ParseDigest(%q) = %x, %v; encoding/hex says valid %v", s, d, err, valid)
			}
			if err != nil && (!errors.Is(err, ErrInvalidRecord) || len(s) > 4 && strings.Contains(err.Error(), s)) {
				t.Fatalf("ParseDigest(%q) error %q: want ErrInvalidRecord, not quoting the input", s, err)
			}
		}
		want, jerr := json.Marshal(r)
		got, ok := appendRecordJSON(nil, &r)
		switch {
		case ok && jerr != nil:
			t.Fatalf("fast encoder accepted a record encoding/json refuses (%v): %q", jerr, got)
		case ok && !bytes.Equal(got, want):
			t.Fatalf("fast encoding differs from encoding/json:\n got %q\nwant %q", got, want)
		case !ok && jerr == nil:
			// Allowed (the fallback handles it) but only for odd zones.
			if _, off := r.Time.Zone(); off > -24*3600 && off < 24*3600 {
				t.Fatalf("fast encoder refused %v, which encoding/json encodes", r.Time)
			}
		}
		wantLine, wantHash, serr := slowLine(t, r)
		line, hash, err := r.encode()
		if (serr == nil) != (err == nil) || hash != wantHash || !bytes.Equal(line, wantLine) {
			t.Fatalf("encode = %q, %s, %v; want %q, %s, %v", line, hash, err, wantLine, wantHash, serr)
		}
		if h, err := r.ComputeHash(); (serr == nil) != (err == nil) || h != wantHash {
			t.Fatalf("ComputeHash = %s, %v; want %s, %v", h, err, wantHash, serr)
		}
	})
}

// benchRecord is a typical allow record as the in-memory auditor of the
// signing path hashes it: every field of an allow record set, a
// nanosecond time, 64-hex digests and the previous record's hash.
func benchRecord() Record {
	digest := func(s string) Digest { return sha256.Sum256([]byte(s)) }
	return Record{
		Seq: 1, Time: time.Date(2026, 11, 24, 16, 2, 52, 992986689, time.UTC),
		Credential: "doc", Venue: "binance", Class: "trade", Route: "POST /api/v3/order",
		Intent: "POST /api/v3/order: BUY LIMIT 1 LTCBTC @ 0.1 GTC", Decision: Allow,
		PayloadSHA256: digest("payload"), PolicySHA256: digest("policy"), Prev: digest("prev"),
	}
}

func BenchmarkComputeHash(b *testing.B) {
	r := benchRecord()
	if n := len(mustMarshal(b, r)); n < 505 || n > 545 {
		b.Fatalf("benchmark record encodes to %d bytes, want about 525", n)
	}
	// A usual record's hash input fits the stack buffer and four SHA-256
	// blocks (with the padding's 9 bytes).
	in, err := appendHashInput(nil, &r)
	if n := len(in); err != nil || n > hashBufSize || n > 4*64-9 {
		b.Fatalf("benchmark record's hash input is %d bytes (%v), want at most %d", n, err, 4*64-9)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ComputeHash(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeRecord measures the canonical encoding alone.
func BenchmarkEncodeRecord(b *testing.B) {
	r := benchRecord()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := appendRecordJSON(buf[:0], &r); !ok {
			b.Fatal("fast encoder refused the benchmark record")
		}
	}
}

// fill returns the Digest whose 32 bytes are all b.
func fill(b byte) Digest {
	var d Digest
	for i := range d {
		d[i] = b
	}
	return d
}

func mustMarshal(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkChainAppend appends the benchmark record to a Chain, with the
// local time an Authorizer stamps it with.
func BenchmarkChainAppend(b *testing.B) {
	var c Chain
	ctx := context.Background()
	r := benchRecord()
	b.ReportAllocs()
	for b.Loop() {
		r.Time = time.Now()
		if err := c.Append(ctx, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// benchMACKey returns a chain key held by the in-memory signer backend.
func benchMACKey(b *testing.B) MACKey {
	m := signer.NewMemory()
	b.Cleanup(func() { m.Close() })
	if err := m.Import(signer.KeyInfo{Name: "chain", Venue: "keyfence", APIKey: "audit-mac", Type: signer.KeyHMAC}, bytes.Repeat([]byte{7}, 32), nil); err != nil {
		b.Fatal(err)
	}
	return MACKey{Signer: m, Name: "chain"}
}

// BenchmarkChainAppendKeyed is BenchmarkChainAppend on a chain keyed with
// an HMAC key held by the in-memory signer backend: one HMAC-SHA256 more
// per record.
func BenchmarkChainAppendKeyed(b *testing.B) {
	c, err := NewKeyedChain(Anchor{}, benchMACKey(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	r := benchRecord()
	b.ReportAllocs()
	for b.Loop() {
		r.Time = time.Now()
		if err := c.Append(ctx, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChainAppendKeyedRatio alternates rounds of 256 appends to an
// unkeyed and to a keyed chain and reports the ratio of their times
// (keyed/unkeyed), so that both are measured under the same load of a
// shared machine. One op is 256 appends of each.
func BenchmarkChainAppendKeyedRatio(b *testing.B) {
	const round = 256
	var plain Chain
	keyed, err := NewKeyedChain(Anchor{}, benchMACKey(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	r := benchRecord()
	var tPlain, tKeyed time.Duration
	for b.Loop() {
		for _, c := range [2]*Chain{&plain, keyed} {
			start := time.Now()
			for range round {
				r.Time = start
				if err := c.Append(ctx, &r); err != nil {
					b.Fatal(err)
				}
			}
			if c == keyed {
				tKeyed += time.Since(start)
			} else {
				tPlain += time.Since(start)
			}
		}
	}
	b.ReportMetric(float64(tPlain.Nanoseconds())/float64(b.N*round), "plain-ns/append")
	b.ReportMetric(float64(tKeyed.Nanoseconds())/float64(b.N*round), "keyed-ns/append")
	b.ReportMetric(float64(tKeyed)/float64(tPlain), "keyed/plain")
}
