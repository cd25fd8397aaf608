//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"slices"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
)

// Imported describes a key that Import or Generate put on the token.
type Imported struct {
	// URI names the key's object; store it in the keystore entry.
	URI *URI
	// Algorithms are the algorithms the token signs with the key. For an
	// HMAC key it may be a subset of HMAC-SHA256 and HMAC-SHA512: a token
	// may refuse a key shorter than the digest (SoftHSM2 does).
	Algorithms []signer.Algorithm
}

// GeneratedRSABits is the modulus size of RSA keys that Generate makes.
const GeneratedRSABits = 2048

// probeMsg is what the token signs to prove a new key works.
var probeMsg = []byte("keyfence pkcs11 import self-test")

// Import creates info.Name on the token from key material, as a sensitive,
// non-extractable token object labelled info.Name with a random CKA_ID, and
// checks that the token signs with it before it returns.
//
// For an HMAC key, material is the exact bytes the venue keys its HMAC with
// (see signer.Memory.Import); the object is a CKK_GENERIC_SECRET secret key
// that may only sign. Import asks the token which key lengths its HMAC
// mechanisms accept, creates the object, and compares the token's MAC of a
// test message with the MAC computed here. require lists the algorithms the
// key must sign with (HMAC-SHA512 for Kraken, for instance); if the token
// cannot sign one of them, or any algorithm at all, with this key, Import
// fails with ErrUnsupportedKey and leaves nothing on the token.
//
// For Ed25519, ECDSA P-256 and RSA keys, material is parsed with
// signer.ParsePrivateKey; Import creates the private key object and a public
// key object with the same label and id, and verifies a test signature with
// the public key.
//
// passphrase is the API passphrase of venues that have one (an HMAC key's
// only), or nil; see SignPassphrase.
//
// Import fails with signer.ErrDuplicateKey if the token holds an object
// with this label. The caller should wipe material and passphrase
// afterwards.
func (b *Backend) Import(ctx context.Context, info signer.KeyInfo, material, passphrase []byte, require ...signer.Algorithm) (Imported, error) {
	if err := b.begin(ctx); err != nil {
		return Imported{}, err
	}
	defer b.life.RUnlock()
	if passphrase != nil && info.Type != signer.KeyHMAC {
		err := fmt.Errorf("%w: an API passphrase goes with an HMAC key, not a %s key", signer.ErrInvalidKey, info.Type)
		return Imported{}, &signer.KeyError{Op: "import", Key: info.Name, Err: err}
	}
	imp, err := b.create(ctx, info, func(s pkcs11.SessionHandle, id []byte) (*key, error) {
		switch info.Type {
		case signer.KeyHMAC:
			k, err := b.importHMAC(s, info, id, material, require)
			if err != nil || passphrase == nil {
				return k, err
			}
			tmpl := passphraseAttrs(info.Name, bytes.Clone(passphrase))
			defer signer.Wipe(tmpl[len(tmpl)-1].Value)
			if _, err := b.mod.ctx.CreateObject(s, tmpl); err != nil {
				return nil, fmt.Errorf("pkcs11: store the API passphrase: %w", err)
			}
			k.info.HasPassphrase = true
			return k, nil
		case signer.KeyEd25519, signer.KeyECDSAP256, signer.KeyRSA:
			priv, err := signer.ParsePrivateKey(info.Type, material)
			if err != nil {
				return nil, err
			}
			defer wipeKey(priv)
			return b.importPrivate(s, info, id, priv, require)
		}
		return nil, fmt.Errorf("%w: unknown key type %q", signer.ErrInvalidKey, info.Type)
	})
	if err != nil {
		return Imported{}, &signer.KeyError{Op: "import", Key: info.Name, Err: err}
	}
	return imp, nil
}

// Generate makes a new Ed25519, ECDSA P-256 or RSA key pair on the token
// (RSA with GeneratedRSABits bits); the private key never exists outside
// it. The public key is in Info(...).Public, to register with the venue.
func (b *Backend) Generate(ctx context.Context, info signer.KeyInfo) (Imported, error) {
	if err := b.begin(ctx); err != nil {
		return Imported{}, err
	}
	defer b.life.RUnlock()
	imp, err := b.create(ctx, info, func(s pkcs11.SessionHandle, id []byte) (*key, error) {
		return b.generate(s, info, id)
	})
	if err != nil {
		return Imported{}, &signer.KeyError{Op: "generate", Key: info.Name, Err: err}
	}
	return imp, nil
}

