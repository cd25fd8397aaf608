package audit

import (
	"crypto/sha256"
	"encoding/binary"
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

// hashRecord returns the hash r carries: the SHA-256 of its hash input
// (see appendHashInput). r.Hash is ignored.
func hashRecord(r *Record) (Digest, error) {
	var buf [hashBufSize]byte
	in, err := appendHashInput(buf[:0], r)
	if err != nil {
		return Digest{}, err
	}
	return sha256.Sum256(in), nil
}

// appendHashInput appends the input of r's hash to dst, as the package doc
// defines it ("The chain"): the domain, Seq, Time, the text fields each
// prefixed by its length, and the three digests in binary. r.Hash is not
// part of it. It fails, wrapping ErrInvalidRecord, for a time the line
// cannot hold.
func appendHashInput(dst []byte, r *Record) ([]byte, error) {
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
	dst = appendOptionalDigest(dst, &r.PayloadSHA256)
	dst = appendOptionalDigest(dst, &r.PolicySHA256)
	// Prev is always present: the first record's is the zero Digest.
	return append(append(dst, 1), r.Prev[:]...), nil
}

// appendOptionalDigest appends a digest that may be absent to the hash
// input: the byte 0 for the zero Digest, else 1 and its 32 bytes.
func appendOptionalDigest(dst []byte, d *Digest) []byte {
	if d.IsZero() {
		return append(dst, 0)
	}
	return append(append(dst, 1), d[:]...)
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
