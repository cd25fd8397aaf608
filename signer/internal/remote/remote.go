// Package remote holds what the signer backends that keep their keys in a
// remote service (AWS KMS, Vault Transit) share.
package remote

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyfence/keyfence/signer"
)

// SignFunc signs msg with the backend's key name.
type SignFunc func(ctx context.Context, name string, alg signer.Algorithm, msg []byte) ([]byte, error)

// SignPassphrase signs a key's API passphrase (KuCoin's header) for
// signer.PassphraseSigner: HMAC-SHA256 returns passMAC, the MAC the service
// computed when the key was imported, with no call; another HMAC algorithm
// signs pass with sign, one call. pass nil means the key has no passphrase.
// Errors are *signer.KeyError for op "sign passphrase".
func SignPassphrase(ctx context.Context, name string, alg signer.Algorithm, pass, passMAC *signer.Secret, sign SignFunc) ([]byte, error) {
	const op = "sign passphrase"
	fail := func(err error) ([]byte, error) { return nil, &signer.KeyError{Op: op, Key: name, Err: err} }
	if pass == nil {
		return fail(signer.ErrNoPassphrase)
	}
	if alg.KeyType() != signer.KeyHMAC {
		return fail(fmt.Errorf("%w: the passphrase is signed with an HMAC algorithm", signer.ErrWrongAlgorithm))
	}
	var out []byte
	var err error
	if alg == signer.HMACSHA256 && passMAC != nil {
		err = passMAC.Use(func(m []byte) error { out = append([]byte(nil), m...); return nil })
	} else {
		err = pass.Use(func(p []byte) error {
			var err error
			out, err = sign(ctx, name, alg, p)
			return err
		})
	}
	if err != nil {
		var ke *signer.KeyError
		if errors.As(err, &ke) && ke.Key == name {
			err = ke.Err
		}
		return fail(err)
	}
	return out, nil
}
