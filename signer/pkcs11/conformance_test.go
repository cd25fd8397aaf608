//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/signertest"
)

// TestConformance runs the signer conformance suite against SoftHSM2: each
// backend the suite asks for is a fresh token holding exactly its keys.
func TestConformance(t *testing.T) {
	softhsmLib(t)
	signertest.Run(t, signertest.HarnessFunc(func(ctx context.Context, t *testing.T, keys []signertest.Key) (signer.Signer, func(), error) {
		tok := newToken(t)
		b, err := Open(ctx, tok.config())
		if err != nil {
			return nil, nil, err
		}
		for _, k := range keys {
			_, err := b.Import(ctx, k.Info, k.Material, k.Passphrase)
			signer.Wipe(k.Material)
			signer.Wipe(k.Passphrase)
			if errors.Is(err, ErrUnsupportedKey) {
				b.Close()
				return nil, nil, signertest.Unsupported(k.Info.Name, err.Error())
			}
			if err != nil {
				b.Close()
				return nil, nil, err
			}
		}
		return b, func() { _ = b.Close() }, nil
	}))
}
