package keystore

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/keyfence/keyfence/signer"
)

// Backends an entry's secret can live in.
const (
	BackendKeystore = "keystore" // sealed in the keystore file
	BackendPKCS11   = "pkcs11"   // an object in an HSM, named by a PKCS#11 URI
	BackendAWSKMS   = "awskms"   // a key in AWS KMS, named by an awskms:// URI
	BackendVault    = "vault"    // a Vault/OpenBao Transit key, named by a vault:// URI
)

// Entry is the metadata of one credential: everything about it except its
// secret and API passphrase. It is safe to print, log and marshal.
type Entry struct {
	Name   string         // unique name, e.g. "binance-main"
	Venue  string         // exchange, e.g. "binance", "kucoin", "coinbase-exchange"
	APIKey string         // the public API key the venue identifies the key by
	Type   signer.KeyType // kind of key

	// Backend is where the secret lives: BackendKeystore, or for a
	// reference BackendPKCS11, BackendAWSKMS or BackendVault. The keystore
	// sets it from the URI's scheme; callers need not.
	Backend string
	// URI names the key holding the secret, for a reference: an RFC 7512
	// "pkcs11:" URI, an "awskms://REGION/KEY-ID" or a
	// "vault://MOUNT/KEY-NAME" URI; empty otherwise.
	URI string
	// Public is the public key of an asymmetric key sealed in the keystore
	// (ed25519.PublicKey, *ecdsa.PublicKey or *rsa.PublicKey), derived from
	// the private key when it is added; nil for HMAC keys and HSM references.
	Public crypto.PublicKey
	// HasPassphrase reports whether an API passphrase is sealed beside the
	// key.
	HasPassphrase bool
}

// keyInfo converts an entry into the signer package's view of it.
func (e Entry) keyInfo() signer.KeyInfo {
	return signer.KeyInfo{
		Name: e.Name, Venue: e.Venue, APIKey: e.APIKey, Type: e.Type,
		Backend: e.Backend, Public: e.Public, HasPassphrase: e.HasPassphrase,
	}
}

// entry is an entry as held in memory: its metadata, its sealed secret and
// the state of its lazy decryption.
type entry struct {
	Entry
	pub    []byte   // PKIX DER of Public, as stored
	nonce  [24]byte // XChaCha20-Poly1305 nonce
	sealed []byte   // ciphertext and tag

	seq    uint64      // unique within the keystore, for id
	id     string      // name of the unsealed key in the keystore's signer.Memory; set when unsealed
	mu     sync.Mutex  // serialises the first decryption
	loaded atomic.Bool // unsealed: the key is in the signer.Memory, or refPass is set

	// refPass is the unsealed API passphrase of a reference (nil if it has
	// none); refMAC the passphrase's HMAC-SHA256 under the key, sealed
	// with it by AddReferenceSigned (nil if not).
	refPass *signer.Secret
	refMAC  *signer.Secret
}

const (
	maxNameLen   = 256
	maxVenueLen  = 64
	maxAPIKeyLen = 1024
	maxURILen    = 2048
)

// validateEntry checks the metadata shared by stored and new entries.
// Messages never quote values other than the name.
func validateEntry(e *Entry) error {
	if e.Name == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidEntry)
	}
	if len(e.Name) > maxNameLen || !utf8.ValidString(e.Name) || hasControl(e.Name) {
		return fmt.Errorf("%w: name must be at most %d bytes of printable UTF-8", ErrInvalidEntry, maxNameLen)
	}
	if e.Venue == "" || len(e.Venue) > maxVenueLen || strings.Trim(e.Venue, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != "" {
		return fmt.Errorf("%w: venue must be 1 to %d lowercase letters, digits, '-', '_' or '.'", ErrInvalidEntry, maxVenueLen)
	}
	if e.APIKey == "" || len(e.APIKey) > maxAPIKeyLen || !printableASCII(e.APIKey) {
		return fmt.Errorf("%w: API key must be 1 to %d printable ASCII characters", ErrInvalidEntry, maxAPIKeyLen)
	}
	if _, err := signer.ParseKeyType(string(e.Type)); err != nil {
		return fmt.Errorf("%w: key type must be hmac, ed25519, ecdsa or rsa", ErrInvalidEntry)
	}
	switch e.Backend {
	case BackendKeystore:
		if e.URI != "" {
			return fmt.Errorf("%w: a key sealed in the keystore has no PKCS#11 URI", ErrInvalidEntry)
		}
	case BackendPKCS11:
		if err := validatePKCS11URI(e.URI); err != nil {
			return err
		}
	case BackendAWSKMS, BackendVault:
		if err := validateRemoteURI(e.Backend, e.URI); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: backend must be %q, %q, %q or %q", ErrInvalidEntry, BackendKeystore, BackendPKCS11, BackendAWSKMS, BackendVault)
	}
	return nil
}

// parsePublic decodes and checks the stored public key of an entry.
func parsePublic(e *Entry, der []byte) error {
	if len(der) == 0 {
		if e.Backend == BackendKeystore && e.Type != signer.KeyHMAC {
			return fmt.Errorf("%w: the public key of a %s key is missing", ErrInvalidEntry, e.Type)
		}
		e.Public = nil
		return nil
	}
	if e.Backend != BackendKeystore || e.Type == signer.KeyHMAC {
		return fmt.Errorf("%w: only an asymmetric key sealed in the keystore has a stored public key", ErrInvalidEntry)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return fmt.Errorf("%w: public key is not valid PKIX DER", ErrInvalidEntry)
	}
	if publicKeyType(pub) != e.Type {
		return fmt.Errorf("%w: public key is not a %s key", ErrInvalidEntry, e.Type)
	}
	e.Public = pub
	return nil
}

func publicKeyType(pub crypto.PublicKey) signer.KeyType {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return signer.KeyEd25519
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return signer.KeyECDSAP256
		}
	case *rsa.PublicKey:
		return signer.KeyRSA
	}
	return ""
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// validatePKCS11URI checks the syntax of an RFC 7512 URI minimally: the
// scheme, attributes of the form name=value separated by ';' (path) and '&'
// (query), valid percent-encoding and no whitespace or control characters.
// It does not interpret the attributes; a Resolver does.
func validatePKCS11URI(uri string) error {
	const scheme = "pkcs11:"
	bad := func(why string) error {
		return fmt.Errorf("%w: PKCS#11 URI %s (RFC 7512, e.g. pkcs11:token=hsm;object=binance-main)", ErrInvalidEntry, why)
	}
	if len(uri) > maxURILen {
		return bad(fmt.Sprintf("is longer than %d bytes", maxURILen))
	}
	if !strings.HasPrefix(uri, scheme) {
		return bad("must start with \"pkcs11:\"")
	}
	rest := uri[len(scheme):]
	path, query, _ := strings.Cut(rest, "?")
	if path == "" {
		return bad("names no object")
	}
	check := func(part, sep string) error {
		if part == "" {
			return nil
		}
		for attr := range strings.SplitSeq(part, sep) {
			name, value, ok := strings.Cut(attr, "=")
			if !ok || name == "" {
				return bad("has an attribute that is not name=value")
			}
			if err := checkPctEncoded(name + value); err != nil {
				return bad(err.Error())
			}
		}
		return nil
	}
	if err := check(path, ";"); err != nil {
		return err
	}
	return check(query, "&")
}

func checkPctEncoded(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return fmt.Errorf("has a bad percent-encoding")
			}
			i += 2
		case c <= 0x20 || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}#?", c) >= 0:
			return fmt.Errorf("has a character that must be percent-encoded")
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