// create runs build under the write lock after checking the name is free,
// and records the new key.
func (b *Backend) create(ctx context.Context, info signer.KeyInfo, build func(s pkcs11.SessionHandle, id []byte) (*key, error)) (Imported, error) {
	if info.Name == "" {
		return Imported{}, fmt.Errorf("%w: empty key name", signer.ErrInvalidKey)
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.RLock()
	_, dup := b.keys[info.Name]
	b.mu.RUnlock()
	if dup {
		return Imported{}, signer.ErrDuplicateKey
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return Imported{}, err
	}
	var k *key
	err := b.withSession(ctx, func(s pkcs11.SessionHandle) error {
		for _, class := range []uint{pkcs11.CKO_SECRET_KEY, pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY, pkcs11.CKO_DATA} {
			hs, err := b.findObjects(s, class, info.Name, nil)
			if err != nil {
				return err
			}
			if len(hs) > 0 {
				return signer.ErrDuplicateKey
			}
		}
		var err error
		k, err = build(s, id)
		if err != nil && !errors.Is(err, signer.ErrInvalidKey) {
			// Leave nothing behind: the key may be half made.
			if derr := b.destroy(s, info.Name, id, true); derr != nil {
				b.log.Warn("pkcs11: cannot remove a failed import", "key", info.Name, "err", derr)
			}
		}
		return err
	})
	if err != nil {
		return Imported{}, err
	}
	k.known = true
	b.mu.Lock()
	b.keys[info.Name] = k
	b.mu.Unlock()
	b.log.Info("pkcs11: key created", "key", info.Name, "type", k.info.Type, "algorithms", k.algs)
	return Imported{URI: b.uri(k), Algorithms: slices.Clone(k.algs)}, nil
}

// common attributes of every key object keyfence creates.
func baseAttrs(class, ckk uint, label string, id []byte) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, ckk),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
}

// secretAttrs make a key that can only sign and never leaves the token.
func secretAttrs() []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	}
}

func publicAttrs() []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
	}
}

// hmacAlgs are the HMAC algorithms in the order they are probed.
var hmacAlgs = []struct {
	alg  signer.Algorithm
	mech uint
	hash func() hash.Hash
}{
	{signer.HMACSHA256, pkcs11.CKM_SHA256_HMAC, sha256.New},
	{signer.HMACSHA512, pkcs11.CKM_SHA512_HMAC, sha512.New},
}

func (b *Backend) importHMAC(s pkcs11.SessionHandle, info signer.KeyInfo, id, material []byte, require []signer.Algorithm) (*key, error) {
	if len(material) == 0 {
		return nil, fmt.Errorf("%w: empty HMAC secret", signer.ErrInvalidKey)
	}
	for _, a := range require {
		if a.KeyType() != signer.KeyHMAC {
			return nil, fmt.Errorf("%w: an HMAC key cannot sign %s", signer.ErrWrongAlgorithm, a)
		}
	}
	// Before creating anything: which HMAC mechanisms accept a key of
	// this length? Tokens state HMAC key sizes in bytes; 0 means no bound.
	why := make(map[signer.Algorithm]string)
	var candidates []signer.Algorithm
	for _, h := range hmacAlgs {
		mi, err := b.mod.ctx.GetMechanismInfo(b.slot, []*pkcs11.Mechanism{pkcs11.NewMechanism(h.mech, nil)})
		switch {
		case err != nil:
			why[h.alg] = fmt.Sprintf("the token has no %s mechanism (%v)", h.alg, err)
		case mi.Flags&pkcs11.CKF_SIGN == 0:
			why[h.alg] = fmt.Sprintf("the token cannot sign with %s", h.alg)
		case mi.MinKeySize > 0 && uint(len(material)) < mi.MinKeySize:
			why[h.alg] = fmt.Sprintf("the token needs an HMAC key of at least %d bytes for %s; this key has %d", mi.MinKeySize, h.alg, len(material))
		case mi.MaxKeySize > 0 && uint(len(material)) > mi.MaxKeySize:
			why[h.alg] = fmt.Sprintf("the token takes an HMAC key of at most %d bytes for %s; this key has %d", mi.MaxKeySize, h.alg, len(material))
		default:
			candidates = append(candidates, h.alg)
		}
	}
	if err := checkRequired(candidates, require, why); err != nil {
		return nil, err
	}
	tmpl := append(baseAttrs(pkcs11.CKO_SECRET_KEY, pkcs11.CKK_GENERIC_SECRET, info.Name, id), secretAttrs()...)
	tmpl = append(tmpl,
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, false),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, bytes.Clone(material)))
	defer signer.Wipe(tmpl[len(tmpl)-1].Value)
	h, err := b.mod.ctx.CreateObject(s, tmpl)
	if err != nil {
		return nil, tokenRefused(err)
	}
	algs, probeWhy, err := b.probeHMAC(s, h, candidates, material)
	if err != nil {
		return nil, err
	}
	for a, w := range probeWhy {
		why[a] = w
	}
	if err := checkRequired(algs, require, why); err != nil {
		return nil, err
	}
	k := &key{
		info:  signer.KeyInfo{Name: info.Name, Venue: info.Venue, APIKey: info.APIKey, Type: signer.KeyHMAC, Backend: BackendName},
		class: pkcs11.CKO_SECRET_KEY,
		id:    id,
		algs:  algs,
		why:   why,
	}
	k.handle.Store(uint64(h))
	return k, nil
}

