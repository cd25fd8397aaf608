package keystore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/keyfence/keyfence/signer"
)

// Resolver finds the signer.Signer that holds the key named by a
// reference's URI ("pkcs11:", "awskms://", "vault://"), and the key name to
// use with it. A Signer calls it once per
// entry, on first use, and keeps the result; a failed resolution is tried
// again on the next use.
type Resolver func(ctx context.Context, uri string) (s signer.Signer, key string, err error)

// SignerOption configures a Signer.
type SignerOption func(*Signer)

// WithResolver lets the Signer sign with keys whose secret lives in an HSM.
// Without it, such keys fail with ErrNoResolver.
func WithResolver(r Resolver) SignerOption {
	return func(s *Signer) { s.resolve = r }
}

// Signer signs with the keys of a keystore. It implements signer.Signer,
// signer.Lister and signer.PassphraseSigner, and reports Backend
// "keystore" for sealed keys and "pkcs11", "awskms" or "vault" for
// references.
//
// A sealed key is decrypted on its first use, imported into an in-memory
// signer shared by every Signer of the keystore, and the plaintext wiped;
// later signatures reuse it. Concurrent first uses decrypt once. An HSM
// reference is resolved on first use and its signatures delegated.
type Signer struct {
	ks      *Keystore
	resolve Resolver

	mu  sync.Mutex
	hsm map[*entry]*hsmSlot
}

type hsmSlot struct {
	mu  sync.Mutex
	s   signer.Signer
	key string
}

// Signer returns a Signer over the keystore's keys. It sees entries added
// and removed later, and stops working when the keystore is closed.
func (k *Keystore) Signer(opts ...SignerOption) *Signer {
	s := &Signer{ks: k, hsm: map[*entry]*hsmSlot{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Format prints the signer without its contents.
func (s *Signer) Format(f fmt.State, _ rune) {
	_, _ = f.Write([]byte("keystore.Signer(" + s.ks.path + ")"))
}

var (
	_ signer.Signer           = (*Signer)(nil)
	_ signer.Lister           = (*Signer)(nil)
	_ signer.PassphraseSigner = (*Signer)(nil)
)

func (k *Keystore) lookup(op, name string) (*entry, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return nil, ErrClosed
	}
	e, ok := k.byName[name]
	if !ok {
		return nil, &signer.KeyError{Op: op, Key: name, Err: signer.ErrKeyNotFound}
	}
	return e, nil
}

// unseal decrypts e once: a sealed key goes into the shared signer.Memory,
// the API passphrase of an HSM reference into e.refPass. The plaintext is
// wiped before unseal returns.
func (k *Keystore) unseal(e *entry) error {
	if e.loaded.Load() {
		return nil
	}
	// The read lock keeps Close and Remove out until the key is in place,
	// so that they find and wipe it.
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return ErrClosed
	}
	if k.byName[e.Name] != e {
		return signer.ErrKeyNotFound
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.loaded.Load() {
		return nil
	}
	pt, secret, passphrase, ok := openEntry(k.keys, e)
	if !ok {
		return &TamperError{Path: k.path, Entry: e.Name}
	}
	defer wipe(pt)
	k.unseals.Add(1)
	if e.Backend != BackendKeystore {
		if passphrase != nil {
			e.refPass = signer.NewSecret(passphrase)
		}
		if len(secret) > 0 {
			e.refMAC = signer.NewSecret(secret)
		}
	} else {
		e.id = "#" + strconv.FormatUint(e.seq, 10)
		info := e.keyInfo()
		info.Name = e.id
		if err := k.cache.Import(info, secret, passphrase); err != nil {
			return unwrapKeyError(err, e.id)
		}
	}
	e.loaded.Store(true)
	return nil
}

// unwrapKeyError strips a signer.KeyError about the internal id of an
// entry, so that the caller can name the entry instead.
func unwrapKeyError(err error, id string) error {
	var ke *signer.KeyError
	if errors.As(err, &ke) && ke.Key == id {
		return ke.Err
	}
	return err
}

// delegate returns the HSM signer and key name of a reference entry.
func (s *Signer) delegate(ctx context.Context, e *entry) (signer.Signer, string, error) {
	if s.resolve == nil {
		return nil, "", ErrNoResolver
	}
	s.mu.Lock()
	slot := s.hsm[e]
	if slot == nil {
		slot = &hsmSlot{}
		s.hsm[e] = slot
	}
	s.mu.Unlock()
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.s != nil {
		return slot.s, slot.key, nil
	}
	d, key, err := s.resolve(ctx, e.URI)
	if err != nil {
		return nil, "", fmt.Errorf("keystore: resolve the %s URI: %w", e.Backend, err)
	}
	if d == nil {
		return nil, "", errors.New("keystore: the resolver returned no signer")
	}
	info, err := d.Info(ctx, key)
	if err != nil {
		return nil, "", fmt.Errorf("keystore: the HSM object: %w", err)
	}
	if info.Type != e.Type {
		return nil, "", fmt.Errorf("%w: the HSM object is a %s key, the keystore records %s", signer.ErrInvalidKey, info.Type, e.Type)
	}
	slot.s, slot.key = d, key
	return d, key, nil
}

// Sign implements signer.Signer. The first signature with a sealed key
// decrypts it; a damaged entry fails with ErrTampered.
func (s *Signer) Sign(ctx context.Context, key string, alg signer.Algorithm, msg []byte) ([]byte, error) {
	return s.AppendSign(ctx, nil, key, alg, msg)
}

// AppendSign implements signer.AppendSigner: Sign, appending to dst.
func (s *Signer) AppendSign(ctx context.Context, dst []byte, key string, alg signer.Algorithm, msg []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	e, err := s.ks.lookup("sign", key)
	if err != nil {
		return dst, err
	}
	fail := func(err error) error { return &signer.KeyError{Op: "sign", Key: key, Err: err} }
	if alg.KeyType() != e.Type {
		return dst, fail(fmt.Errorf("%w: %s key cannot sign %s", signer.ErrWrongAlgorithm, e.Type, alg))
	}
	if err := s.ks.unseal(e); err != nil {
		return dst, fail(err)
	}
	if e.Backend != BackendKeystore {
		d, dk, err := s.delegate(ctx, e)
		if err != nil {
			return dst, fail(err)
		}
		out, err := signer.AppendSign(ctx, d, dst, dk, alg, msg)
		if err != nil {
			return dst, fail(err)
		}
		return out, nil
	}
	out, err := s.ks.cache.AppendSign(ctx, dst, e.id, alg, msg)
	if err != nil {
		return dst, fail(unwrapKeyError(err, e.id))
	}
	return out, nil
}

// SignPassphrase implements signer.PassphraseSigner: the MAC of the key's
// API passphrase under the key's HMAC secret (computed by the HSM for a
// reference).
func (s *Signer) SignPassphrase(ctx context.Context, key string, alg signer.Algorithm) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	const op = "sign passphrase"
	e, err := s.ks.lookup(op, key)
	if err != nil {
		return nil, err
	}
	fail := func(err error) error { return &signer.KeyError{Op: op, Key: key, Err: err} }
	if !e.HasPassphrase {
		return nil, fail(signer.ErrNoPassphrase)
	}
	if alg.KeyType() != signer.KeyHMAC || e.Type != signer.KeyHMAC {
		return nil, fail(fmt.Errorf("%w: the passphrase is signed with an HMAC key and algorithm", signer.ErrWrongAlgorithm))
	}
	if err := s.ks.unseal(e); err != nil {
		return nil, fail(err)
	}
	if e.Backend != BackendKeystore {
		if e.refMAC != nil && alg == signer.HMACSHA256 {
			// Computed once by the backend when the entry was added.
			var sig []byte
			if err := e.refMAC.Use(func(m []byte) error { sig = bytes.Clone(m); return nil }); err != nil {
				return nil, fail(err)
			}
			return sig, nil
		}
		d, dk, err := s.delegate(ctx, e)
		if err != nil {
			return nil, fail(err)
		}
		var sig []byte
		err = e.refPass.Use(func(p []byte) error {
			var err error
			sig, err = d.Sign(ctx, dk, alg, p)
			return err
		})
		if err != nil {
			return nil, fail(err)
		}
		return sig, nil
	}
	sig, err := s.ks.cache.SignPassphrase(ctx, e.id, alg)
	if err != nil {
		return nil, fail(unwrapKeyError(err, e.id))
	}
	return sig, nil
}

// Info implements signer.Signer. It never decrypts a sealed key. For an
// HSM reference, a Signer made WithResolver resolves the object and
// reports its public key.
func (s *Signer) Info(ctx context.Context, key string) (signer.KeyInfo, error) {
	if err := ctx.Err(); err != nil {
		return signer.KeyInfo{}, err
	}
	e, err := s.ks.lookup("info", key)
	if err != nil {
		return signer.KeyInfo{}, err
	}
	info := e.keyInfo()
	if e.Backend != BackendKeystore && s.resolve != nil {
		d, dk, err := s.delegate(ctx, e)
		if err != nil {
			return signer.KeyInfo{}, &signer.KeyError{Op: "info", Key: key, Err: err}
		}
		di, err := d.Info(ctx, dk)
		if err != nil {
			return signer.KeyInfo{}, &signer.KeyError{Op: "info", Key: key, Err: err}
		}
		info.Public = di.Public
	}
	return info, nil
}

// Keys implements signer.Lister, sorted by name. It does not contact an
// HSM: the public key of a reference is reported once it has been resolved.
func (s *Signer) Keys(ctx context.Context) ([]signer.KeyInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.ks.mu.RLock()
	closed := s.ks.closed
	s.ks.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	entries := s.ks.Entries()
	out := make([]signer.KeyInfo, len(entries))
	for i, e := range entries {
		out[i] = e.keyInfo()
		if e.Backend != BackendKeystore {
			if d, dk, ok := s.resolved(e.Name); ok {
				if di, err := d.Info(ctx, dk); err == nil {
					out[i].Public = di.Public
				}
			}
		}
	}
	return out, nil
}

// resolved returns the delegate of a reference if it has been resolved.
func (s *Signer) resolved(name string) (signer.Signer, string, bool) {
	s.ks.mu.RLock()
	e := s.ks.byName[name]
	s.ks.mu.RUnlock()
	s.mu.Lock()
	slot := s.hsm[e]
	s.mu.Unlock()
	if slot == nil {
		return nil, "", false
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	return slot.s, slot.key, slot.s != nil
}
