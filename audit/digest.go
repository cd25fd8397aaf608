package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Digest is a SHA-256 digest; the zero Digest means none. A Record carries
// its digests in binary; its line writes each as 64 lowercase hex digits,
// the only text form Digest accepts.
type Digest [sha256.Size]byte

// digestHexLen is the length of a Digest's text form.
const digestHexLen = 2 * sha256.Size

// ParseDigest parses 64 lowercase hex digits. Anything else fails with an
// error wrapping ErrInvalidRecord that does not quote s.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != digestHexLen {
		return Digest{}, fmt.Errorf("%w: digest holds %d characters, want 64 lowercase hex digits (a SHA-256)", ErrInvalidRecord, len(s))
	}
	if !decodeHexDigest(&d, s) {
		return Digest{}, fmt.Errorf("%w: digest is not 64 lowercase hex digits; want a SHA-256 in lowercase hex", ErrInvalidRecord)
	}
	return d, nil
}

// String returns d as 64 lowercase hex digits.
func (d Digest) String() string {
	var h [digestHexLen]byte
	hexSum(&h, (*[sha256.Size]byte)(&d))
	return string(h[:])
}

// IsZero reports whether d is the zero Digest: no digest.
func (d Digest) IsZero() bool { return d == Digest{} }

// AppendText appends d as 64 lowercase hex digits to b. It implements
// encoding.TextAppender and never fails.
func (d Digest) AppendText(b []byte) ([]byte, error) {
	return appendDigestHex(b, &d), nil
}

// MarshalText returns d as 64 lowercase hex digits. It implements
// encoding.TextMarshaler and never fails.
func (d Digest) MarshalText() ([]byte, error) {
	return appendDigestHex(make([]byte, 0, digestHexLen), &d), nil
}

// UnmarshalText sets d from exactly 64 lowercase hex digits, as
// ParseDigest does; on error d is unchanged.
func (d *Digest) UnmarshalText(text []byte) error {
	if len(text) != digestHexLen {
		return fmt.Errorf("%w: digest holds %d characters, want 64 lowercase hex digits (a SHA-256)", ErrInvalidRecord, len(text))
	}
	var v Digest
	if !decodeHexDigest(&v, text) {
		return fmt.Errorf("%w: digest is not 64 lowercase hex digits; want a SHA-256 in lowercase hex", ErrInvalidRecord)
	}
	*d = v
	return nil
}

// appendDigestHex appends d as 64 lowercase hex digits to dst.
func appendDigestHex(dst []byte, d *Digest) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, digestHexLen)...) // no allocation when it fits
	hexSum((*[digestHexLen]byte)(dst[n:]), (*[sha256.Size]byte)(d))
	return dst
}

// decodeHexDigest decodes the 64 hex digits of s into d. It reports false
// if s holds anything but '0'-'9' and 'a'-'f'.
func decodeHexDigest[T string | []byte](d *Digest, s T) bool {
	_ = s[digestHexLen-1]
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
func hexSum(h *[digestHexLen]byte, sum *[sha256.Size]byte) {
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