// checkRequired fails with ErrUnsupportedKey when algs lacks a required
// algorithm, or is empty.
func checkRequired(algs, require []signer.Algorithm, why map[signer.Algorithm]string) error {
	for _, a := range require {
		if !slices.Contains(algs, a) {
			return fmt.Errorf("%w: %s", ErrUnsupportedKey, why[a])
		}
	}
	if len(algs) == 0 {
		var reasons []string
		for _, h := range hmacAlgs {
			reasons = append(reasons, why[h.alg])
		}
		return fmt.Errorf("%w: %s; %s", ErrUnsupportedKey, reasons[0], reasons[1])
	}
	return nil
}

// probeHMAC signs a test message with each candidate algorithm (all HMAC
// algorithms when candidates is nil) and returns those the token accepts,
// with the reason for each it refuses. With material, the token's MAC must
// equal the one computed here.
func (b *Backend) probeHMAC(s pkcs11.SessionHandle, h pkcs11.ObjectHandle, candidates []signer.Algorithm, material []byte) ([]signer.Algorithm, map[signer.Algorithm]string, error) {
	var algs []signer.Algorithm
	why := make(map[signer.Algorithm]string)
	for _, ha := range hmacAlgs {
		if candidates != nil && !slices.Contains(candidates, ha.alg) {
			continue
		}
		mac, err := b.signHandle(s, h, ha.alg, probeMsg)
		switch rv(err) {
		case 0:
		case pkcs11.CKR_KEY_SIZE_RANGE:
			why[ha.alg] = fmt.Sprintf("the token refuses this key's length for %s (CKR_KEY_SIZE_RANGE; SoftHSM2 needs at least the digest length)", ha.alg)
			continue
		case pkcs11.CKR_MECHANISM_INVALID, pkcs11.CKR_KEY_TYPE_INCONSISTENT, pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED:
			why[ha.alg] = fmt.Sprintf("the token refuses %s with this key (%v)", ha.alg, err)
			continue
		default:
			return nil, nil, err
		}
		if material != nil {
			m := hmac.New(ha.hash, material)
			m.Write(probeMsg)
			if !hmac.Equal(mac, m.Sum(nil)) {
				return nil, nil, fmt.Errorf("%w: the token's %s differs from the reference MAC", ErrUnsupportedKey, ha.alg)
			}
		}
		algs = append(algs, ha.alg)
	}
	return algs, why, nil
}

// tokenRefused classifies a failure to create a key object: a token that
// does not support the key type or its parameters is ErrUnsupportedKey.
func tokenRefused(err error) error {
	switch rv(err) {
	case pkcs11.CKR_ATTRIBUTE_VALUE_INVALID, pkcs11.CKR_ATTRIBUTE_TYPE_INVALID, pkcs11.CKR_TEMPLATE_INCONSISTENT,
		pkcs11.CKR_KEY_SIZE_RANGE, pkcs11.CKR_MECHANISM_INVALID, pkcs11.CKR_CURVE_NOT_SUPPORTED,
		pkcs11.CKR_DOMAIN_PARAMS_INVALID, pkcs11.CKR_TEMPLATE_INCOMPLETE:
		return fmt.Errorf("%w: C_CreateObject: %w", ErrUnsupportedKey, err)
	}
	return fmt.Errorf("pkcs11: create key object: %w", err)
}

