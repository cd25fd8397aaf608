package keystore

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// KDFParams are the Argon2id parameters that derive the key wrapping the
// master key from the passphrase. They are stored in the file.
type KDFParams struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // parallelism
}

// DefaultKDFParams returns the parameters Create uses unless told
// otherwise: 64 MiB, 3 passes, 4 lanes (the second recommendation of RFC
// 9106, section 4, with more passes).
func DefaultKDFParams() KDFParams {
	return KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}
}

// Bounds on KDF parameters read from a file, so that a damaged file cannot
// make Open allocate unbounded memory or run for hours.
const (
	maxKDFTime      = 64
	maxKDFMemoryKiB = 4 << 20 // 4 GiB
)

func (p KDFParams) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxKDFTime:
		return fmt.Errorf("argon2id time must be 1 to %d, not %d", maxKDFTime, p.Time)
	case p.Threads < 1:
		return fmt.Errorf("argon2id threads must be at least 1")
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxKDFMemoryKiB:
		return fmt.Errorf("argon2id memory must be %d to %d KiB, not %d", 8*uint32(p.Threads), maxKDFMemoryKiB, p.MemoryKiB)
	}
	return nil
}

const (
	masterKeySize = 32
	saltSize      = 16
	nonceSize     = chacha20poly1305.NonceSizeX
	tagSize       = chacha20poly1305.Overhead

	kdfArgon2id = "argon2id"

	// Labels separating the uses of keys and hashes (domain separation).
	labelMaster = "keyfence-keystore/v1/master"
	labelHeader = "keyfence-keystore/v1/header"
	labelEntry  = "keyfence-keystore/v1/entry"
	labelSeal   = "keyfence-keystore/v1/entry-key"
	labelMAC    = "keyfence-keystore/v1/file-mac"
)

// header is the part of the file that wraps the master key.
type header struct {
	kdf    KDFParams
	salt   []byte
	nonce  [nonceSize]byte
	sealed []byte // the wrapped master key and its tag; nil when only a KMS wraps it
	kms    *kmsWrap
	gen    uint64 // the file's generation (format.go)
}

// masterAD is the associated data of the master-key wrap: the format
// version, the KDF and its parameters and the salt.
func (h *header) masterAD() []byte {
	b := make([]byte, 0, 64+len(h.salt))
	b = appendField(b, labelMaster)
	b = binary.BigEndian.AppendUint32(b, FormatVersion)
	b = appendField(b, kdfArgon2id)
	b = binary.BigEndian.AppendUint32(b, h.kdf.Time)
	b = binary.BigEndian.AppendUint32(b, h.kdf.MemoryKiB)
	b = append(b, h.kdf.Threads)
	return appendField(b, string(h.salt))
}

// checksum is the unkeyed SHA-256 commitment to the header stored beside
// it. It detects accidental damage to the header before the KDF runs; it
// cannot detect a deliberate edit (the editor recomputes it), which then
// shows as ErrWrongPassphrase.
func (h *header) checksum() []byte {
	d := sha256.New()
	d.Write([]byte(labelHeader))
	d.Write(h.masterAD())
	d.Write(h.nonce[:])
	d.Write(h.sealed)
	if h.kms != nil {
		d.Write(appendField(appendField(nil, h.kms.uri), string(h.kms.wrapped)))
	}
	return d.Sum(nil)
}

// kek derives the key-encryption key from the passphrase.
func (h *header) kek(passphrase []byte) []byte {
	return argon2.IDKey(passphrase, h.salt, h.kdf.Time, h.kdf.MemoryKiB, h.kdf.Threads, chacha20poly1305.KeySize)
}

// newHeader wraps master under a fresh salt and nonce.
func newHeader(master, passphrase []byte, kdf KDFParams) (*header, error) {
	h := &header{kdf: kdf, salt: make([]byte, saltSize)}
	if _, err := rand.Read(h.salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(h.nonce[:]); err != nil {
		return nil, err
	}
	kek := h.kek(passphrase)
	defer wipe(kek)
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return nil, err
	}
	h.sealed = aead.Seal(nil, h.nonce[:], master, h.masterAD())
	return h, nil
}

