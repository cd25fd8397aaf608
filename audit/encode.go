package audit

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// The line of a Record is its encoding by encoding/json (see the package
// doc). appendRecordJSON produces the same bytes without reflection or
// intermediate allocations; for the few values it does not handle (times
// encoding/json refuses) appendLine returns the error json.Marshal
// returns, and TestFastEncoderMatchesEncodingJSON and FuzzRecordEncoding
// hold the two to the same output.

// appendRecordJSON appends the encoding/json encoding of r to dst. ok is
// false, and dst is returned unchanged, when r holds a value the fast path
// leaves to encoding/json: a time that encoding/json refuses.
func appendRecordJSON(dst []byte, r *Record) (_ []byte, ok bool) {
	n0 := len(dst)
	if dst, ok = appendRecordPrefix(dst, r); !ok {
		return dst[:n0], false
	}
	dst = appendDigestHex(dst, &r.Hash)
	if !r.MAC.IsZero() {
		dst = append(dst, `","mac":"`...)
		dst = appendDigestHex(dst, &r.MAC)
	}
	return append(dst, `"}`...), true
}

// appendRecordPrefix appends the encoding/json encoding of r up to the
// value of its hash: every field but the last, then `,"hash":"`. Followed
// by the 64 hex digits of Hash and `"}` it is the encoding of r. ok is
// false, and dst may hold part of the encoding, for a time encoding/json
// refuses.
//
// Each constant run of the encoding (the closing quote of one value, the
// next key, the opening quote of its value) is appended in one piece.
func appendRecordPrefix(dst []byte, r *Record) (_ []byte, ok bool) {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, r.Seq, 10)
	dst = append(dst, `,"time":"`...)
	if dst, ok = appendJSONTime(dst, r.Time); !ok {
		return dst, false
	}
	dst = append(dst, `","credential":"`...)
	dst = appendJSONChars(dst, r.Credential)
	dst = append(dst, `","venue":"`...)
	dst = appendJSONChars(dst, r.Venue)
	dst = append(dst, `","class":"`...)
	dst = appendJSONChars(dst, r.Class)
	if r.Route != "" {
		dst = append(dst, `","route":"`...)
		dst = appendJSONChars(dst, r.Route)
	}
	if r.Intent != "" {
		dst = append(dst, `","intent":"`...)
		dst = appendJSONChars(dst, r.Intent)
	}
	dst = append(dst, `","decision":"`...)
	dst = appendJSONChars(dst, r.Decision)
	if r.Rule != "" {
		dst = append(dst, `","rule":"`...)
		dst = appendJSONChars(dst, r.Rule)
	}
	if r.Reason != "" {
		dst = append(dst, `","reason":"`...)
		dst = appendJSONChars(dst, r.Reason)
	}
	if !r.PayloadSHA256.IsZero() {
		dst = append(dst, `","payload_sha256":"`...)
		dst = appendDigestHex(dst, &r.PayloadSHA256)
	}
	if !r.PolicySHA256.IsZero() {
		dst = append(dst, `","policy_sha256":"`...)
		dst = appendDigestHex(dst, &r.PolicySHA256)
	}
	dst = append(dst, `","prev":"`...)
	dst = appendDigestHex(dst, &r.Prev)
	dst = append(dst, `","hash":"`...)
	return dst, true
}

// appendJSONTime appends t as time.Time.MarshalJSON does, without the
// quotes. ok is false for the times MarshalJSON refuses (a year outside
// 0..9999, a zone offset of 24 hours or more).
func appendJSONTime(dst []byte, t time.Time) ([]byte, bool) {
	off := 0
	if t.Location() != time.UTC { // records in the log are in UTC
		_, off = t.Zone()
	}
	if off <= -24*60*60 || off >= 24*60*60 {
		return dst, false
	}
	return appendRFC3339Nano(dst, t, off)
}

