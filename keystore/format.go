package keystore

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/keyfence/keyfence/signer"
)

// FormatVersion is the version of the file format this package writes and
// reads.
const FormatVersion = 1

const formatName = "keyfence-keystore"

// headerJSON is the header of the file as encoding/json reads it: the file
// up to its entry list, closed with a brace. Binary fields are standard
// base64 with padding.
type headerJSON struct {
	Format  string      `json:"format"`
	Version json.Number `json:"version"`
	// Generation counts the writes of the file (absent before the first
	// write of a file made without it). It is covered by the file MAC, so
	// an older copy of the file shows an older generation.
	Generation uint64     `json:"generation"`
	KDF        kdfJSON    `json:"kdf"`
	Master     sealedJSON `json:"master"`
	KMS        *kmsJSON   `json:"kms"`
	Check      []byte     `json:"check"`
}

type kdfJSON struct {
	Alg       string `json:"alg"`
	Salt      []byte `json:"salt"`
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

type sealedJSON struct {
	Nonce  []byte `json:"nonce"`
	Sealed []byte `json:"sealed"`
}

// contents is a parsed file: the header, the entries, and the body the file
// MAC covers.
type contents struct {
	hdr     *header
	entries []*entry
	body    []byte
	mac     []byte
}

// encode writes the file. The layout is fixed so that the MAC can cover
// every byte before it: the body is everything up to the `,"mac":"` that
// ends the file.
func encode(h *header, entries []*entry, k *keys) []byte {
	size := 512
	for _, e := range entries {
		size += 160 + len(e.Name) + len(e.Venue) + len(e.APIKey) + len(e.URI) +
			base64.StdEncoding.EncodedLen(len(e.pub)) + base64.StdEncoding.EncodedLen(len(e.sealed))
	}
	b := make([]byte, 0, size)
	b = append(b, `{"format":"`+formatName+`","version":`...)
	b = strconv.AppendInt(b, FormatVersion, 10)
	if h.gen > 0 {
		b = append(b, `,"generation":`...)
		b = strconv.AppendUint(b, h.gen, 10)
	}
	if h.sealed != nil {
		b = encodePassphraseWrap(b, h)
	}
	if h.kms != nil {
		b = encodeKMSWrap(b, h.kms)
	}
	b = append(b, ",\n"+`"check":"`...)
	b = base64.StdEncoding.AppendEncode(b, h.checksum())
	b = append(b, "\",\n"+`"entries":[`...)
	return encodeEntries(b, entries, k)
}

// encodePassphraseWrap appends the KDF and the passphrase-wrapped master
// key.
func encodePassphraseWrap(b []byte, h *header) []byte {
	b = append(b, ",\n"+`"kdf":{"alg":"`+kdfArgon2id+`","salt":"`...)
	b = base64.StdEncoding.AppendEncode(b, h.salt)
	b = append(b, `","time":`...)
	b = strconv.AppendUint(b, uint64(h.kdf.Time), 10)
	b = append(b, `,"memory_kib":`...)
	b = strconv.AppendUint(b, uint64(h.kdf.MemoryKiB), 10)
	b = append(b, `,"threads":`...)
	b = strconv.AppendUint(b, uint64(h.kdf.Threads), 10)
	b = append(b, "},\n"+`"master":{"nonce":"`...)
	b = base64.StdEncoding.AppendEncode(b, h.nonce[:])
	b = append(b, `","sealed":"`...)
	b = base64.StdEncoding.AppendEncode(b, h.sealed)
	return append(b, `"}`...)
}

// encodeEntries appends the entry list and the file MAC.
func encodeEntries(b []byte, entries []*entry, k *keys) []byte {
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n"+`{"name":`...)
		b = appendString(b, e.Name)
		b = append(b, `,"venue":`...)
		b = appendString(b, e.Venue)
		b = append(b, `,"api_key":`...)
		b = appendString(b, e.APIKey)
		b = append(b, `,"type":`...)
		b = appendString(b, string(e.Type))
		b = append(b, `,"backend":`...)
		b = appendString(b, e.Backend)
		if e.URI != "" {
			b = append(b, `,"uri":`...)
			b = appendString(b, e.URI)
		}
		if len(e.pub) > 0 {
			b = append(b, `,"public":"`...)
			b = base64.StdEncoding.AppendEncode(b, e.pub)
			b = append(b, '"')
		}
		if e.HasPassphrase {
			b = append(b, `,"has_passphrase":true`...)
		}
		b = append(b, `,"nonce":"`...)
		b = base64.StdEncoding.AppendEncode(b, e.nonce[:])
		b = append(b, `","sealed":"`...)
		b = base64.StdEncoding.AppendEncode(b, e.sealed)
		b = append(b, `"}`...)
	}
	b = append(b, "\n]"...)
	mac := k.fileMAC(b)
	b = append(b, `,"mac":"`...)
	b = base64.StdEncoding.AppendEncode(b, mac)
	return append(b, "\"}\n"...)
}