// unwrap returns the master key, or ErrWrongPassphrase.
func (h *header) unwrap(passphrase []byte) ([]byte, error) {
	if h.sealed == nil {
		return nil, ErrKMSWrapped
	}
	kek := h.kek(passphrase)
	defer wipe(kek)
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return nil, err
	}
	master, err := aead.Open(nil, h.nonce[:], h.sealed, h.masterAD())
	if err != nil || len(master) != masterKeySize {
		wipe(master)
		return nil, ErrWrongPassphrase
	}
	return master, nil
}

// keys are the working keys derived from the master key.
type keys struct {
	master []byte // kept to rewrap it under a new passphrase
	seal   []byte // XChaCha20-Poly1305 key of the entries
	mac    []byte // HMAC-SHA256 key of the file MAC
}

func deriveKeys(master []byte) (*keys, error) {
	seal, err := hkdf.Expand(sha256.New, master, labelSeal, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	mac, err := hkdf.Expand(sha256.New, master, labelMAC, sha256.Size)
	if err != nil {
		return nil, err
	}
	return &keys{master: master, seal: seal, mac: mac}, nil
}

func (k *keys) wipe() {
	wipe(k.master)
	wipe(k.seal)
	wipe(k.mac)
}

// fileMAC authenticates the whole file body.
func (k *keys) fileMAC(body []byte) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write(body)
	return m.Sum(nil)
}

// entryAD is the associated data of an entry's seal: the format version
// and all of its metadata, so that an entry cannot be renamed, moved to
// another venue or API key, retyped or pointed at another HSM object.
func entryAD(e *entry) []byte {
	b := make([]byte, 0, 64+len(e.Name)+len(e.Venue)+len(e.APIKey)+len(e.URI)+len(e.pub))
	b = appendField(b, labelEntry)
	b = binary.BigEndian.AppendUint32(b, FormatVersion)
	b = appendField(b, e.Name)
	b = appendField(b, e.Venue)
	b = appendField(b, e.APIKey)
	b = appendField(b, string(e.Type))
	b = appendField(b, e.Backend)
	b = appendField(b, e.URI)
	b = appendField(b, string(e.pub))
	if e.HasPassphrase {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendField appends s with a 4-byte length prefix, so that field
// boundaries are unambiguous.
func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// sealEntry encrypts an entry's secret and passphrase. The plaintext is a
// 4-byte big-endian length, the secret, then the passphrase (empty for an
// HSM reference, whose seal then only authenticates the metadata).
func sealEntry(k *keys, e *entry, secret, passphrase []byte) error {
	if _, err := rand.Read(e.nonce[:]); err != nil {
		return err
	}
	pt := make([]byte, 0, 4+len(secret)+len(passphrase))
	pt = binary.BigEndian.AppendUint32(pt, uint32(len(secret)))
	pt = append(pt, secret...)
	pt = append(pt, passphrase...)
	defer wipe(pt)
	aead, err := chacha20poly1305.NewX(k.seal)
	if err != nil {
		return err
	}
	e.sealed = aead.Seal(make([]byte, 0, len(pt)+tagSize), e.nonce[:], pt, entryAD(e))
	return nil
}

// openEntry decrypts an entry. The caller must wipe the returned
// plaintext; secret and passphrase alias it. passphrase is nil when the
// entry has none.
func openEntry(k *keys, e *entry) (pt, secret, passphrase []byte, ok bool) {
	aead, err := chacha20poly1305.NewX(k.seal)
	if err != nil {
		return nil, nil, nil, false
	}
	pt, err = aead.Open(nil, e.nonce[:], e.sealed, entryAD(e))
	if err != nil || len(pt) < 4 {
		wipe(pt)
		return nil, nil, nil, false
	}
	n := binary.BigEndian.Uint32(pt)
	if uint64(n) > uint64(len(pt)-4) {
		wipe(pt)
		return nil, nil, nil, false
	}
	secret, passphrase = pt[4:4+n], pt[4+n:]
	if !e.HasPassphrase {
		if len(passphrase) != 0 {
			wipe(pt)
			return nil, nil, nil, false
		}
		passphrase = nil
	}
	return pt, secret, passphrase, true
}

func wipe(b []byte) { clear(b) }
