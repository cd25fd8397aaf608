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

// macSuffixLen is the length of the fixed tail of a file:
// `,"mac":"` + 44 base64 characters + `"}` + "\n".
var macSuffixLen = len(`,"mac":"`) + base64.StdEncoding.EncodedLen(32) + len("\"}\n")

// fileJSON is the file as encoding/json sees it. Binary fields are
// standard base64 with padding.
type fileJSON struct {
	Format  string      `json:"format"`
	Version json.Number `json:"version"`
	KDF     kdfJSON     `json:"kdf"`
	Master  sealedJSON  `json:"master"`
	Check   []byte      `json:"check"`
	Entries []entryJSON `json:"entries"`
	MAC     []byte      `json:"mac"`
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

type entryJSON struct {
	Name          string `json:"name"`
	Venue         string `json:"venue"`
	APIKey        string `json:"api_key"`
	Type          string `json:"type"`
	Backend       string `json:"backend"`
	URI           string `json:"uri"`
	Public        []byte `json:"public"`
	HasPassphrase bool   `json:"has_passphrase"`
	Nonce         []byte `json:"nonce"`
	Sealed        []byte `json:"sealed"`
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
	b = append(b, "\"},\n"+`"check":"`...)
	b = base64.StdEncoding.AppendEncode(b, h.checksum())
	b = append(b, "\",\n"+`"entries":[`...)
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

// decode parses and validates a file without any key: syntax, format name
// and version, field sizes, KDF bounds, entry metadata, duplicate names and
// the header checksum. Every failure is a *FormatError or *VersionError.
func decode(path string, data []byte) (*contents, error) {
	corrupt := func(field string, off int64, reason string, err error) error {
		return &FormatError{Path: path, Field: field, Offset: off, Reason: reason, Err: err}
	}
	if len(data) == 0 {
		return nil, corrupt("", -1, "the file is empty", nil)
	}
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	err := dec.Decode(&f)
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return nil, corrupt("", syn.Offset, "invalid JSON (truncated or damaged)", nil)
	case err != nil && f.Format == "":
		// An error before anything was decoded: not even a JSON object.
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, corrupt(typ.Field, typ.Offset, "not a keystore: "+typ.Value+" where an object was expected", nil)
		}
		return nil, corrupt("", -1, "not a keystore: invalid JSON", nil)
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
		return nil, corrupt("", -1, "unexpected content (unknown field or invalid base64)", nil)
	}
	if off := dec.InputOffset(); off != int64(len(data))-1 {
		return nil, corrupt("", off, "unexpected data after the keystore object", nil)
	}
	if len(data) < macSuffixLen || !bytes.HasPrefix(data[len(data)-macSuffixLen:], []byte(`,"mac":"`)) ||
		!bytes.HasSuffix(data, []byte("\"}\n")) {
		return nil, corrupt("mac", -1, "the file does not end with its MAC", nil)
	}
	if len(f.MAC) != 32 || !hmac.Equal(f.MAC, macFromSuffix(data)) {
		return nil, corrupt("mac", -1, "the MAC is missing or malformed", nil)
	}

	h := &header{kdf: KDFParams{Time: f.KDF.Time, MemoryKiB: f.KDF.MemoryKiB, Threads: f.KDF.Threads}, salt: f.KDF.Salt}
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
	if !hmac.Equal(f.Check, h.checksum()) {
		return nil, corrupt("check", -1, "the header checksum does not match (damaged header)", nil)
	}

	c := &contents{hdr: h, entries: make([]*entry, len(f.Entries)), body: data[:len(data)-macSuffixLen], mac: f.MAC}
	seen := make(map[string]struct{}, len(f.Entries))
	for i := range f.Entries {
		j := &f.Entries[i]
		field := "entries[" + strconv.Itoa(i) + "]"
		e := &entry{Entry: Entry{Name: j.Name, Venue: j.Venue, APIKey: j.APIKey, Type: signer.KeyType(j.Type),
			Backend: j.Backend, URI: j.URI, HasPassphrase: j.HasPassphrase}, pub: j.Public, sealed: j.Sealed}
		if err := validateEntry(&e.Entry); err != nil {
			return nil, corrupt(field, -1, trimSentinel(err), nil)
		}
		if err := parsePublic(&e.Entry, e.pub); err != nil {
			return nil, corrupt(field+".public", -1, trimSentinel(err), nil)
		}
		if len(j.Nonce) != nonceSize {
			return nil, corrupt(field+".nonce", -1, fmt.Sprintf("the nonce must be %d bytes", nonceSize), nil)
		}
		if len(j.Sealed) < 4+tagSize {
			return nil, corrupt(field+".sealed", -1, "the sealed secret is too short", nil)
		}
		copy(e.nonce[:], j.Nonce)
		if _, dup := seen[e.Name]; dup {
			return nil, corrupt(field+".name", -1, fmt.Sprintf("two entries are named %q", e.Name), ErrDuplicate)
		}
		seen[e.Name] = struct{}{}
		c.entries[i] = e
	}
	return c, nil
}

// macFromSuffix decodes the MAC from the fixed tail of a file whose layout
// decode has checked. The MAC is the one field it does not cover, so its
// base64 is decoded strictly: unused bits of the last character must be
// zero, and no two spellings decode to the same MAC.
func macFromSuffix(data []byte) []byte {
	s := data[len(data)-macSuffixLen+len(`,"mac":"`) : len(data)-len("\"}\n")]
	mac, err := base64.StdEncoding.Strict().DecodeString(string(s))
	if err != nil {
		return nil
	}
	return mac
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
