package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Decision values of a Record.
const (
	Allow = "allow" // the request was signed
	Deny  = "deny"  // the request was refused; nothing was signed
)

// MaxLineBytes bounds the encoded size of one record, newline included.
// Append refuses larger records and Verify reports longer lines.
const MaxLineBytes = 64 << 10

// Record is one decision. It never holds a secret, a signature or a token:
// the request is identified by the SHA-256 of the bytes that were (or would
// have been) signed.
//
// Seq, Prev and Hash are set by the Log when the record is appended. The
// digests are SHA-256 digests in binary (see Digest); the line writes
// each as 64 lowercase hex digits and leaves out a zero PayloadSHA256 or
// PolicySHA256. The first record's Prev is the zero Digest.
type Record struct {
	Seq           uint64    `json:"seq"`
	Time          time.Time `json:"time"`
	Credential    string    `json:"credential"`
	Venue         string    `json:"venue"`
	Class         string    `json:"class"`                   // endpoint class: public, read, trade, cancel, transfer, withdraw, keys
	Route         string    `json:"route,omitempty"`         // "POST /api/v3/order"
	Intent        string    `json:"intent,omitempty"`        // "BUY LIMIT 0.01 BTCUSDT @ 50000"
	Decision      string    `json:"decision"`                // Allow or Deny
	Rule          string    `json:"rule,omitempty"`          // the rule that denied
	Reason        string    `json:"reason,omitempty"`        // one line, no secrets
	PayloadSHA256 Digest    `json:"payload_sha256,omitzero"` // of the signed bytes; zero for none
	PolicySHA256  Digest    `json:"policy_sha256,omitzero"`  // of the policy in force; zero for none
	Prev          Digest    `json:"prev"`                    // Hash of the previous record; zero for the first
	Hash          Digest    `json:"hash"`                    // SHA-256 of the other fields, encoded as the package doc defines
	MAC           Digest    `json:"mac,omitzero"`            // keyed chains: HMAC-SHA256 of Hash under the log's MACKey; zero otherwise
}

// lineBufSize is room for the line of a usual record (an allow record
// with digests is about 530 bytes); longer lines grow the buffer.
const lineBufSize = 640

// ComputeHash returns the hash r should carry: the SHA-256 of the binary
// encoding of r defined in the package doc ("The chain"). The Hash field
// of r is ignored. It fails, wrapping ErrInvalidRecord, when Time cannot
// be stored (a year outside 0..9999, a zone offset of 24 hours or more).
func (r Record) ComputeHash() (Digest, error) {
	return hashRecord(&r)
}

// encode returns the line that stores r (without the newline) and the hash
// it carries. r.Hash is ignored.
func (r Record) encode() (line []byte, hash Digest, err error) {
	line, hash, err = appendLine(make([]byte, 0, lineBufSize), &r, &r.MAC)
	if err != nil {
		return nil, Digest{}, err
	}
	return line, hash, nil
}

// normalize prepares a record for the log: UTC time and valid UTF-8
// strings, so that decoding and re-encoding a stored line reproduces it
// byte for byte.
func (r *Record) normalize() error {
	if r.Decision != Allow && r.Decision != Deny {
		return fmt.Errorf("%w: decision %q is neither %q nor %q", ErrInvalidRecord, r.Decision, Allow, Deny)
	}
	r.Time = r.Time.UTC()
	// Decision was checked above. Text that is all ASCII is valid UTF-8;
	// only text with a byte of 0x80 or more needs the full check.
	fields := [...]*string{&r.Credential, &r.Venue, &r.Class, &r.Route, &r.Intent, &r.Rule, &r.Reason}
	var high uint64
	for _, s := range fields {
		high |= highBits(*s)
	}
	if high == 0 {
		return nil
	}
	for _, s := range fields {
		if !utf8.ValidString(*s) {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
		}
	}
	return nil
}

// highBits returns the OR of the bytes of s, eight at a time, masked to
// their high bits: zero exactly when s is all ASCII.
func highBits(s string) uint64 {
	var or uint64
	for len(s) >= 8 {
		or |= load64(s)
		s = s[8:]
	}
	for i := 0; i < len(s); i++ {
		or |= uint64(s[i])
	}
	return or & 0x8080808080808080
}

// parseLine decodes one stored line (without its newline) and checks that
// it carries its own hash and is the canonical encoding of the record, so
// that nothing in the line escapes the hash. On failure it returns a
// reason and whatever Seq it could decode.
func parseLine(line []byte) (Record, string) {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return r, "not a record: " + oneLine(err.Error())
	}
	hash, err := hashRecord(&r)
	if err != nil {
		return r, "not a record: " + oneLine(err.Error())
	}
	if hash != r.Hash {
		return r, "hash does not match the record: the record was edited"
	}
	var buf [1024]byte
	want, ok := appendRecordJSON(buf[:0], &r)
	if !ok || !bytes.Equal(want, line) {
		// Unknown fields, duplicate keys, other spacing or escaping,
		// another spelling of the same time.
		return r, "record is not in canonical form: the line was edited"
	}
	return r, ""
}

func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	const limit = 200
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return s
}
