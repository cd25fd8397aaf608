//go:build cgo

package pkcs11

import (
	"errors"

	"github.com/miekg/pkcs11"
)

// Errors of this backend. Key-level failures are also *signer.KeyError and
// wrap the signer sentinels (signer.ErrKeyNotFound, signer.ErrWrongAlgorithm,
// signer.ErrDuplicateKey, signer.ErrInvalidKey, signer.ErrClosed) where
// those apply. Test with errors.Is.
var (
	// ErrModule: the PKCS#11 library could not be loaded or initialised.
	ErrModule = errors.New("pkcs11: cannot use the PKCS#11 module")
	// ErrTokenNotFound: no initialised token matches the configured label.
	ErrTokenNotFound = errors.New("pkcs11: no token with this label: check the label with `softhsm2-util --show-slots` or `pkcs11-tool -L`")
	// ErrLogin: the token refused the user PIN, or the PIN is locked.
	ErrLogin = errors.New("pkcs11: the token refused the user PIN")
	// ErrUnsupportedKey: the token cannot hold or sign with this key (for
	// example an HMAC key shorter than the token's minimum for the digest,
	// or a key type whose mechanism the token lacks). Import reports it and
	// leaves nothing on the token.
	ErrUnsupportedKey = errors.New("pkcs11: the token cannot sign with this key")
)

// rv returns the PKCS#11 return value carried by err, or 0.
func rv(err error) uint {
	var e pkcs11.Error
	if errors.As(err, &e) {
		return uint(e)
	}
	return 0
}

// staleSession reports whether err means the session can no longer be used
// and must be discarded rather than returned to the pool.
func staleSession(err error) bool {
	switch rv(err) {
	case pkcs11.CKR_SESSION_HANDLE_INVALID, pkcs11.CKR_SESSION_CLOSED,
		pkcs11.CKR_DEVICE_ERROR, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_PRESENT,
		pkcs11.CKR_USER_NOT_LOGGED_IN, pkcs11.CKR_OPERATION_ACTIVE,
		pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED, pkcs11.CKR_GENERAL_ERROR:
		return true
	}
	return false
}

// staleHandle reports whether err means a cached object handle is no longer
// valid and the object must be found again.
func staleHandle(err error) bool {
	switch rv(err) {
	case pkcs11.CKR_OBJECT_HANDLE_INVALID, pkcs11.CKR_KEY_HANDLE_INVALID:
		return true
	}
	return false
}