// appendString appends s as a JSON string. s is valid UTF-8 (entries are
// validated before they are stored).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// entriesMarker separates the header from the entry list.
const entriesMarker = ",\n\"entries\":["

// decode parses and validates a file without any key: syntax, format name
// and version, field sizes, KDF bounds, entry metadata, duplicate names and
// the header checksum. Every failure is a *FormatError or *VersionError.
//
// The header is read with encoding/json. The entry list, which is nearly
// all of a large file, is read by a scanner that accepts exactly the
// layout encode writes: a file in any other layout would fail its MAC
// anyway, and the scanner is several times faster.
func decode(path string, data []byte) (*contents, error) {
	corrupt := func(field string, off int64, reason string, err error) error {
		if v, ok := probeVersion(data); ok && v != FormatVersion {
			return &VersionError{Path: path, Version: v}
		}
		return &FormatError{Path: path, Field: field, Offset: off, Reason: reason, Err: err}
	}
	if len(data) == 0 {
		return nil, corrupt("", -1, "the file is empty", nil)
	}
	split := bytes.Index(data, []byte(entriesMarker))
	if split < 0 {
		var syn *json.SyntaxError
		if err := json.Unmarshal(data, new(any)); errors.As(err, &syn) {
			return nil, corrupt("", syn.Offset, "invalid JSON (truncated or damaged)", nil)
		}
		return nil, corrupt("entries", -1, "the entry list is missing (truncated or damaged file)", nil)
	}
	hdrJSON := make([]byte, 0, split+1)
	hdrJSON = append(append(hdrJSON, data[:split]...), '}')
	var f headerJSON
	dec := json.NewDecoder(bytes.NewReader(hdrJSON))
	dec.DisallowUnknownFields()
	err := dec.Decode(&f)
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return nil, corrupt("", min(syn.Offset, int64(split)), "invalid JSON (truncated or damaged)", nil)
	case err != nil && f.Format == "":
		return nil, corrupt("", -1, "not a keystore: the header is not a JSON object", nil)
	}
	if f.Format != formatName {
		return nil, corrupt("format", -1, "not a keyfence keystore", nil)
	}
	if v, verr := f.Version.Int64(); verr != nil || v != FormatVersion {
		if verr != nil || v < 0 || v > 1<<30 {
			return nil, corrupt("version", -1, "the version is not a small integer", nil)
		}
		return nil, &VersionError{Path: path, Version: int(v)}
	}
	if err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, corrupt(typ.Field, typ.Offset, "a value has the wrong type or size", nil)
		}
		// Unknown fields and bad base64 have no typed error in encoding/json.
		return nil, corrupt("", -1, "unexpected content in the header (unknown field or invalid base64)", nil)
	}
	if off := dec.InputOffset(); off != int64(len(hdrJSON)) {
		return nil, corrupt("", off, "unexpected data in the header", nil)
	}

	h := &header{kdf: KDFParams{Time: f.KDF.Time, MemoryKiB: f.KDF.MemoryKiB, Threads: f.KDF.Threads}, salt: f.KDF.Salt, gen: f.Generation}
	if passphraseWrapped(&f) {
		switch {
		case f.KDF.Alg != kdfArgon2id:
			return nil, corrupt("kdf.alg", -1, "the KDF must be argon2id", nil)
		case len(f.KDF.Salt) < saltSize || len(f.KDF.Salt) > 64:
			return nil, corrupt("kdf.salt", -1, fmt.Sprintf("the salt must be %d to 64 bytes", saltSize), nil)
		case len(f.Master.Nonce) != nonceSize:
			return nil, corrupt("master.nonce", -1, fmt.Sprintf("the nonce must be %d bytes", nonceSize), nil)
		case len(f.Master.Sealed) != masterKeySize+tagSize:
			return nil, corrupt("master.sealed", -1, fmt.Sprintf("the wrapped master key must be %d bytes", masterKeySize+tagSize), nil)
		}
		if err := h.kdf.validate(); err != nil {
			return nil, corrupt("kdf", -1, err.Error(), nil)
		}
		copy(h.nonce[:], f.Master.Nonce)
		h.sealed = f.Master.Sealed
	}
	if f.KMS != nil {
		var reason string
		if h.kms, reason = decodeKMSWrap(f.KMS); reason != "" {
			return nil, corrupt("kms", -1, reason, nil)
		}
	}

	sc := &scanner{b: data, i: split + len(entriesMarker)}
	entries, err := sc.entries(path)
	if err != nil {
		return nil, err
	}
	macStart := sc.i
	if !sc.lit(`,"mac":`) {
		return nil, corrupt("mac", int64(sc.i), "the file does not end with its MAC", nil)
	}
	mac, ok := sc.base64(32, 32)
	if !ok || !sc.lit("}\n") || sc.i != len(data) {
		return nil, corrupt("mac", int64(sc.i), "the MAC is malformed or followed by other data", nil)
	}
	if !hmac.Equal(f.Check, h.checksum()) {
		return nil, corrupt("check", -1, "the header checksum does not match (damaged header)", nil)
	}
	return &contents{hdr: h, entries: entries, body: data[:macStart], mac: mac}, nil
}

