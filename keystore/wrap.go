package keystore

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
)

// KeyWrapper wraps the keystore's master key with a key that never leaves
// a KMS (AWS KMS Encrypt/Decrypt, Vault Transit encrypt/decrypt), so that
// opening the keystore takes a call to the KMS instead of a passphrase.
// Implementations live in the backend modules (signer/awskms,
// signer/vault); this package depends on no cloud SDK.
type KeyWrapper interface {
	// URI names the wrapping key ("awskms://REGION/KEY-ID",
	// "vault://MOUNT/KEY"); it is recorded in the file.
	URI() string
	// WrapKey encrypts key under the wrapping key, bound to aad (the KMS
	// encryption context, or the Transit associated data), and returns
	// the ciphertext as the KMS gives it.
	WrapKey(ctx context.Context, key, aad []byte) ([]byte, error)
	// UnwrapKey reverses WrapKey. The caller wipes the result.
	UnwrapKey(ctx context.Context, wrapped, aad []byte) ([]byte, error)
}

// WrapperResolver returns the KeyWrapper for the URI a keystore records.
type WrapperResolver func(ctx context.Context, uri string) (KeyWrapper, error)

var (
	// ErrKMSWrapped: Open was given a passphrase for a keystore whose
	// master key only a KMS key wraps.
	ErrKMSWrapped = errors.New("keystore: the master key is wrapped by a KMS key and no passphrase: open it with OpenWrapped and the KMS's credentials")
	// ErrNotWrapped: OpenWrapped was given a keystore that no KMS key
	// wraps.
	ErrNotWrapped = errors.New("keystore: no KMS key wraps this keystore: open it with its passphrase")
	// ErrUnwrap: the KMS did not give back a master key that opens the
	// keystore (another key, a damaged wrap, or a KMS error).
	ErrUnwrap = errors.New("keystore: the KMS did not unwrap the master key")
)

// kmsWrap is the master key as a KMS key wrapped it.
type kmsWrap struct {
	uri     string
	wrapped []byte
}

type kmsJSON struct {
	URI     string `json:"uri"`
	Wrapped []byte `json:"wrapped"`
}

// labelKMS is the associated data of the KMS wrap of the master key.
const labelKMS = "keyfence-keystore/v1/master-kms"

const maxWrappedLen = 8192

// passphraseWrapped reports whether a header carries a passphrase wrap:
// always when no KMS wraps the key, else when any of its fields is there.
func passphraseWrapped(f *headerJSON) bool {
	return f.KMS == nil || f.KDF.Alg != "" || f.KDF.Salt != nil || f.KDF.Time != 0 || f.KDF.MemoryKiB != 0 ||
		f.KDF.Threads != 0 || f.Master.Nonce != nil || f.Master.Sealed != nil
}

// decodeKMSWrap checks the "kms" header field; reason is "" when it is
// valid.
func decodeKMSWrap(j *kmsJSON) (*kmsWrap, string) {
	b := referenceBackend(j.URI)
	if b != BackendAWSKMS && b != BackendVault {
		return nil, "the wrapping key URI must be awskms:// or vault://"
	}
	if err := validateRemoteURI(b, j.URI); err != nil {
		return nil, trimSentinel(err)
	}
	if len(j.Wrapped) == 0 || len(j.Wrapped) > maxWrappedLen {
		return nil, fmt.Sprintf("the wrapped master key must be 1 to %d bytes", maxWrappedLen)
	}
	return &kmsWrap{uri: j.URI, wrapped: j.Wrapped}, ""
}

// encodeKMSWrap appends the "kms" header field.
func encodeKMSWrap(b []byte, w *kmsWrap) []byte {
	b = append(b, ",\n"+`"kms":{"uri":`...)
	b = appendString(b, w.uri)
	b = append(b, `,"wrapped":"`...)
	b = base64.StdEncoding.AppendEncode(b, w.wrapped)
	return append(b, `"}`...)
}