// The first and the last day, counted from 1970-01-01, of the years
// 0..9999: 0000-01-01 and 9999-12-31.
const firstDay, lastDay = -719528, 2932896

// appendRFC3339Nano appends t, whose zone offset is off seconds, as
// t.AppendFormat(dst, time.RFC3339Nano) does. ok is false, and dst is
// returned unchanged, for a year outside 0..9999.
func appendRFC3339Nano(dst []byte, t time.Time, off int) (_ []byte, ok bool) {
	const secondsPerDay = 24 * 60 * 60
	local := t.Unix() + int64(off)
	days, sec := local/secondsPerDay, local%secondsPerDay
	if sec < 0 {
		days, sec = days-1, sec+secondsPerDay
	}
	if days < firstDay || days > lastDay {
		return dst, false
	}
	year, month, day := civilDate(days)
	const ones = 0x0101010101010101
	// YYYYMMDD, then YYYY-MM- and DD.
	date := digits8(year*10000+month*100+day) + '0'*ones
	dst = binary.LittleEndian.AppendUint64(dst,
		date&0xffffffff|'-'<<32|date>>32&0xffff<<40|'-'<<56)
	dst = append(dst, byte(date>>48), byte(date>>56), 'T')
	// 00hhmmss, then hh:mm:ss.
	s := uint32(sec)
	clock := digits8(s/3600*10000+s/60%60*100+s%60) + '0'*ones
	dst = binary.LittleEndian.AppendUint64(dst,
		clock>>16&0xffff|':'<<16|clock>>32&0xffff<<24|':'<<40|clock>>48<<48)
	if ns := uint32(t.Nanosecond()); ns != 0 {
		// The first digit, then eight more less their trailing zeros.
		first, rest := ns/1e8, ns%1e8
		dst = append(dst, '.', byte('0'+first))
		if rest != 0 {
			d := digits8(rest)
			dst = binary.LittleEndian.AppendUint64(dst, d+'0'*ones)
			dst = dst[:len(dst)-bits.LeadingZeros64(d)/8]
		}
	}
	if off == 0 {
		return append(dst, 'Z'), true
	}
	sign, zone := byte('+'), off/60 // minutes, truncated as time formats them
	if zone < 0 {
		sign, zone = '-', -zone
	}
	h, m := zone/60, zone%60
	return append(dst, sign, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10)), true
}

// digits8 returns the eight decimal digits of v < 1e8, the first in the
// lowest byte, as values 0..9 (not yet ASCII). It divides in parallel
// lanes: v into two four-digit halves in 32-bit lanes, each into two
// two-digit parts in 16-bit lanes, each into two digits in bytes, with
// multiplications by reciprocals exact for the ranges of the lanes.
func digits8(v uint32) uint64 {
	x := uint64(v/10000) | uint64(v%10000)<<32
	h := x * 10486 >> 20 & 0x0000007f0000007f // x / 100 in each 32-bit lane, x <= 9999
	x = h | (x-h*100)<<16
	t := x * 103 >> 10 & 0x000f000f000f000f // x / 10 in each 16-bit lane, x <= 99
	return t | (x-t*10)<<8
}

// civilDate returns the proleptic Gregorian date of a day counted from
// 1970-01-01 (day 0), for the days firstDay..lastDay (the years 0..9999).
func civilDate(days int64) (year, month, day uint32) {
	// Days from -0400-03-01, counted in 400-year eras of 146097 days, so
	// that the leap day ends each year; from the year -400 so that every
	// day of the domain is a small non-negative number.
	z := uint32(days + 719468 + 146097)
	era := z / 146097
	doe := z - era*146097                                  // day of era, 0..146096
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of era, 0..399
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of the year from March 1, 0..365
	mp := (5*doy + 2) / 153                                // month from March, 0..11
	day = doy - (153*mp+2)/5 + 1
	month = mp + 3
	if month > 12 {
		month -= 12
	}
	year = yoe + era*400 - 400
	if month <= 2 {
		year++
	}
	return year, month, day
}

