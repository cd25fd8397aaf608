// Package pkcs11 is a signer.Signer whose keys live in an HSM, a smart card
// or a software token, reached through a PKCS#11 library (cgo). It is its own
// Go module, so that the rest of keyfence builds without cgo.
//
// # Model
//
// A PKCS#11 module is a shared library (SoftHSM2's is
// /usr/lib/softhsm/libsofthsm2.so) that exposes slots holding tokens. A
// Backend opens one token, found by its label, and logs in with the user
// PIN. The PIN is a *signer.Secret: it prints as [REDACTED], is never put in
// an error, a log line or a URI, and the backend's copy is wiped by Close.
//
// A token holds objects. Each keyfence key is one object whose CKA_LABEL is
// the key's name:
//
//   - an HMAC key (an exchange's API secret) is a secret key object
//     (CKO_SECRET_KEY, CKK_GENERIC_SECRET) that may only sign: it signs with
//     CKM_SHA256_HMAC or CKM_SHA512_HMAC;
//   - an Ed25519, ECDSA P-256 or RSA key is a private key object (CKM_EDDSA;
//     CKM_ECDSA over a SHA-256 digest computed here, whose raw r||s output is
//     ES256 as is and ES256DER after conversion; CKM_SHA256_RSA_PKCS) with a
//     public key object beside it, under the same label and CKA_ID, from
//     which Info reads the public key;
//   - a venue's API passphrase (KuCoin, OKX, Coinbase Exchange) is a private
//     data object under the key's label, readable only after login;
//     SignPassphrase MACs it with the key on the token.
//
// What never leaves the token: every key object the backend creates is
// CKA_SENSITIVE and not CKA_EXTRACTABLE, so the token refuses to reveal
// CKA_VALUE (CKR_ATTRIBUTE_SENSITIVE) or to wrap the key, and it may not
// decrypt, unwrap or derive. Import copies the key material to the token
// once and wipes the byte copies it made (the C buffers of the PKCS#11
// binding, and the PIN's, are freed without wiping); Generate makes the key
// on the token, where it has always been sensitive. Only signatures and
// MACs come back.
//
// # Keys a token cannot use
//
// Tokens limit key sizes: SoftHSM2 refuses an HMAC key shorter than the
// digest (32 bytes for HMAC-SHA256, 64 for HMAC-SHA512) with
// CKR_KEY_SIZE_RANGE. Import finds this out before the first order: it
// checks the key length against the token's mechanism limits, creates the
// object, signs a test message and compares the MAC with one computed in Go.
// The algorithms that pass are the key's (Imported.Algorithms,
// Backend.Algorithms); if none does, or one the caller requires does not,
// Import removes the object and fails with ErrUnsupportedKey. Asking Sign
// for an algorithm the key lacks is signer.ErrWrongAlgorithm, with the
// reason. Asymmetric keys get the same test signature, verified with the
// public key.
//
// # URIs and metadata
//
// A keystore entry refers to a key by an RFC 7512 PKCS#11 URI, such as
//
//	pkcs11:token=keyfence;object=binance-main;id=%8E%D4...;type=secret-key?module-path=/usr/lib/softhsm/libsofthsm2.so
//
// Import and Generate return it; ParseURI and URI.String read and write it;
// OpenURI opens its token with a PIN given apart. The token knows a key's
// type and public key; the venue and API key belong to the keystore, which
// hands them to Register. Sign, Info and Keys also find a key on the token
// by label alone.
//
// # Sessions and concurrency
//
// A PKCS#11 session runs one operation at a time, so a Backend keeps a pool
// of sessions (Config.MaxSessions) and gives each signature a session of
// its own; a session that fails is closed and replaced. One more session
// stays open for the backend's life to hold the login. A library is
// initialised once per process, so backends that use the same module share
// it and the last Close finalises it.
package pkcs11
