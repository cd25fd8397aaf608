package signer

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Memory is a Signer that holds keys in process memory. It is safe for
// concurrent use.
//
// An HMAC key is keyed once, at import: Memory keeps the two hash states the
// key determines (see RFC 2104) and not the key itself, and each signature
// restores a pooled hash from them instead of re-deriving the pads as
// hmac.New does on every call. Ed25519 keys are wiped on Remove and Close;
// ECDSA and RSA keys are released to the garbage collector, as crypto/ecdsa
// and crypto/rsa offer no way to wipe them.
//
// A signature in progress holds a read lock, so Remove and Close wait for
// it before they wipe the key.
type Memory struct {
	mu     sync.RWMutex
	keys   map[string]*memKey
	closed bool
}

type memKey struct {
	info KeyInfo
	mac  *hmacKeys     // HMAC keys
	priv crypto.Signer // asymmetric keys
	pass *Secret       // API passphrase, if any
}

// NewMemory returns an empty in-memory backend.
func NewMemory() *Memory {
	return &Memory{keys: make(map[string]*memKey)}
}

// Import adds a key. For an HMAC key, material is the exact bytes the venue
// keys its HMAC with (the ASCII secret for Binance and KuCoin, the
// base64-decoded secret for Kraken and Coinbase Exchange). For other types,
// see ParsePrivateKey. passphrase is the API passphrase of venues that have
// one, or nil. Import copies what it keeps; the caller should Wipe material
// and passphrase afterwards.
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
		mac, err := newHMACKeys(material)
		if err != nil {
			return &KeyError{Op: "import", Key: info.Name, Err: err}
		}
		k.mac = mac
		k.info.Public = nil
	case KeyEd25519, KeyECDSAP256, KeyRSA:
		priv, err := ParsePrivateKey(info.Type, material)
		if err != nil {
			return &KeyError{Op: "import", Key: info.Name, Err: err}
		}
		k.priv = priv
		k.info.Public = priv.Public()
	default:
		return &KeyError{Op: "import", Key: info.Name, Err: fmt.Errorf("%w: unknown key type %q: use hmac, ed25519, ecdsa or rsa", ErrInvalidKey, info.Type)}
	}
	if len(passphrase) > 0 {
		k.pass = NewSecret(passphrase)
	}
	k.info.HasPassphrase = k.pass != nil

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		k.close()
		return &KeyError{Op: "import", Key: info.Name, Err: ErrClosed}
	}
	if _, ok := m.keys[info.Name]; ok {
		k.close()
		return &KeyError{Op: "import", Key: info.Name, Err: ErrDuplicateKey}
	}
	m.keys[info.Name] = k
	return nil
}

// Remove deletes a key and wipes its secret, after any signature in
// progress with it.
func (m *Memory) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return &KeyError{Op: "remove", Key: name, Err: ErrClosed}
	}
	k, ok := m.keys[name]
	if !ok {
		return &KeyError{Op: "remove", Key: name, Err: ErrKeyNotFound}
	}
	delete(m.keys, name)
	k.close()
	return nil
}

// lookup returns the named key with m.mu read-locked; the caller must call
// m.mu.RUnlock when done with the key, and only then.
func (m *Memory) lookup(op, name string) (*memKey, error) {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return nil, &KeyError{Op: op, Key: name, Err: ErrClosed}
	}
	k, ok := m.keys[name]
	if !ok {
		m.mu.RUnlock()
		return nil, &KeyError{Op: op, Key: name, Err: ErrKeyNotFound}
	}
	return k, nil
}

// Sign implements Signer.
func (m *Memory) Sign(ctx context.Context, key string, alg Algorithm, msg []byte) ([]byte, error) {
	return m.AppendSign(ctx, nil, key, alg, msg)
}

// AppendSign implements AppendSigner: HMACs are appended to dst without
// an allocation of their own.
func (m *Memory) AppendSign(ctx context.Context, dst []byte, key string, alg Algorithm, msg []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	k, err := m.lookup("sign", key)
	if err != nil {
		return dst, err
	}
	defer m.mu.RUnlock()
	if alg.KeyType() != k.info.Type {
		return dst, &KeyError{Op: "sign", Key: key, Err: fmt.Errorf("%w: a %s key cannot sign %s; use one of %v", ErrWrongAlgorithm, k.info.Type, algName(alg), k.info.Type.Algorithms())}
	}
	out, err := k.appendSign(dst, alg, msg)
	if err != nil {
		return dst, &KeyError{Op: "sign", Key: key, Err: err}
	}
	return out, nil
}

// algName quotes an algorithm for an error message, bounded in length, as
// it may come from a caller.
func algName(a Algorithm) string {
	const max = 32
	if len(a) > max {
		return fmt.Sprintf("%q...", string(a[:max]))
	}
	return fmt.Sprintf("%q", string(a))
}

func (k *memKey) appendSign(dst []byte, alg Algorithm, msg []byte) ([]byte, error) {
	if k.mac != nil {
		return k.mac.appendSign(dst, alg, msg)
	}
	sig, err := SignWith(k.priv, alg, msg)
	if err != nil {
		return dst, err
	}
	if dst == nil {
		return sig, nil
	}
	return append(dst, sig...), nil
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
	return nil, fmt.Errorf("%w: %s", ErrWrongAlgorithm, algName(alg))
}

// SignPassphrase implements PassphraseSigner: it returns the MAC of the
// key's API passphrase under the key's own HMAC secret.
func (m *Memory) SignPassphrase(ctx context.Context, key string, alg Algorithm) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := m.lookup("sign passphrase", key)
	if err != nil {
		return nil, err
	}
	defer m.mu.RUnlock()
	if k.pass == nil {
		return nil, &KeyError{Op: "sign passphrase", Key: key, Err: ErrNoPassphrase}
	}
	if alg.KeyType() != KeyHMAC || k.mac == nil {
		return nil, &KeyError{Op: "sign passphrase", Key: key, Err: fmt.Errorf("%w: the passphrase is signed with HMAC-SHA256 or HMAC-SHA512 by an HMAC key, not %s by a %s key", ErrWrongAlgorithm, algName(alg), k.info.Type)}
	}
	var sig []byte
	err = k.pass.Use(func(p []byte) error {
		var e error
		sig, e = k.mac.appendSign(nil, alg, p)
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
	k, err := m.lookup("info", key)
	if err != nil {
		return KeyInfo{}, err
	}
	defer m.mu.RUnlock()
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
	slices.SortFunc(out, func(a, b KeyInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Close wipes every secret, after the signatures in progress. Later calls
// fail with ErrClosed. Close is safe to call more than once.
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

// close wipes what can be wiped; the caller holds m.mu or owns k alone.
func (k *memKey) close() {
	if k.mac != nil {
		k.mac.wipe()
		k.mac = nil
	}
	if k.pass != nil {
		_ = k.pass.Close()
	}
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