// CreateWrapped creates a new, empty keystore at path whose master key is
// wrapped by w's KMS key and, if passphrase is not empty, also by the
// passphrase (either then opens it). It checks that the KMS unwraps what
// it wrapped before it writes the file, and fails with ErrExists if a file
// is there.
func CreateWrapped(ctx context.Context, path string, w KeyWrapper, passphrase []byte, opts ...Option) (*Keystore, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if w == nil {
		return nil, errors.New("keystore: CreateWrapped needs a KeyWrapper")
	}
	uri := w.URI()
	if _, reason := decodeKMSWrap(&kmsJSON{URI: uri, Wrapped: []byte{0}}); reason != "" {
		return nil, fmt.Errorf("%w: %s", ErrInvalidEntry, reason)
	}
	kdf, master, err := prepareCreate(path, opts)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Keystore, error) {
		wipe(master)
		return nil, err
	}
	h := &header{}
	if len(passphrase) > 0 {
		var err error
		if h, err = newHeader(master, passphrase, kdf); err != nil {
			return fail(err)
		}
	}
	wrapped, err := w.WrapKey(ctx, master, []byte(labelKMS))
	if err != nil {
		return fail(fmt.Errorf("keystore: wrap the master key with %s: %w", uri, err))
	}
	back, err := w.UnwrapKey(ctx, wrapped, []byte(labelKMS))
	same := err == nil && hmac.Equal(back, master)
	wipe(back)
	if !same {
		return fail(fmt.Errorf("%w: %s does not unwrap what it wrapped: %v", ErrUnwrap, uri, err))
	}
	h.kms = &kmsWrap{uri: uri, wrapped: wrapped}
	h.gen = 1
	k, err := deriveKeys(master)
	if err != nil {
		return fail(err)
	}
	if _, err := writeAtomic(path, encode(h, nil, k), true, nil); err != nil {
		k.wipe()
		return nil, err
	}
	return newKeystore(path, h, k, nil), nil
}

// OpenWrapped opens a keystore whose master key a KMS key wraps, with no
// passphrase: resolve gives the KeyWrapper for the URI the file records,
// whose UnwrapKey must return the master key. The checks are Open's: file
// permissions, format, the MAC over the whole file (ErrTampered). It fails
// with ErrNotWrapped for a keystore only a passphrase opens and ErrUnwrap
// when the KMS gives back no usable key.
func OpenWrapped(ctx context.Context, path string, resolve WrapperResolver) (*Keystore, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	ks, err := openWrappedData(ctx, path, data, resolve)
	if err != nil {
		return nil, err
	}
	if target, err := filepath.EvalSymlinks(path); err == nil {
		ks.target = target
	}
	return ks, nil
}

func openWrappedData(ctx context.Context, path string, data []byte, resolve WrapperResolver) (*Keystore, error) {
	c, err := decode(path, data)
	if err != nil {
		return nil, err
	}
	if c.hdr.kms == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotWrapped, path)
	}
	if resolve == nil {
		return nil, fmt.Errorf("keystore: %s is wrapped by %s and no WrapperResolver was given", path, c.hdr.kms.uri)
	}
	w, err := resolve(ctx, c.hdr.kms.uri)
	if err != nil {
		return nil, fmt.Errorf("keystore: %s: the wrapping key %s: %w", path, c.hdr.kms.uri, err)
	}
	master, err := w.UnwrapKey(ctx, c.hdr.kms.wrapped, []byte(labelKMS))
	if err != nil {
		return nil, fmt.Errorf("%w: %s with %s: %w", ErrUnwrap, path, c.hdr.kms.uri, err)
	}
	if len(master) != masterKeySize {
		wipe(master)
		return nil, fmt.Errorf("%w: %s with %s: the key has the wrong size", ErrUnwrap, path, c.hdr.kms.uri)
	}
	k, err := deriveKeys(master)
	if err != nil {
		wipe(master)
		return nil, err
	}
	if !hmac.Equal(k.fileMAC(c.body), c.mac) {
		name := locateTamper(k, c.entries)
		k.wipe()
		return nil, &TamperError{Path: path, Entry: name}
	}
	return newKeystore(path, c.hdr, k, c.entries), nil
}

// WrapURI returns the URI of the KMS key that wraps the master key, or ""
// when only a passphrase does.
func (k *Keystore) WrapURI() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.hdr == nil || k.hdr.kms == nil {
		return ""
	}
	return k.hdr.kms.uri
}
