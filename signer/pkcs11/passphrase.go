//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
)

// passphraseApp is the CKA_APPLICATION of the data object that holds a
// key's API passphrase.
const passphraseApp = "keyfence API passphrase"

// A venue's API passphrase (KuCoin, OKX, Coinbase Exchange) is not a key:
// the venue needs it, or an HMAC of it, as data. The backend keeps it on the
// token beside the key, as a private data object (CKO_DATA, CKA_PRIVATE,
// readable only after login) with the key's label, and reads it only to
// MAC it with the key inside SignPassphrase.

func passphraseAttrs(label string, pass []byte) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_DATA),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_MODIFIABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_APPLICATION, passphraseApp),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, pass),
	}
}

// findPassphrase returns the data objects holding label's passphrase.
func (b *Backend) findPassphrase(s pkcs11.SessionHandle, label string) ([]pkcs11.ObjectHandle, error) {
	hs, err := b.findObjects(s, pkcs11.CKO_DATA, label, nil)
	if err != nil {
		return nil, err
	}
	out := hs[:0]
	for _, h := range hs {
		a, err := b.attrs(s, h, pkcs11.CKA_APPLICATION)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(a[pkcs11.CKA_APPLICATION], []byte(passphraseApp)) {
			out = append(out, h)
		}
	}
	return out, nil
}

// SignPassphrase implements signer.PassphraseSigner: the token MACs the
// key's API passphrase with the key (KuCoin's KC-API-PASSPHRASE for key
// versions 2 and 3).
func (b *Backend) SignPassphrase(ctx context.Context, name string, alg signer.Algorithm) ([]byte, error) {
	const op = "sign passphrase"
	if err := b.begin(ctx); err != nil {
		return nil, err
	}
	defer b.life.RUnlock()
	k, err := b.lookup(ctx, op, name)
	if err != nil {
		return nil, err
	}
	if !k.info.HasPassphrase {
		return nil, &signer.KeyError{Op: op, Key: name, Err: signer.ErrNoPassphrase}
	}
	if alg.KeyType() != signer.KeyHMAC || k.info.Type != signer.KeyHMAC || !slices.Contains(k.algs, alg) {
		return nil, &signer.KeyError{Op: op, Key: name, Err: fmt.Errorf("%w: the passphrase is MACed with HMAC-SHA256 or HMAC-SHA512 that the key supports, not %s", signer.ErrWrongAlgorithm, alg)}
	}
	var sig []byte
	err = b.withSession(ctx, func(s pkcs11.SessionHandle) error {
		hs, err := b.findPassphrase(s, name)
		if err != nil {
			return err
		}
		if len(hs) != 1 {
			return fmt.Errorf("%w: found %d passphrase objects", signer.ErrNoPassphrase, len(hs))
		}
		a, err := b.mod.ctx.GetAttributeValue(s, hs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
		if err != nil {
			return fmt.Errorf("pkcs11: read passphrase: %w", err)
		}
		defer signer.Wipe(a[0].Value)
		sig, err = b.sign(s, k, alg, a[0].Value)
		return err
	})
	if err != nil {
		return nil, &signer.KeyError{Op: op, Key: name, Err: err}
	}
	return sig, nil
}

var _ signer.PassphraseSigner = (*Backend)(nil)
