// Package signer holds the keyed operations keyfence performs for the exchanges,
// and nothing that lets a caller read a key.
//
// # Model
//
// A Signer holds named keys. A caller asks it to sign a message with a key,
// by name, under one Algorithm; it gets back the signature or MAC, never the
// key. Each key has a KeyInfo: the metadata a caller may see (the venue, the
// public API key, the key type, the backend that holds the secret and, for an
// asymmetric key, its public key). The secret itself stays in the backend: in
// process memory (Memory), sealed in an encrypted keystore that opens it on
// first use (package keystore), or inside an HSM (module signer/pkcs11).
//
// Keys have a KeyType (HMAC, Ed25519, ECDSA P-256, RSA) and each signature is
// made under an Algorithm that the key type allows: an HMAC key signs with
// HMAC-SHA256 or HMAC-SHA512, an ECDSA key with raw r||s (JOSE) or DER
// output. Asking for an algorithm the key cannot do is ErrWrongAlgorithm,
// never a silent fallback. What the bytes to sign are, and how the result is
// encoded on the wire (hex, base64), is the venue package's business: a
// Signer signs exactly the bytes it is given.
//
// Venues that pair a key with an API passphrase (KuCoin, OKX, Coinbase
// Exchange) keep the passphrase in the backend too; PassphraseSigner derives
// what KuCoin sends in its place.
//
// A signature is returned in a new slice. Backends that can also write it
// into the caller's buffer, as hash.Hash.Sum does, implement AppendSigner;
// the AppendSign function uses it when it is there and Sign when it is not.
//
// # Errors
//
// Backends return errors that wrap the sentinels below (test with
// errors.Is) and, for a failure about one key, a *KeyError that names the
// key and the operation. A done context fails with the context's error.
// No error, KeyInfo or backend value ever shows a secret.
//
// # Secrets in memory
//
// Secret bytes that must exist in process memory are wrapped in Secret, which
// prints as [REDACTED] through fmt, log/slog, encoding/json and errors, and
// wipes its bytes when closed. Memory keeps an HMAC key only as the two hash
// states it determines, which sign faster than hmac.New and do not contain
// the key.
//
// Every backend runs the conformance suite in package signertest.
package signer

import (
	"context"
	"crypto"
	"errors"
	"fmt"
)

// Signer signs messages with named keys. Implementations are safe for
// concurrent use. A Signer never returns key material.
type Signer interface {
	// Sign returns the signature (or MAC) of msg under the named key with
	// the given algorithm, in a new slice the caller owns. It fails with
	// ErrKeyNotFound for an unknown key, ErrWrongAlgorithm when the key's
	// type cannot sign with alg, and ctx.Err() when ctx is done. It does
	// not modify or retain msg.
	Sign(ctx context.Context, key string, alg Algorithm, msg []byte) ([]byte, error)

	// Info returns the metadata of the named key, or ErrKeyNotFound.
	Info(ctx context.Context, key string) (KeyInfo, error)
}

// AppendSigner is implemented by signers that can append a signature to a
// buffer the caller provides, as hash.Hash.Sum appends a digest, instead
// of allocating one. AppendSign otherwise has the contract of Sign; on
// error it returns dst unchanged. Call it through the AppendSign function,
// which falls back to Sign.
type AppendSigner interface {
	AppendSign(ctx context.Context, dst []byte, key string, alg Algorithm, msg []byte) ([]byte, error)
}

// AppendSign appends the signature of msg under key to dst and returns the
// extended buffer: with s.AppendSign when s implements AppendSigner, else
// with s.Sign. On error it returns dst unchanged.
func AppendSign(ctx context.Context, s Signer, dst []byte, key string, alg Algorithm, msg []byte) ([]byte, error) {
	if a, ok := s.(AppendSigner); ok {
		out, err := a.AppendSign(ctx, dst, key, alg, msg)
		if err != nil {
			return dst, err
		}
		return out, nil
	}
	sig, err := s.Sign(ctx, key, alg, msg)
	if err != nil {
		return dst, err
	}
	return append(dst, sig...), nil
}

// Lister is implemented by backends that can enumerate their keys.
type Lister interface {
	Keys(ctx context.Context) ([]KeyInfo, error)
}

// PassphraseSigner is implemented by backends that hold an API passphrase
// beside a key (KuCoin, OKX, Coinbase Exchange). KuCoin key versions 2 and 3
// send HMAC-SHA256(secret, passphrase) instead of the passphrase; the backend
// computes it so that the passphrase never leaves it either. The result can
// stand in for the passphrase and is itself a credential.
type PassphraseSigner interface {
	SignPassphrase(ctx context.Context, key string, alg Algorithm) ([]byte, error)
}

