//go:build cgo

package pkcs11

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
)

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
