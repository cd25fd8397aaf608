package signer

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"sort"
	"sync"
)

// Memory is a Signer that holds keys in process memory. It is safe for
// concurrent use.
//
// An HMAC key is keyed once at import: each signature takes a keyed hash
// from a pool and resets it, instead of re-deriving the inner and outer pads
// as hmac.New does on every call.
type Memory struct {
	mu     sync.RWMutex
	keys   map[string]*memKey
	closed bool
}

type memKey struct {
	info   KeyInfo
	secret *Secret       // HMAC key bytes; nil for asymmetric keys
	priv   crypto.Signer // asymmetric keys
	pass   *Secret       // API passphrase, if any
	pools  map[Algorithm]*sync.Pool
}

// NewMemory returns an empty in-memory backend.
func NewMemory() *Memory {
	return &Memory{keys: make(map[string]*memKey)}
}

// Import adds a key. For an HMAC key, material is the exact bytes the venue
// keys its HMAC with (the ASCII secret for Binance and KuCoin, the
// base64-decoded secret for Kraken). For other types, see ParsePrivateKey.
// passphrase is the API passphrase of venues that have one, or nil. Import
// copies material and passphrase; the caller should Wipe its copies.
func (m *Memory) Import(info KeyInfo, material, passphrase []byte) error {
	if info.Name == "" {
		return &KeyError{Op: "import", Key: info.Name, Err: fmt.Errorf("%w: empty key name", ErrInvalidKey)}
	}
	k := &memKey{info: info}
	k.info.Backend = "memory"
	switch info.Type {
	case KeyHMAC:
		if len(material) == 0 {
			return &KeyError{Op: "import", Key: info.Name, Err: fmt.Errorf("%w: empty HMAC secret", ErrInvalidKey)}
		}
		k.secret = NewSecret(material)
		k.pools = map[Algorithm]*sync.Pool{
			HMACSHA256: hmacPool(k.secret, sha256.New),
			HMACSHA512: hmacPool(k.secret, sha512.New),
		}
		k.info.Public = nil
	case KeyEd25519, KeyECDSAP256, KeyRSA:
		priv, err := ParsePrivateKey(info.Type, material)
		if err != nil {
			return &KeyError{Op: "import", Key: info.Name, Err: err}
		}
		k.priv = priv
		k.info.Public = priv.Public()
	default:
		return &KeyError{Op: "import", Key: info.Name, Err: fmt.Errorf("%w: unknown key type %q", ErrInvalidKey, info.Type)}
	}
	if passphrase != nil {
		k.pass = NewSecret(passphrase)
	}
	k.info.HasPassphrase = k.pass != nil

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		k.close()
		return ErrClosed
	}
	if _, ok := m.keys[info.Name]; ok {
		k.close()
		return &KeyError{Op: "import", Key: info.Name, Err: ErrDuplicateKey}
	}
	m.keys[info.Name] = k
	return nil
}

func hmacPool(s *Secret, h func() hash.Hash) *sync.Pool {
	return &sync.Pool{New: func() any {
		var mac hash.Hash
		_ = s.Use(func(b []byte) error { mac = hmac.New(h, b); return nil })
		return mac
	}}
}

// Remove deletes a key and wipes its secret.
func (m *Memory) Remove(name string) error {
	m.mu.Lock()
	k, ok := m.keys[name]
	delete(m.keys, name)
	m.mu.Unlock()
	if !ok {
		return &KeyError{Op: "remove", Key: name, Err: ErrKeyNotFound}
	}
	k.close()
	return nil
}

func (m *Memory) key(op, name string) (*memKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	k, ok := m.keys[name]
	if !ok {
		return nil, &KeyError{Op: op, Key: name, Err: ErrKeyNotFound}
	}
	return k, nil
}

// Sign implements Signer.
func (m *Memory) Sign(ctx context.Context, key string, alg Algorithm, msg []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := m.key("sign", key)
	if err != nil {
		return nil, err
	}
	if alg.KeyType() != k.info.Type {
		return nil, &KeyError{Op: "sign", Key: key, Err: fmt.Errorf("%w: %s key cannot sign %s", ErrWrongAlgorithm, k.info.Type, alg)}
	}
	sig, err := k.sign(alg, msg)
	if err != nil {
		return nil, &KeyError{Op: "sign", Key: key, Err: err}
	}
	return sig, nil
}

func (k *memKey) sign(alg Algorithm, msg []byte) ([]byte, error) {
	switch alg {
	case HMACSHA256, HMACSHA512:
		p := k.pools[alg]
		mac, _ := p.Get().(hash.Hash)
		if mac == nil {
			return nil, ErrClosed
		}
		mac.Reset()
		mac.Write(msg)
		sum := mac.Sum(nil)
		p.Put(mac)
		return sum, nil
	}
	return SignWith(k.priv, alg, msg)
}

// SignWith signs msg with an asymmetric crypto.Signer under alg, encoding
// the output as alg says. Backends that hold a crypto.Signer share it.
func SignWith(priv crypto.Signer, alg Algorithm, msg []byte) ([]byte, error) {
	switch alg {
	case Ed25519:
		return priv.Sign(nil, msg, crypto.Hash(0))
	case ES256, ES256DER:
		d := sha256.Sum256(msg)
		der, err := priv.Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil || alg == ES256DER {
			return der, err
		}
		return ECDSADERToRaw(der, 32)
	case RS256:
		d := sha256.Sum256(msg)
		return priv.Sign(rand.Reader, d[:], crypto.SHA256)
	}
	return nil, fmt.Errorf("%w: %s", ErrWrongAlgorithm, alg)
}

// SignPassphrase implements PassphraseSigner: it returns the MAC of the
// key's API passphrase under the key's own HMAC secret.
func (m *Memory) SignPassphrase(ctx context.Context, key string, alg Algorithm) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := m.key("sign passphrase", key)
	if err != nil {
		return nil, err
	}
	if k.pass == nil {
		return nil, &KeyError{Op: "sign passphrase", Key: key, Err: ErrNoPassphrase}
	}
	if alg.KeyType() != KeyHMAC || k.info.Type != KeyHMAC {
		return nil, &KeyError{Op: "sign passphrase", Key: key, Err: ErrWrongAlgorithm}
	}
	var sig []byte
	err = k.pass.Use(func(p []byte) error {
		var e error
		sig, e = k.sign(alg, p)
		return e
	})
	if err != nil {
		return nil, &KeyError{Op: "sign passphrase", Key: key, Err: err}
	}
	return sig, nil
}

// Info implements Signer.
func (m *Memory) Info(ctx context.Context, key string) (KeyInfo, error) {
	if err := ctx.Err(); err != nil {
		return KeyInfo{}, err
	}
	k, err := m.key("info", key)
	if err != nil {
		return KeyInfo{}, err
	}
	return k.info, nil
}

// Keys implements Lister, sorted by name.
func (m *Memory) Keys(ctx context.Context) ([]KeyInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	out := make([]KeyInfo, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, k.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Close wipes every secret. Later calls fail with ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		k.close()
	}
	m.keys = nil
	m.closed = true
	return nil
}

func (k *memKey) close() {
	if k.secret != nil {
		k.secret.Close()
	}
	if k.pass != nil {
		k.pass.Close()
	}
	// Pooled HMAC states hold derived pads; drop them with the pools.
	k.pools = nil
	if ed, ok := k.priv.(ed25519.PrivateKey); ok {
		Wipe(ed)
	}
	k.priv = nil
}

var (
	_ Signer           = (*Memory)(nil)
	_ Lister           = (*Memory)(nil)
	_ PassphraseSigner = (*Memory)(nil)
)