// appendJSONChars appends s as encoding/json encodes a string with HTML
// escaping on (json.Marshal's default), without the quotes: '"' and '\\'
// backslash-escaped; \b, \f, \n, \r, \t by name; other bytes below 0x20
// and '<', '>', '&' as \u00XX (lower-case hex); invalid UTF-8 bytes as
// \ufffd; U+2028 and U+2029 as \u2028 and \u2029; everything else as it
// is.
func appendJSONChars(dst []byte, s string) []byte {
	n := plainLen(s)
	dst = append(dst, s[:n]...)
	if n == len(s) {
		return dst
	}
	return appendEscaped(dst, s[n:])
}

// appendEscaped appends s as appendJSONChars does, s[0] being a byte to
// escape or the start of a multi-byte sequence.
func appendEscaped(dst []byte, s string) []byte {
	const hexLower = "0123456789abcdef"
	for s != "" {
		b := s[0]
		if b < utf8.RuneSelf {
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexLower[b>>4], hexLower[b&0xF])
			}
			s = s[1:]
		} else {
			c, size := utf8.DecodeRuneInString(s)
			switch {
			case c == utf8.RuneError && size == 1:
				dst = append(dst, `\ufffd`...)
			case c == '\u2028' || c == '\u2029':
				dst = append(dst, '\\', 'u', '2', '0', '2', hexLower[c&0xF])
			default:
				dst = append(dst, s[:size]...)
			}
			s = s[size:]
		}
		n := plainLen(s)
		dst = append(dst, s[:n]...)
		s = s[n:]
	}
	return dst
}

// plainLen returns the length of the longest prefix of s made of bytes
// encoding/json copies as they are (with HTML escaping on): printable
// ASCII and DEL, except '"', '\\', '<', '>' and '&'. It looks at eight
// bytes at a time, sixteen per loop, and at the last few bytes through an
// eight-byte word that overlaps bytes already found plain.
func plainLen(s string) int {
	n := len(s)
	t := s
	for len(t) >= 16 {
		a, b := load64(t), load64(t[8:])
		if (a|b)&allPlain != 0 || roughPlainMask(a)&roughPlainMask(b)&allPlain != allPlain {
			if m := plainMask(a); m != allPlain {
				return n - len(t) + firstNotPlain(m)
			}
			if m := plainMask(b); m != allPlain {
				return n - len(t) + 8 + firstNotPlain(m)
			}
			// '^', '|' or '~', which roughPlainMask does not tell from
			// bytes to escape.
		}
		t = t[16:]
	}
	if len(t) >= 8 {
		if a := plainMask(load64(t)); a != allPlain {
			return n - len(t) + firstNotPlain(a)
		}
		t = t[8:]
	}
	switch {
	case len(t) == 0:
		return n
	case n >= 8:
		if a := plainMask(load64(s[n-8:])); a != allPlain {
			return n - 8 + firstNotPlain(a)
		}
		return n
	case n >= 4:
		// Bytes 0..3, then bytes n-4..n-1: byte i of the word is byte
		// i of s for i < 4, byte n-8+i of s above.
		lo := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
		hi := uint64(s[n-4]) | uint64(s[n-3])<<8 | uint64(s[n-2])<<16 | uint64(s[n-1])<<24
		a := plainMask(lo | hi<<32)
		if a == allPlain {
			return n
		}
		i := firstNotPlain(a)
		if i >= 4 {
			i += n - 8
		}
		return i
	default:
		// Bytes 0, n/2, n-1, then plain bytes: for n <= 3, byte i of the
		// word is byte i of s up to the first repetition.
		w := uint64(s[0]) | uint64(s[n/2])<<8 | uint64(s[n-1])<<16 | 'a'*0x0101010101000000
		if a := plainMask(w); a != allPlain {
			return firstNotPlain(a)
		}
		return n
	}
}