func (b *Backend) importPrivate(s pkcs11.SessionHandle, info signer.KeyInfo, id []byte, priv crypto.Signer, require []signer.Algorithm) (*key, error) {
	for _, a := range require {
		if a.KeyType() != info.Type {
			return nil, fmt.Errorf("%w: a %s key cannot sign %s", signer.ErrWrongAlgorithm, info.Type, a)
		}
	}
	var privT, pubT []*pkcs11.Attribute
	var secret [][]byte // attribute values to wipe
	switch k := priv.(type) {
	case ed25519.PrivateKey:
		seed := bytes.Clone(k.Seed())
		secret = append(secret, seed)
		privT = []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, oidEd25519),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, seed),
		}
		pubT = []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, oidEd25519),
			pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, encodePoint(k.Public().(ed25519.PublicKey))),
		}
		privT = append(baseAttrs(pkcs11.CKO_PRIVATE_KEY, ckkECEdwards, info.Name, id), privT...)
		pubT = append(baseAttrs(pkcs11.CKO_PUBLIC_KEY, ckkECEdwards, info.Name, id), pubT...)
	case *ecdsa.PrivateKey:
		d, err := k.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: ECDSA key", signer.ErrInvalidKey)
		}
		point, err := k.PublicKey.Bytes()
		if err != nil {
			signer.Wipe(d)
			return nil, fmt.Errorf("%w: ECDSA public key", signer.ErrInvalidKey)
		}
		secret = append(secret, d)
		privT = append(baseAttrs(pkcs11.CKO_PRIVATE_KEY, pkcs11.CKK_EC, info.Name, id),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, oidP256),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, d))
		pubT = append(baseAttrs(pkcs11.CKO_PUBLIC_KEY, pkcs11.CKK_EC, info.Name, id),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, oidP256),
			pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, encodePoint(point)))
	case *rsa.PrivateKey:
		if len(k.Primes) != 2 {
			return nil, fmt.Errorf("%w: an RSA key with %d primes; tokens take two", ErrUnsupportedKey, len(k.Primes))
		}
		k.Precompute()
		n, e := k.N.Bytes(), big.NewInt(int64(k.E)).Bytes()
		for _, v := range []*big.Int{k.D, k.Primes[0], k.Primes[1], k.Precomputed.Dp, k.Precomputed.Dq, k.Precomputed.Qinv} {
			secret = append(secret, v.Bytes())
		}
		privT = append(baseAttrs(pkcs11.CKO_PRIVATE_KEY, pkcs11.CKK_RSA, info.Name, id),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, n),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, e),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE_EXPONENT, secret[0]),
			pkcs11.NewAttribute(pkcs11.CKA_PRIME_1, secret[1]),
			pkcs11.NewAttribute(pkcs11.CKA_PRIME_2, secret[2]),
			pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_1, secret[3]),
			pkcs11.NewAttribute(pkcs11.CKA_EXPONENT_2, secret[4]),
			pkcs11.NewAttribute(pkcs11.CKA_COEFFICIENT, secret[5]))
		pubT = append(baseAttrs(pkcs11.CKO_PUBLIC_KEY, pkcs11.CKK_RSA, info.Name, id),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, n),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, e))
	default:
		return nil, fmt.Errorf("%w: unsupported private key %T", signer.ErrInvalidKey, priv)
	}
	defer func() {
		for _, v := range secret {
			signer.Wipe(v)
		}
	}()
	privT = append(privT, secretAttrs()...)
	pubT = append(pubT, publicAttrs()...)
	p11 := b.mod.ctx
	hpriv, err := p11.CreateObject(s, privT)
	if err != nil {
		return nil, tokenRefused(err)
	}
	if _, err := p11.CreateObject(s, pubT); err != nil {
		return nil, tokenRefused(err)
	}
	return b.finish(s, info, id, hpriv, priv.Public())
}

