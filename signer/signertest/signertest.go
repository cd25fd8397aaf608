// Package signertest is the conformance suite that every signer.Signer
// backend runs, in the manner of gocloud.dev's drivertest.
//
// # Model
//
// The suite never sees how a backend stores keys. A backend's test supplies
// a Harness: given a list of keys (name, metadata, key material and API
// passphrase), it returns a fresh signer.Signer holding exactly those keys.
// Run then calls the harness once per group of checks and asserts, through
// the Signer interface alone, that the backend:
//
//   - reproduces the RFC 4231 HMAC-SHA-256/512 vectors (test cases 1 to 7)
//     and the RFC 8032 Ed25519 vectors (TEST 1, 2, 3, 1024 and SHA(abc)),
//     with Ed25519 material given as a seed, seed||public key and PKCS#8;
//   - reproduces the venues' published signing examples (Binance REST and
//     WebSocket, Kraken, KuCoin, Coinbase Exchange) and the fixtures derived
//     from their documented inputs (KuCoin, OKX, Bybit, Coinbase Exchange),
//     including KuCoin's signed passphrase through signer.PassphraseSigner;
//   - makes ES256 (raw r||s), ES256DER and RS256 signatures that verify
//     with crypto/ecdsa and crypto/rsa, with keys generated at run time;
//   - reports metadata (signer.KeyInfo) as imported, with the public key of
//     an asymmetric key and no secret;
//   - fails with signer.ErrKeyNotFound, signer.ErrWrongAlgorithm,
//     signer.ErrNoPassphrase and the context's error where it should, with
//     one-line messages that name the key;
//   - signs correctly from 64 goroutines at once;
//   - never shows a canary secret or passphrase, in any form, in its
//     errors, its metadata or itself, through fmt, log/slog or encoding/json.
//
// # Limited backends
//
// A backend that cannot hold some key (SoftHSM refuses HMAC keys shorter
// than the digest, such as RFC 4231's four-byte "Jefe") returns an error
// made by Unsupported, naming that key, from Harness.MakeSigner. The suite
// then asks again without that key and skips, with the harness's reason,
// only the checks that need it. An error that wraps ErrUnsupported without
// naming a key skips the whole group. A backend that does not implement
// signer.PassphraseSigner skips the passphrase checks.
//
// # Use
//
//	func TestConformance(t *testing.T) {
//		signertest.Run(t, signertest.HarnessFunc(func(ctx context.Context, t *testing.T, keys []signertest.Key) (signer.Signer, func(), error) {
//			m := signer.NewMemory()
//			for _, k := range keys {
//				if err := m.Import(k.Info, k.Material, k.Passphrase); err != nil {
//					return nil, nil, err
//				}
//			}
//			return m, func() { m.Close() }, nil
//		}))
//	}
package signertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

// Key is a key the suite asks a harness to hold.
type Key struct {
	// Info is the key's metadata: Name, Venue, APIKey, Type and
	// HasPassphrase are set; Backend and Public are the backend's to fill.
	Info signer.KeyInfo
	// Material is the key material as signer.Memory.Import takes it: the
	// HMAC key bytes, or an asymmetric key as signer.ParsePrivateKey reads
	// it (an Ed25519 seed, seed||public key, or PKCS#8 PEM).
	Material []byte
	// Passphrase is the API passphrase held beside the key, or nil.
	Passphrase []byte
}

// Harness makes backends for the suite.
type Harness interface {
	// MakeSigner returns a new backend that holds exactly keys, and a
	// function, possibly nil, that releases it. The harness owns keys and
	// may wipe their material. If the backend cannot hold one of the keys,
	// MakeSigner returns Unsupported(name, reason) for it and the suite asks
	// again without it.
	MakeSigner(ctx context.Context, t *testing.T, keys []Key) (s signer.Signer, cleanup func(), err error)
}

// HarnessFunc adapts a function to a Harness.
type HarnessFunc func(ctx context.Context, t *testing.T, keys []Key) (signer.Signer, func(), error)

// MakeSigner calls f.
func (f HarnessFunc) MakeSigner(ctx context.Context, t *testing.T, keys []Key) (signer.Signer, func(), error) {
	return f(ctx, t, keys)
}

// ErrUnsupported marks a key or a check the backend cannot support. Test
// for it with errors.Is.
var ErrUnsupported = errors.New("signertest: the backend does not support this")

// UnsupportedError reports that a backend cannot hold one key. It matches
// ErrUnsupported under errors.Is.
type UnsupportedError struct {
	Key    string // name of the key
	Reason string // why, for the skip message
}

// Unsupported returns an *UnsupportedError for the named key.
func Unsupported(key, reason string) error {
	return &UnsupportedError{Key: key, Reason: reason}
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("signertest: the backend cannot hold key %q: %s", e.Key, e.Reason)
}

// Is reports whether target is ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// Run runs the conformance suite against the backends h makes.
func Run(t *testing.T, h Harness) {
	t.Run("RFC4231", func(t *testing.T) { testMACVectors(t, h, rfc4231Keys(), rfc4231Vectors()) })
	t.Run("RFC8032", func(t *testing.T) { testEd25519Vectors(t, h) })
	t.Run("Venues", func(t *testing.T) { testMACVectors(t, h, venueKeys(), venueVectors()) })
	t.Run("KuCoinPassphrase", func(t *testing.T) { testKuCoinPassphrase(t, h) })
	t.Run("ECDSA", func(t *testing.T) { testECDSA(t, h) })
	t.Run("RSA", func(t *testing.T) { testRSA(t, h) })
	t.Run("Info", func(t *testing.T) { testInfo(t, h) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, h) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("Canary", func(t *testing.T) { testCanary(t, h) })
}

// backend is a Signer made by a harness, with the keys it could not hold.
type backend struct {
	signer.Signer
	skipped map[string]error
}

// open asks h for a backend holding keys, dropping the keys it reports
// unsupported.
func open(t *testing.T, h Harness, keys ...Key) *backend {
	t.Helper()
	skipped := make(map[string]error)
	for {
		s, cleanup, err := h.MakeSigner(t.Context(), t, cloneKeys(keys))
		if err == nil {
			if cleanup != nil {
				t.Cleanup(cleanup)
			}
			if s == nil {
				t.Fatal("harness returned a nil signer.Signer and no error")
			}
			return &backend{Signer: s, skipped: skipped}
		}
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			i := slices.IndexFunc(keys, func(k Key) bool { return k.Info.Name == ue.Key })
			if i >= 0 {
				skipped[ue.Key] = err
				keys = slices.Delete(slices.Clone(keys), i, i+1)
				continue
			}
		}
		if errors.Is(err, ErrUnsupported) {
			t.Skipf("backend: %v", err)
		}
		t.Fatalf("harness could not make a backend: %v", err)
	}
}

// need skips t if the backend could not hold one of the named keys.
func (b *backend) need(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if err, ok := b.skipped[n]; ok {
			t.Skipf("skipped: %v", err)
		}
	}
}

// passphraser returns the backend as a PassphraseSigner, or skips t.
func (b *backend) passphraser(t *testing.T) signer.PassphraseSigner {
	t.Helper()
	p, ok := b.Signer.(signer.PassphraseSigner)
	if !ok {
		t.Skipf("skipped: %T does not implement signer.PassphraseSigner", b.Signer)
	}
	return p
}

func cloneKeys(keys []Key) []Key {
	out := make([]Key, len(keys))
	for i, k := range keys {
		out[i] = Key{Info: k.Info, Material: bytes.Clone(k.Material), Passphrase: bytes.Clone(k.Passphrase)}
	}
	return out
}