// probeVersion reads the format version of a file whose layout may not be
// this version's. It reports false unless data is a JSON object naming the
// keyfence-keystore format with an integer version.
func probeVersion(data []byte) (int, bool) {
	var p struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if json.Unmarshal(data, &p) != nil || p.Format != formatName || p.Version < 0 || p.Version > 1<<30 {
		return 0, false
	}
	return p.Version, true
}

// scanner reads the entry list of a file in the exact layout encode writes.
type scanner struct {
	b      []byte
	i      int
	shared map[string]string // one copy of each venue, type and backend
}

func (s *scanner) lit(l string) bool {
	if len(s.b)-s.i >= len(l) && string(s.b[s.i:s.i+len(l)]) == l {
		s.i += len(l)
		return true
	}
	return false
}

// str reads a JSON string as encode writes it: escapes only for '"', '\\'
// and control characters (as \u00XX).
//
// With share, a string without escapes is shared with equal ones read
// before: venues, types and backends repeat in every entry.
func (s *scanner) str(share bool) (string, bool) {
	if !s.lit(`"`) {
		return "", false
	}
	start, plain := s.i, true
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			if !plain {
				return unescape(v)
			}
			if !share {
				return string(v), true
			}
			if x, ok := s.shared[string(v)]; ok {
				return x, true
			}
			x := string(v)
			if len(s.shared) < 256 {
				if s.shared == nil {
					s.shared = map[string]string{}
				}
				s.shared[x] = x
			}
			return x, true
		case c == '\\':
			plain = false
			s.i += 2
		case c < 0x20:
			return "", false
		default:
			s.i++
		}
	}
	return "", false
}

func unescape(v []byte) (string, bool) {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' {
			out = append(out, v[i])
			continue
		}
		if i+1 >= len(v) {
			return "", false
		}
		switch v[i+1] {
		case '"', '\\':
			out = append(out, v[i+1])
			i++
		case 'u':
			if i+6 > len(v) || string(v[i+2:i+4]) != "00" || !isHex(v[i+4]) || !isHex(v[i+5]) ||
				v[i+4] > '1' {
				return "", false
			}
			n, _ := strconv.ParseUint(string(v[i+4:i+6]), 16, 8)
			out = append(out, byte(n))
			i += 5
		default:
			return "", false
		}
	}
	return string(out), true
}

// base64 reads a quoted standard base64 string, strictly (canonical
// padding bits), of a decoded length between lo and hi.
func (s *scanner) base64(lo, hi int) ([]byte, bool) {
	return s.base64Into(nil, lo, hi)
}

