package pkcs11

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
)

// BackendName is the KeyInfo.Backend of every key this package serves.
const BackendName = "pkcs11"

// DefaultMaxSessions is the session pool size when Config.MaxSessions is 0.
const DefaultMaxSessions = 8

// Config says which token to open and how.
type Config struct {
	// Module is the path of the PKCS#11 library, for example
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// Token is the label of the token (CK_TOKEN_INFO.label).
	Token string
	// Serial, if set, must match the token's serial number too; it tells
	// apart tokens that share a label.
	Serial string
	// PIN is the user PIN. Open copies it; the caller may close its Secret
	// once Open returns.
	PIN *signer.Secret
	// MaxSessions bounds the sessions open at once, and so the signatures
	// in flight; 0 means DefaultMaxSessions.
	MaxSessions int
	// Logger receives session and key events, never secrets; nil discards.
	Logger *slog.Logger
}

// Backend is a signer.Signer and signer.Lister over the keys of one
// PKCS#11 token. It is safe for concurrent use.
type Backend struct {
	mod   *module
	slot  uint
	token URI // identifies the token in the URIs the backend returns
	pool  *pool
	pin   *signer.Secret
	log   *slog.Logger

	life   sync.RWMutex // held for reading by every operation, for writing by Close
	closed bool

	mu   sync.RWMutex
	keys map[string]*key // by name, which is the object's CKA_LABEL

	writeMu sync.Mutex // serialises Import, Generate and Delete
}

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

// Open loads the module, finds the token by label and logs in with the user
// PIN. Close releases the sessions and, with the last backend using it, the
// module.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: no token label: set Config.Token or the URI's token", ErrTokenNotFound)
	}
	if cfg.PIN == nil || cfg.PIN.Len() == 0 {
		return nil, fmt.Errorf("%w: no user PIN given", ErrLogin)
	}
	if cfg.MaxSessions < 0 {
		return nil, fmt.Errorf("pkcs11: Config.MaxSessions is negative")
	}
	max := cmp.Or(cfg.MaxSessions, DefaultMaxSessions)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var pin *signer.Secret
	if err := cfg.PIN.Use(func(p []byte) error { pin = signer.NewSecret(p); return nil }); err != nil {
		return nil, fmt.Errorf("%w: the PIN secret is closed", ErrLogin)
	}
	mod, err := loadModule(cfg.Module)
	if err != nil {
		pin.Close()
		return nil, err
	}
	slot, err := findToken(mod.ctx, cfg.Token, cfg.Serial)
	if err == nil {
		var p *pool
		p, err = newPool(mod.ctx, slot, pin, max, log)
		if err == nil {
			b := &Backend{
				mod:   mod,
				slot:  slot,
				token: URI{Token: cfg.Token, Serial: cfg.Serial, ModulePath: cfg.Module},
				pool:  p,
				pin:   pin,
				log:   log,
				keys:  make(map[string]*key),
			}
			log.Debug("pkcs11: opened token", "token", cfg.Token, "slot", slot)
			return b, nil
		}
	}
	pin.Close()
	mod.release()
	return nil, err
}

// OpenURI opens the token a PKCS#11 URI names (token, serial, module-path)
// with the user PIN. The URI's object, if any, is not looked up here: use
// Register or Sign for that.
func OpenURI(ctx context.Context, uri *URI, pin *signer.Secret) (*Backend, error) {
	return Open(ctx, Config{Module: uri.ModulePath, Token: uri.Token, Serial: uri.Serial, PIN: pin})
}

func findToken(p11 *pkcs11.Ctx, label, serial string) (uint, error) {
	slots, err := p11.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("%w: list slots: %w", ErrModule, err)
	}
	var match []uint
	for _, s := range slots {
		ti, err := p11.GetTokenInfo(s)
		if err != nil || ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		if ti.Label == label && (serial == "" || ti.SerialNumber == serial) {
			match = append(match, s)
		}
	}
	switch len(match) {
	case 0:
		return 0, ErrTokenNotFound
	case 1:
		return match[0], nil
	}
	return 0, fmt.Errorf("%w: %d tokens have this label; set the serial to choose one", ErrTokenNotFound, len(match))
}

// Close logs out by closing every session of this backend and releases the
// module. Calls in flight finish first; later calls fail with
// signer.ErrClosed. Keys stay on the token.
func (b *Backend) Close() error {
	b.life.Lock()
	defer b.life.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.pool.close()
	b.pin.Close()
	b.mod.release()
	b.mu.Lock()
	b.keys = nil
	b.mu.Unlock()
	return nil
}

