package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"
)

// The canonical encoding of a Record is defined by encoding/json (see the
// package doc). appendRecordJSON produces the same bytes without
// reflection or intermediate allocations; encodeRecordJSON falls back to
// encoding/json for the few values the fast path does not handle, and
// TestFastEncoderMatchesEncodingJSON and FuzzRecordEncoding hold the two
// to the same output.

// appendRecordJSON appends the encoding/json encoding of r to dst. ok is
// false, and dst is returned unchanged, when r holds a value the fast path
// leaves to encoding/json: a time that encoding/json refuses.
func appendRecordJSON(dst []byte, r *Record) (_ []byte, ok bool) {
	n0 := len(dst)
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, r.Seq, 10)
	dst = append(dst, `,"time":"`...)
	var ok2 bool
	if dst, ok2 = appendJSONTime(dst, r.Time); !ok2 {
		return dst[:n0], false
	}
	dst = append(dst, `","credential":`...)
	dst = appendJSONString(dst, r.Credential)
	dst = append(dst, `,"venue":`...)
	dst = appendJSONString(dst, r.Venue)
	dst = append(dst, `,"class":`...)
	dst = appendJSONString(dst, r.Class)
	if r.Route != "" {
		dst = append(dst, `,"route":`...)
		dst = appendJSONString(dst, r.Route)
	}
	if r.Intent != "" {
		dst = append(dst, `,"intent":`...)
		dst = appendJSONString(dst, r.Intent)
	}
	dst = append(dst, `,"decision":`...)
	dst = appendJSONString(dst, r.Decision)
	if r.Rule != "" {
		dst = append(dst, `,"rule":`...)
		dst = appendJSONString(dst, r.Rule)
	}
	if r.Reason != "" {
		dst = append(dst, `,"reason":`...)
		dst = appendJSONString(dst, r.Reason)
	}
	if r.PayloadSHA256 != "" {
		dst = append(dst, `,"payload_sha256":`...)
		dst = appendJSONString(dst, r.PayloadSHA256)
	}
	if r.PolicySHA256 != "" {
		dst = append(dst, `,"policy_sha256":`...)
		dst = appendJSONString(dst, r.PolicySHA256)
	}
	dst = append(dst, `,"prev":`...)
	dst = appendJSONString(dst, r.Prev)
	dst = append(dst, `,"hash":`...)
	dst = appendJSONString(dst, r.Hash)
	dst = append(dst, '}')
	return dst, true
}

// appendJSONTime appends t as time.Time.MarshalJSON does, without the
// quotes. ok is false for the times MarshalJSON refuses (a year outside
// 0..9999, a zone offset of 24 hours or more).
func appendJSONTime(dst []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return dst, false
	}
	if _, off := t.Zone(); off <= -24*60*60 || off >= 24*60*60 {
		return dst, false
	}
	return t.AppendFormat(dst, time.RFC3339Nano), true
}

// appendJSONString appends s as encoding/json encodes a string with HTML
// escaping on (json.Marshal's default): '"' and '\\' backslash-escaped;
// \b, \f, \n, \r, \t by name; other bytes below 0x20 and '<', '>', '&' as
// \u00XX (lower-case hex); invalid UTF-8 bytes as \ufffd; U+2028 and
// U+2029 as \u2028 and \u2029; everything else as it is.
func appendJSONString(dst []byte, s string) []byte {
	const hexLower = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain bytes at a time.
		if i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
			continue
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
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
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexLower[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plain8 reports whether the 8 bytes of s are all bytes jsonSafe accepts:
// ASCII, none below 0x20, none of '"', '\\', '<', '>' and '&'.
func plain8(s string) bool {
	_ = s[7]
	w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// hasZero(x) is non-zero when a byte of x is zero (exact for the
	// lowest such byte; any report sends the caller to the byte loop,
	// which decides exactly).
	hasZero := func(x uint64) uint64 { return (x - ones) & ^x & highs }
	bad := w & highs                    // non-ASCII
	bad |= (w - 0x20*ones) & ^w & highs // below 0x20 (w has no high bits here)
	bad |= hasZero(w ^ '"'*ones)
	bad |= hasZero(w ^ '\\'*ones)
	bad |= hasZero(w ^ '<'*ones)
	bad |= hasZero(w ^ '>'*ones)
	bad |= hasZero(w ^ '&'*ones)
	return bad == 0
}

// jsonSafe reports the ASCII bytes encoding/json writes as they are with
// HTML escaping on: printable ASCII and DEL, except '"', '\\', '<', '>'
// and '&'.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		switch b {
		case '"', '\\', '<', '>', '&':
		default:
			t[b] = true
		}
	}
	return t
}()

// encodeRecordJSON appends the encoding/json encoding of r to dst, or
// fails as json.Marshal fails on r: the fast encoder handles every record
// but those whose time encoding/json refuses, and for those it returns
// the error json.Marshal returns.
func encodeRecordJSON(dst []byte, r *Record) ([]byte, error) {
	if out, ok := appendRecordJSON(dst, r); ok {
		return out, nil
	}
	_, err := r.Time.MarshalJSON()
	if err == nil {
		// Unreachable: appendJSONTime refuses only what MarshalJSON refuses.
		err = errors.New("time cannot be encoded")
	}
	err = &json.MarshalerError{Type: reflect.TypeFor[time.Time](), Err: err}
	return dst, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
}

// appendLine appends the line that stores r (without the newline) to dst
// and returns it with the hash the line carries, as lowercase hex. r.Hash
// is ignored.
func appendLine(dst []byte, r *Record) (line []byte, hash [2 * sha256.Size]byte, err error) {
	n0 := len(dst)
	if dst, hash, err = appendUnhashed(dst, r); err != nil {
		return dst[:n0], hash, err
	}
	dst = dst[:len(dst)-2] // drop `"}`
	dst = append(dst, hash[:]...)
	dst = append(dst, `"}`...)
	return dst, hash, nil
}

// appendUnhashed appends the encoding of r with Hash set to "" to dst and
// returns it with its SHA-256 as lowercase hex.
func appendUnhashed(dst []byte, r *Record) (_ []byte, hash [2 * sha256.Size]byte, err error) {
	n0 := len(dst)
	rr := *r
	rr.Hash = ""
	dst, err = encodeRecordJSON(dst, &rr)
	if err != nil {
		return dst[:n0], hash, err
	}
	enc := dst[n0:]
	if len(enc) < len(emptyHashSuffix) || string(enc[len(enc)-len(emptyHashSuffix):]) != string(emptyHashSuffix) {
		// Unreachable while hash is the last field of Record.
		return dst[:n0], hash, fmt.Errorf("%w: encoding does not end with the hash field", ErrInvalidRecord)
	}
	sum := sha256.Sum256(enc)
	hex.Encode(hash[:], sum[:])
	return dst, hash, nil
}
