package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
)

// hashDomain opens the input of every record hash: it names the
// definition (and its version) so that no other SHA-256 input of keyfence
// can be taken for a record.
const hashDomain = "keyfence-audit-1"

// hashBufSize is room for the hash input of a usual record (an allow
// record with three digests is about 230 bytes); longer fields grow the
// buffer on the heap.
const hashBufSize = 256

// hashRecord returns the hash r carries, as lowercase hex: the SHA-256 of
// its hash input (see appendHashInput). r.Hash is ignored.
func hashRecord(r *Record) (hash [2 * sha256.Size]byte, err error) {
	hash, _, err = hashRecordWith(r, nil)
	return hash, err
}

// hashRecordWith is hashRecord reusing the digests m decoded before (m
// may be nil; it learns r's policy digest). It also returns the hash in
// binary.
func hashRecordWith(r *Record, m *digestMemo) (hash [2 * sha256.Size]byte, sum [sha256.Size]byte, err error) {
	var buf [hashBufSize]byte
	in, err := appendHashInputWith(buf[:0], r, m)
	if err != nil {
		return hash, sum, err
	}
	sum = sha256.Sum256(in)
	hexSum(&hash, &sum)
	return hash, sum, nil
}

// digestMemo holds digests of a chain decoded before: the hash of the
// record before (the next record's Prev) and the last policy digest, which
// change rarely. Reusing them spares decoding 64 hex digits each.
type digestMemo struct {
	prevHex, policyHex string
	prev, policy       [sha256.Size]byte
}

// appendHashInput appends the input of r's hash to dst, as the package doc
// defines it ("The chain"): the domain, Seq, Time, the text fields each
// prefixed by its length, and the three digests in binary. r.Hash is not
// part of it. It fails, wrapping ErrInvalidRecord, for a time the line
// cannot hold and for a digest that is neither empty nor 64 lowercase hex
// digits.
func appendHashInput(dst []byte, r *Record) ([]byte, error) {
	return appendHashInputWith(dst, r, nil)
}

// appendHashInputWith is appendHashInput reusing the digests of m, which
// may be nil.
func appendHashInputWith(dst []byte, r *Record, m *digestMemo) ([]byte, error) {
	off, ok := lineOffset(r.Time)
	if !ok {
		return dst, timeError(r.Time)
	}
	dst = append(dst, hashDomain...)
	dst = binary.BigEndian.AppendUint64(dst, r.Seq)
	dst = binary.BigEndian.AppendUint64(dst, uint64(r.Time.Unix()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(r.Time.Nanosecond()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(int32(off)))
	for _, s := range [...]string{r.Credential, r.Venue, r.Class, r.Route,
		r.Intent, r.Decision, r.Rule, r.Reason} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	var err error
	if dst, err = appendDigest(dst, "payload_sha256", r.PayloadSHA256); err != nil {
		return dst, err
	}
	if m != nil && r.PolicySHA256 != "" && r.PolicySHA256 == m.policyHex {
		dst = append(append(dst, 1), m.policy[:]...)
	} else {
		n := len(dst)
		if dst, err = appendDigest(dst, "policy_sha256", r.PolicySHA256); err != nil {
			return dst, err
		}
		if m != nil && r.PolicySHA256 != "" {
			m.policyHex, m.policy = r.PolicySHA256, [sha256.Size]byte(dst[n+1:])
		}
	}
	if m != nil && r.Prev != "" && r.Prev == m.prevHex {
		return append(append(dst, 1), m.prev[:]...), nil
	}
	return appendDigest(dst, "prev", r.Prev)
}

// lineOffset returns the zone offset, in seconds, of t as a line stores
// it (0 for UTC). ok is false for the times encoding/json refuses, and
// so the line cannot hold: a zone offset of 24 hours or more, or a
// local date outside the years 0..9999.
func lineOffset(t time.Time) (off int, ok bool) {
	if t.Location() != time.UTC {
		_, off = t.Zone()
	}
	if off <= -24*60*60 || off >= 24*60*60 {
		return 0, false
	}
	const secondsPerDay = 24 * 60 * 60
	local := t.Unix() + int64(off)
	days := local / secondsPerDay
	if local%secondsPerDay < 0 {
		days--
	}
	return off, days >= firstDay && days <= lastDay
}

// appendDigest appends the field named name, whose value is s, in the hash
// input: 0 if s is empty, else 1 and the 32 bytes the 64 lowercase hex
// digits of s encode. Any other s is refused; the error does not quote it.
func appendDigest(dst []byte, name, s string) ([]byte, error) {
	if s == "" {
		return append(dst, 0), nil
	}
	if len(s) != 2*sha256.Size {
		return dst, fmt.Errorf("%w: %s holds %d characters, want 64 lowercase hex digits (a SHA-256) or nothing", ErrInvalidRecord, name, len(s))
	}
	n := len(dst)
	dst = append(dst, 1)
	dst = append(dst, make([]byte, sha256.Size)...) // no allocation: appended in place
	if !decodeHexDigest((*[sha256.Size]byte)(dst[n+1:]), s) {
		return dst[:n], fmt.Errorf("%w: %s is not 64 lowercase hex digits; want a SHA-256 in lowercase hex or nothing", ErrInvalidRecord, name)
	}
	return dst, nil
}

// decodeHexDigest decodes the 64 hex digits of s into d. It reports false
// if s holds anything but '0'-'9' and 'a'-'f'.
func decodeHexDigest(d *[sha256.Size]byte, s string) bool {
	_ = s[2*sha256.Size-1]
	var bad byte
	for i := range d {
		hi, lo := hexValue[s[2*i]], hexValue[s[2*i+1]]
		bad |= hi | lo
		d[i] = hi<<4 | lo
	}
	return bad < 0x10
}

// hexValue maps each lowercase hex digit to its value and every other
// byte to 0xff.
const hexValue = "" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\x0a\x0b\x0c\x0d\x0e\x0f\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"

// hexSum writes sum to h as lowercase hex, as hex.Encode does, four bytes
// of sum (eight digits) at a time.
func hexSum(h *[2 * sha256.Size]byte, sum *[sha256.Size]byte) {
	const nibbles, ones = 0x000f000f000f000f, 0x0101010101010101
	for i := 0; i < len(sum); i += 4 {
		// One byte of sum per 16 bits of u, then one nibble per byte of
		// n, the high nibble first: the digits in the order they are
		// written.
		u := uint64(binary.LittleEndian.Uint32(sum[i:]))
		u = (u | u<<16) & 0x0000ffff0000ffff
		u = (u | u<<8) & 0x00ff00ff00ff00ff
		n := u>>4&nibbles | (u&nibbles)<<8
		// A nibble above 9 gets bit 4 from adding 6; it becomes a letter.
		letter := (n + 6*ones) >> 4 & ones
		binary.LittleEndian.PutUint64(h[2*i:], n+'0'*ones+letter*('a'-'0'-10))
	}
}