// KeyType is the kind of a key.
type KeyType string

// The key types the venues use.
const (
	KeyHMAC      KeyType = "hmac"
	KeyEd25519   KeyType = "ed25519"
	KeyECDSAP256 KeyType = "ecdsa"
	KeyRSA       KeyType = "rsa"
)

// ParseKeyType parses a key type as written on the command line or in a
// keystore ("hmac", "ed25519", "ecdsa", "rsa").
func ParseKeyType(s string) (KeyType, error) {
	switch t := KeyType(s); t {
	case KeyHMAC, KeyEd25519, KeyECDSAP256, KeyRSA:
		return t, nil
	}
	return "", fmt.Errorf("signer: unknown key type %q: use hmac, ed25519, ecdsa or rsa", s)
}

// Algorithm is a signature or MAC algorithm, including its output encoding.
type Algorithm string

// The algorithms the venues need.
const (
	HMACSHA256 Algorithm = "HMAC-SHA256" // MAC, 32 bytes
	HMACSHA512 Algorithm = "HMAC-SHA512" // MAC, 64 bytes
	Ed25519    Algorithm = "Ed25519"     // RFC 8032 pure Ed25519, 64 bytes
	// ES256 is ECDSA P-256 over SHA-256 with the JOSE encoding: r||s, each
	// left-padded to 32 bytes (RFC 7518 section 3.4).
	ES256 Algorithm = "ECDSA-P256-SHA256"
	// ES256DER is ECDSA P-256 over SHA-256 with an ASN.1 DER signature.
	ES256DER Algorithm = "ECDSA-P256-SHA256-DER"
	// RS256 is RSASSA-PKCS1-v1_5 over SHA-256.
	RS256 Algorithm = "RSA-PKCS1v15-SHA256"
)

// KeyType returns the key type that signs with a.
func (a Algorithm) KeyType() KeyType {
	switch a {
	case HMACSHA256, HMACSHA512:
		return KeyHMAC
	case Ed25519:
		return KeyEd25519
	case ES256, ES256DER:
		return KeyECDSAP256
	case RS256:
		return KeyRSA
	}
	return ""
}

// Algorithms returns the algorithms a key of type t can sign with.
func (t KeyType) Algorithms() []Algorithm {
	switch t {
	case KeyHMAC:
		return []Algorithm{HMACSHA256, HMACSHA512}
	case KeyEd25519:
		return []Algorithm{Ed25519}
	case KeyECDSAP256:
		return []Algorithm{ES256, ES256DER}
	case KeyRSA:
		return []Algorithm{RS256}
	}
	return nil
}

// KeyInfo is what a caller may know about a key. It never holds the secret.
type KeyInfo struct {
	Name    string  // unique name of the credential, e.g. "binance-main"
	Venue   string  // exchange, e.g. "binance"
	APIKey  string  // the public API key the venue identifies the key by
	Type    KeyType // kind of key
	Backend string  // where the secret lives: "memory", "keystore", "pkcs11"
	// Public is the public key of an asymmetric key (ed25519.PublicKey,
	// *ecdsa.PublicKey or *rsa.PublicKey); nil for HMAC.
	Public crypto.PublicKey
	// HasPassphrase reports whether an API passphrase is held beside the key.
	HasPassphrase bool
}

// Errors returned by backends. Test with errors.Is.
var (
	ErrKeyNotFound    = errors.New("signer: no such key")
	ErrWrongAlgorithm = errors.New("signer: algorithm not allowed for this key")
	ErrDuplicateKey   = errors.New("signer: a key with this name already exists")
	ErrInvalidKey     = errors.New("signer: invalid key material")
	ErrNoPassphrase   = errors.New("signer: no API passphrase is held for this key")
	ErrClosed         = errors.New("signer: backend is closed")
	// ErrKeyDisabled: a remote backend (KMS, Vault) holds the key but will
	// not use it now (disabled, pending deletion or import).
	ErrKeyDisabled = errors.New("signer: the key is disabled in its backend")
	// ErrAccessDenied: a remote backend refused the caller's credentials
	// or policy for this key.
	ErrAccessDenied = errors.New("signer: the backend denied access to the key")
	// ErrUnavailable: a remote backend is throttling or temporarily
	// failing; the same call may succeed later.
	ErrUnavailable = errors.New("signer: the backend is throttling or temporarily unavailable; retry later")
)

// KeyError reports a failure about one key. It names the key and the
// operation, never the secret.
type KeyError struct {
	Op  string // "sign", "info", "import", ...
	Key string // key name
	Err error
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("signer: %s %q: %v", e.Op, e.Key, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }
