//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
)

// key is a signing key object on the token and what the caller registered
// about it.
type key struct {
	info   signer.KeyInfo
	class  uint   // CKO_SECRET_KEY or CKO_PRIVATE_KEY
	id     []byte // CKA_ID
	algs   []signer.Algorithm
	why    map[signer.Algorithm]string // why an algorithm of the key type is missing from algs
	handle atomic.Uint64               // cached object handle; 0 when unknown
	known  bool                        // registered or imported, not only discovered
}

// lookup returns the key named name: a registered or imported key, or a
// key object on the token whose CKA_LABEL is name.
func (b *Backend) lookup(ctx context.Context, op, name string) (*key, error) {
	b.mu.RLock()
	k, ok := b.keys[name]
	b.mu.RUnlock()
	if ok {
		return k, nil
	}
	if name == "" {
		return nil, &signer.KeyError{Op: op, Key: name, Err: signer.ErrKeyNotFound}
	}
	err := b.withSession(ctx, func(s pkcs11.SessionHandle) error {
		var err error
		k, err = b.load(s, &URI{Object: name}, signer.KeyInfo{Name: name})
		return err
	})
	if err != nil {
		return nil, &signer.KeyError{Op: op, Key: name, Err: err}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if prev, ok := b.keys[name]; ok {
		return prev, nil
	}
	b.keys[name] = k
	return k, nil
}

// load builds a key from the object u names, merging info.
func (b *Backend) load(s pkcs11.SessionHandle, u *URI, info signer.KeyInfo) (*key, error) {
	h, class, err := b.locate(s, u)
	if err != nil {
		return nil, err
	}
	t, _, id, pub, err := b.describe(s, h, class)
	if err != nil {
		return nil, err
	}
	if info.Type != "" && info.Type != t {
		return nil, fmt.Errorf("%w: the token holds a %s key, not %s", signer.ErrInvalidKey, t, info.Type)
	}
	pass, err := b.findPassphrase(s, u.Object)
	if err != nil {
		return nil, err
	}
	info.Type, info.Public, info.Backend, info.HasPassphrase = t, pub, BackendName, len(pass) > 0
	k := &key{info: info, class: class, id: id}
	k.handle.Store(uint64(h))
	if t == signer.KeyHMAC {
		k.algs, k.why, err = b.probeHMAC(s, h, nil, nil)
		if err != nil {
			return nil, err
		}
	} else {
		k.algs = t.Algorithms()
	}
	return k, nil
}

// Register records the metadata of a key that is already on the token:
// info.Name must equal the object's label (the URI's object, which may be
// left empty), and info.Type, if set, must match the token's key type. The
// venue and API key live in the caller's keystore, not on the token; Info
// returns them with what the token knows (type, public key).
func (b *Backend) Register(ctx context.Context, info signer.KeyInfo, uri *URI) error {
	if err := b.begin(ctx); err != nil {
		return err
	}
	defer b.life.RUnlock()
	fail := func(err error) error { return &signer.KeyError{Op: "register", Key: info.Name, Err: err} }
	if info.Name == "" {
		return fail(fmt.Errorf("%w: empty key name", signer.ErrInvalidKey))
	}
	u := *uri
	if u.Object == "" {
		u.Object = info.Name
	}
	if u.Object != info.Name {
		return fail(fmt.Errorf("%w: the key name must equal the object label in the URI", signer.ErrInvalidKey))
	}
	if u.Token != "" && u.Token != b.token.Token || u.Serial != "" && b.token.Serial != "" && u.Serial != b.token.Serial {
		return fail(fmt.Errorf("%w: the URI names another token than this backend's", signer.ErrInvalidKey))
	}
	var k *key
	err := b.withSession(ctx, func(s pkcs11.SessionHandle) error {
		var err error
		k, err = b.load(s, &u, info)
		return err
	})
	if err != nil {
		return fail(err)
	}
	k.known = true
	b.mu.Lock()
	defer b.mu.Unlock()
	if prev, ok := b.keys[info.Name]; ok && prev.known {
		return fail(signer.ErrDuplicateKey)
	}
	b.keys[info.Name] = k
	return nil
}

// Info implements signer.Signer: what the token knows of the key (type,
// public key) and what the caller registered (venue, API key).
func (b *Backend) Info(ctx context.Context, name string) (signer.KeyInfo, error) {
	if err := b.begin(ctx); err != nil {
		return signer.KeyInfo{}, err
	}
	defer b.life.RUnlock()
	k, err := b.lookup(ctx, "info", name)
	if err != nil {
		return signer.KeyInfo{}, err
	}
	return k.info, nil
}

// Algorithms returns the algorithms the token signs with the named key. For
// an HMAC key it is the subset of HMAC-SHA256 and HMAC-SHA512 the token
// accepted for this key's length when it was imported or first used.
func (b *Backend) Algorithms(ctx context.Context, name string) ([]signer.Algorithm, error) {
	if err := b.begin(ctx); err != nil {
		return nil, err
	}
	defer b.life.RUnlock()
	k, err := b.lookup(ctx, "algorithms", name)
	if err != nil {
		return nil, err
	}
	return slices.Clone(k.algs), nil
}

// KeyURI returns the PKCS#11 URI of the named key's object, to store in a
// keystore entry.
func (b *Backend) KeyURI(ctx context.Context, name string) (*URI, error) {
	if err := b.begin(ctx); err != nil {
		return nil, err
	}
	defer b.life.RUnlock()
	k, err := b.lookup(ctx, "uri", name)
	if err != nil {
		return nil, err
	}
	return b.uri(k), nil
}

func (b *Backend) uri(k *key) *URI {
	u := b.token
	u.Serial = ""
	u.Object = k.info.Name
	if len(k.id) > 0 {
		u.ID = slices.Clone(k.id)
	}
	u.Type = typeOf(k.class)
	return &u
}

// Keys implements signer.Lister: every signing key on the token that has a
// label and a type keyfence can use, with registered metadata, sorted by
// name.
func (b *Backend) Keys(ctx context.Context) ([]signer.KeyInfo, error) {
	if err := b.begin(ctx); err != nil {
		return nil, err
	}
	defer b.life.RUnlock()
	var labels []string
	err := b.withSession(ctx, func(s pkcs11.SessionHandle) error {
		for _, class := range []uint{pkcs11.CKO_SECRET_KEY, pkcs11.CKO_PRIVATE_KEY} {
			hs, err := b.findObjects(s, class, "", nil)
			if err != nil {
				return err
			}
			for _, h := range hs {
				a, err := b.attrs(s, h, pkcs11.CKA_LABEL)
				if err != nil {
					return err
				}
				if l := string(a[pkcs11.CKA_LABEL]); l != "" {
					labels = append(labels, l)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: list keys: %w", err)
	}
	slices.Sort(labels)
	labels = slices.Compact(labels)
	out := make([]signer.KeyInfo, 0, len(labels))
	for _, l := range labels {
		k, err := b.lookup(ctx, "list", l)
		if err != nil {
			if errors.Is(err, ErrUnsupportedKey) || errors.Is(err, signer.ErrInvalidKey) {
				b.log.Debug("pkcs11: skipping object keyfence cannot use", "label", l, "err", err)
				continue
			}
			return nil, err
		}
		out = append(out, k.info)
	}
	return out, nil
}

// Delete destroys the named key's objects on the token (the secret or
// private key, its public key, its passphrase) and forgets its metadata. It cannot be
// undone.
func (b *Backend) Delete(ctx context.Context, name string) error {
	if err := b.begin(ctx); err != nil {
		return err
	}
	defer b.life.RUnlock()
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	k, err := b.lookup(ctx, "delete", name)
	if err != nil {
		return err
	}
	err = b.withSession(ctx, func(s pkcs11.SessionHandle) error {
		return b.destroy(s, name, k.id, false)
	})
	b.mu.Lock()
	delete(b.keys, name)
	b.mu.Unlock()
	if err != nil {
		return &signer.KeyError{Op: "delete", Key: name, Err: err}
	}
	return nil
}

// destroy removes the key objects labelled name (only those whose CKA_ID is
// id, if exact), the public key objects whose CKA_ID is id, and name's
// passphrase.
func (b *Backend) destroy(s pkcs11.SessionHandle, name string, id []byte, exact bool) error {
	var hs []pkcs11.ObjectHandle
	var match []byte
	if exact {
		match = id
	}
	for _, class := range []uint{pkcs11.CKO_SECRET_KEY, pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY} {
		found, err := b.findObjects(s, class, name, match)
		if err != nil {
			return err
		}
		hs = append(hs, found...)
	}
	found, err := b.findPassphrase(s, name)
	if err != nil {
		return err
	}
	hs = append(hs, found...)
	if len(id) > 0 {
		found, err := b.findObjects(s, pkcs11.CKO_PUBLIC_KEY, "", id)
		if err != nil {
			return err
		}
		hs = append(hs, found...)
	}
	slices.Sort(hs)
	var errs []error
	for _, h := range slices.Compact(hs) {
		if err := b.mod.ctx.DestroyObject(s, h); err != nil && !staleHandle(err) {
			errs = append(errs, fmt.Errorf("pkcs11: C_DestroyObject: %w", err))
		}
	}
	return errors.Join(errs...)
}