// allPlain is plainMask of eight plain bytes.
const allPlain = 0x8080808080808080

// plainMask returns the high bit of every byte of w that encoding/json
// copies as it is. The answer is exact for every byte up to the first one
// that is not plain (a byte with its high bit set carries into the bytes
// above it); so plainMask(w) == allPlain exactly when all eight are plain.
func plainMask(w uint64) uint64 {
	const ones, low7 = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f
	// For a byte x below 0x80, x+0x7f has its high bit set exactly when
	// x is not zero, and does not carry. Zero bytes of x1, x2 and x3 are
	// the bytes to escape: '\\'; '"' (0x22) or '&' (0x26), which differ
	// in bit 2 only; '<' (0x3c) or '>' (0x3e), which differ in bit 1
	// only. b+0x60 has its high bit set exactly when b >= 0x20.
	x1 := w ^ '\\'*ones
	x2 := (w | 0x04*ones) ^ '&'*ones
	x3 := (w | 0x02*ones) ^ '>'*ones
	return (x1 + low7) & (x2 + low7) & (x3 + low7) & (w + 0x60*ones) &^ w & allPlain
}

// roughPlainMask is plainMask for a word w of bytes below 0x80, less
// exact and cheaper: it also leaves out '^', '|' and '~' and control
// bytes, and its high bits may be wrong for bytes of w at or above 0x80.
func roughPlainMask(w uint64) uint64 {
	const ones, low7 = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f
	// Zero bytes of x1: '"' (0x22) or '&' (0x26), which differ in bit 2
	// only. Zero bytes of x2: the bytes that are 0x7e once bits 1, 5 and 6
	// are set: '<', '>', '\\', '^', '|', '~' and two control bytes.
	x1 := (w | 0x04*ones) ^ '&'*ones
	x2 := (w | 0x62*ones) ^ 0x7e*ones
	return (x1 + low7) & (x2 + low7) & (w + 0x60*ones)
}

// firstNotPlain returns the index of the first byte that is not plain in
// the word whose plainMask is m, m != allPlain.
func firstNotPlain(m uint64) int {
	return bits.TrailingZeros64(^m&allPlain) >> 3
}

// load64 returns the first eight bytes of s as a little-endian word.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// timeError returns the error json.Marshal returns for a record whose time
// it refuses, wrapped in ErrInvalidRecord.
func timeError(t time.Time) error {
	_, err := t.MarshalJSON()
	if err == nil {
		// Unreachable: appendJSONTime refuses only what MarshalJSON refuses.
		err = errors.New("time cannot be encoded")
	}
	err = &json.MarshalerError{Type: reflect.TypeFor[time.Time](), Err: err}
	return fmt.Errorf("%w: %w", ErrInvalidRecord, err)
}

// appendLine appends the line that stores r (without the newline) to dst
// and returns it with the hash the line carries. r.Hash is ignored; a
// non-zero mac is written as the line's MAC.
func appendLine(dst []byte, r *Record, mac *Digest) (line []byte, hash Digest, err error) {
	if hash, err = hashRecord(r); err != nil {
		return dst, hash, err
	}
	return appendLineHashed(dst, r, &hash, mac)
}

// appendLineHashed is appendLine for a hash computed already.
func appendLineHashed(dst []byte, r *Record, hash, mac *Digest) (line []byte, _ Digest, err error) {
	n0 := len(dst)
	dst, ok := appendRecordPrefix(dst, r)
	if !ok {
		// Unreachable: hashRecord refuses the same times.
		return dst[:n0], *hash, timeError(r.Time)
	}
	dst = appendDigestHex(dst, hash)
	if mac != nil && !mac.IsZero() {
		dst = append(dst, `","mac":"`...)
		dst = appendDigestHex(dst, mac)
	}
	return append(dst, `"}`...), *hash, nil
}