// begin starts an operation; the caller must call b.life.RUnlock after a
// nil error.
func (b *Backend) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.life.RLock()
	if b.closed {
		b.life.RUnlock()
		return signer.ErrClosed
	}
	return nil
}

// withSession runs f on a pooled session.
func (b *Backend) withSession(ctx context.Context, f func(s pkcs11.SessionHandle) error) error {
	s, err := b.pool.get(ctx)
	if err != nil {
		return err
	}
	err = f(s)
	b.pool.put(s, err)
	return err
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

// Sign implements signer.Signer: the token computes the MAC or signature;
// the key never leaves it.
func (b *Backend) Sign(ctx context.Context, name string, alg signer.Algorithm, msg []byte) ([]byte, error) {
	if err := b.begin(ctx); err != nil {
		return nil, err
	}
	defer b.life.RUnlock()
	k, err := b.lookup(ctx, "sign", name)
	if err != nil {
		return nil, err
	}
	if alg.KeyType() != k.info.Type {
		return nil, &signer.KeyError{Op: "sign", Key: name, Err: fmt.Errorf("%w: %s key cannot sign %s", signer.ErrWrongAlgorithm, k.info.Type, alg)}
	}
	if !slices.Contains(k.algs, alg) {
		return nil, &signer.KeyError{Op: "sign", Key: name, Err: fmt.Errorf("%w: the token cannot sign %s with this key: %s", signer.ErrWrongAlgorithm, alg, k.why[alg])}
	}
	var sig []byte
	err = b.withSession(ctx, func(s pkcs11.SessionHandle) error {
		sig, err = b.sign(s, k, alg, msg)
		return err
	})
	if err != nil {
		return nil, &signer.KeyError{Op: "sign", Key: name, Err: err}
	}
	return sig, nil
}

// sign signs msg with k on session s, finding the object again once if its
// cached handle went stale.
func (b *Backend) sign(s pkcs11.SessionHandle, k *key, alg signer.Algorithm, msg []byte) ([]byte, error) {
	if h := pkcs11.ObjectHandle(k.handle.Load()); h != 0 {
		sig, err := b.signHandle(s, h, alg, msg)
		if !staleHandle(err) {
			return sig, err
		}
	}
	h, _, err := b.locate(s, &URI{Object: k.info.Name, ID: k.id, Type: typeOf(k.class)})
	if err != nil {
		return nil, err
	}
	k.handle.Store(uint64(h))
	return b.signHandle(s, h, alg, msg)
}

// signHandle runs one signature operation with the object h.
func (b *Backend) signHandle(s pkcs11.SessionHandle, h pkcs11.ObjectHandle, alg signer.Algorithm, msg []byte) ([]byte, error) {
	var mech uint
	data := msg
	switch alg {
	case signer.HMACSHA256:
		mech = pkcs11.CKM_SHA256_HMAC
	case signer.HMACSHA512:
		mech = pkcs11.CKM_SHA512_HMAC
	case signer.Ed25519:
		mech = ckmEdDSA
	case signer.ES256, signer.ES256DER:
		mech = pkcs11.CKM_ECDSA
		d := sha256.Sum256(msg)
		data = d[:]
	case signer.RS256:
		mech = pkcs11.CKM_SHA256_RSA_PKCS
	default:
		return nil, fmt.Errorf("%w: %s", signer.ErrWrongAlgorithm, alg)
	}
	p11 := b.mod.ctx
	if err := p11.SignInit(s, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, h); err != nil {
		return nil, fmt.Errorf("pkcs11: C_SignInit: %w", err)
	}
	sig, err := p11.Sign(s, data)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: C_Sign: %w", err)
	}
	switch alg {
	case signer.ES256, signer.ES256DER:
		// CKM_ECDSA returns r||s, each as long as the group order.
		if len(sig) != 64 {
			return nil, fmt.Errorf("pkcs11: the token returned a %d-byte ECDSA P-256 signature, want 64", len(sig))
		}
		if alg == signer.ES256DER {
			return signer.ECDSARawToDER(sig)
		}
	case signer.Ed25519:
		if len(sig) != 64 {
			return nil, fmt.Errorf("pkcs11: the token returned a %d-byte Ed25519 signature, want 64", len(sig))
		}
	}
	return sig, nil
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

var (
	_ signer.Signer = (*Backend)(nil)
	_ signer.Lister = (*Backend)(nil)
)