// finish reads a new key pair back from the token, checks its public key
// against want (if set) and verifies a test signature.
func (b *Backend) finish(s pkcs11.SessionHandle, info signer.KeyInfo, id []byte, hpriv pkcs11.ObjectHandle, want crypto.PublicKey) (*key, error) {
	t, _, _, pub, err := b.describe(s, hpriv, pkcs11.CKO_PRIVATE_KEY)
	if err != nil {
		return nil, err
	}
	if t != info.Type {
		return nil, fmt.Errorf("%w: the token holds a %s key, not %s", ErrUnsupportedKey, t, info.Type)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := pub.(equaler); !ok || want != nil && !e.Equal(want) {
		return nil, fmt.Errorf("%w: the token's public key differs from the imported key's", ErrUnsupportedKey)
	}
	if err := b.selfTest(s, hpriv, t, pub); err != nil {
		return nil, err
	}
	k := &key{
		info:  signer.KeyInfo{Name: info.Name, Venue: info.Venue, APIKey: info.APIKey, Type: t, Backend: BackendName, Public: pub},
		class: pkcs11.CKO_PRIVATE_KEY,
		id:    id,
		algs:  t.Algorithms(),
	}
	k.handle.Store(uint64(hpriv))
	return k, nil
}

// selfTest signs probeMsg on the token and verifies it with pub.
func (b *Backend) selfTest(s pkcs11.SessionHandle, h pkcs11.ObjectHandle, t signer.KeyType, pub crypto.PublicKey) error {
	alg := t.Algorithms()[0]
	if t == signer.KeyECDSAP256 {
		alg = signer.ES256DER
	}
	sig, err := b.signHandle(s, h, alg, probeMsg)
	if err != nil {
		switch rv(err) {
		case pkcs11.CKR_MECHANISM_INVALID, pkcs11.CKR_KEY_TYPE_INCONSISTENT, pkcs11.CKR_KEY_SIZE_RANGE, pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED:
			return fmt.Errorf("%w: the token cannot sign %s with this key: %w", ErrUnsupportedKey, alg, err)
		}
		return err
	}
	ok := false
	switch p := pub.(type) {
	case ed25519.PublicKey:
		ok = ed25519.Verify(p, probeMsg, sig)
	case *ecdsa.PublicKey:
		d := sha256.Sum256(probeMsg)
		ok = ecdsa.VerifyASN1(p, d[:], sig)
	case *rsa.PublicKey:
		d := sha256.Sum256(probeMsg)
		ok = rsa.VerifyPKCS1v15(p, crypto.SHA256, d[:], sig) == nil
	}
	if !ok {
		return fmt.Errorf("%w: the token's %s test signature does not verify", ErrUnsupportedKey, alg)
	}
	return nil
}

func (b *Backend) generate(s pkcs11.SessionHandle, info signer.KeyInfo, id []byte) (*key, error) {
	var (
		mech        uint
		ckk         uint
		privX, pubX []*pkcs11.Attribute
	)
	switch info.Type {
	case signer.KeyEd25519:
		mech, ckk = ckmECEdwardsKeyPairGen, ckkECEdwards
		pubX = []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, oidEd25519)}
	case signer.KeyECDSAP256:
		mech, ckk = pkcs11.CKM_EC_KEY_PAIR_GEN, pkcs11.CKK_EC
		pubX = []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, oidP256)}
	case signer.KeyRSA:
		mech, ckk = pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, pkcs11.CKK_RSA
		pubX = []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, GeneratedRSABits),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
		}
	default:
		return nil, fmt.Errorf("%w: Generate makes ed25519, ecdsa or rsa keys, not %q; import HMAC secrets", signer.ErrInvalidKey, info.Type)
	}
	pubT := append(append(baseAttrs(pkcs11.CKO_PUBLIC_KEY, ckk, info.Name, id), publicAttrs()...), pubX...)
	privT := append(append(baseAttrs(pkcs11.CKO_PRIVATE_KEY, ckk, info.Name, id), secretAttrs()...), privX...)
	_, hpriv, err := b.mod.ctx.GenerateKeyPair(s, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, pubT, privT)
	if err != nil {
		return nil, tokenRefused(err)
	}
	return b.finish(s, info, id, hpriv, nil)
}

// wipeKey overwrites what it can of a parsed private key.
func wipeKey(k crypto.Signer) {
	switch k := k.(type) {
	case ed25519.PrivateKey:
		signer.Wipe(k)
	case *rsa.PrivateKey:
		k.D.SetInt64(0)
	}
}