// base64Into is base64 decoding into dst if it is large enough.
func (s *scanner) base64Into(dst []byte, lo, hi int) ([]byte, bool) {
	if !s.lit(`"`) {
		return nil, false
	}
	end := bytes.IndexByte(s.b[s.i:], '"')
	if end < 0 {
		return nil, false
	}
	enc := s.b[s.i : s.i+end]
	s.i += end + 1
	if len(enc)%4 != 0 || len(enc)/4*3 < lo || len(enc)/4*3 > hi+2 {
		return nil, false
	}
	out := dst
	if len(out) < base64.StdEncoding.DecodedLen(len(enc)) {
		out = make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	}
	n, err := base64.StdEncoding.Strict().Decode(out, enc)
	if err != nil || n < lo || n > hi {
		return nil, false
	}
	return out[:n], true
}

// entries reads the entry list up to its closing bracket and validates
// each entry.
func (s *scanner) entries(path string) ([]*entry, error) {
	// Every entry but the first follows a comma and a newline.
	n := bytes.Count(s.b[s.i:], []byte(",\n{")) + 1
	out := make([]*entry, 0, n)
	seen := make(map[string]struct{}, n)
	if s.lit("\n]") {
		return out, nil
	}
	for n := 0; ; n++ {
		field := "entries[" + strconv.Itoa(n) + "]"
		start := s.i
		e, name, ok := s.entry()
		if !ok {
			return nil, &FormatError{Path: path, Field: field + name, Offset: int64(s.i),
				Reason: "malformed entry (truncated or damaged)"}
		}
		if err := validateEntry(&e.Entry); err != nil {
			return nil, &FormatError{Path: path, Field: field, Offset: int64(start), Reason: trimSentinel(err)}
		}
		if err := parsePublic(&e.Entry, e.pub); err != nil {
			return nil, &FormatError{Path: path, Field: field + ".public", Offset: int64(start), Reason: trimSentinel(err)}
		}
		if _, dup := seen[e.Name]; dup {
			return nil, &FormatError{Path: path, Field: field + ".name", Offset: int64(start),
				Reason: fmt.Sprintf("two entries are named %q", e.Name), Err: ErrDuplicate}
		}
		seen[e.Name] = struct{}{}
		out = append(out, e)
		if s.lit(",") {
			continue
		}
		if !s.lit("\n]") {
			return nil, &FormatError{Path: path, Field: "entries", Offset: int64(s.i), Reason: "the entry list is not closed (truncated or damaged)"}
		}
		return out, nil
	}
}

// entry reads one entry line. On failure it returns the field at fault.
func (s *scanner) entry() (*entry, string, bool) {
	e := &entry{}
	str := func(key string, dst *string, share bool) bool {
		if !s.lit(key) {
			return false
		}
		v, ok := s.str(share)
		*dst = v
		return ok
	}
	var typ string
	switch {
	case !str("\n"+`{"name":`, &e.Name, false):
		return nil, ".name", false
	case !str(`,"venue":`, &e.Venue, true):
		return nil, ".venue", false
	case !str(`,"api_key":`, &e.APIKey, false):
		return nil, ".api_key", false
	case !str(`,"type":`, &typ, true):
		return nil, ".type", false
	case !str(`,"backend":`, &e.Backend, true):
		return nil, ".backend", false
	}
	e.Type = signer.KeyType(typ)
	if s.lit(`,"uri":`) {
		v, ok := s.str(false)
		if !ok {
			return nil, ".uri", false
		}
		e.URI = v
	}
	if s.lit(`,"public":`) {
		v, ok := s.base64(1, 4096)
		if !ok {
			return nil, ".public", false
		}
		e.pub = v
	}
	if s.lit(`,"has_passphrase":true`) {
		e.HasPassphrase = true
	}
	if !s.lit(`,"nonce":`) {
		return nil, ".nonce", false
	}
	if _, ok := s.base64Into(e.nonce[:], nonceSize, nonceSize); !ok {
		return nil, ".nonce", false
	}
	if !s.lit(`,"sealed":`) {
		return nil, ".sealed", false
	}
	var ok bool
	if e.sealed, ok = s.base64(4+tagSize, 1<<20); !ok {
		return nil, ".sealed", false
	}
	if !s.lit("}") {
		return nil, "", false
	}
	return e, "", true
}

// trimSentinel drops the "keystore: invalid entry: " prefix of a
// validation error for use inside a FormatError.
func trimSentinel(err error) string {
	s := err.Error()
	if p := ErrInvalidEntry.Error() + ": "; len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
