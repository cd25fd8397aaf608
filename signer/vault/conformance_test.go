package vault

import (
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/signertest"
)

// TestConformance runs the signer conformance suite against the Vault
// fake: every key is imported through Transit BYOK (the mount's wrapping
// key, RSA-OAEP-SHA256 around AES-KWP, which the fake unwraps), and every
// signature and MAC is one Transit request. HMAC secrets shorter than 32
// bytes (RFC 4231's, the KuCoin and Bybit documentation secrets), which
// Transit does not import, are reported unsupported.
func TestConformance(t *testing.T) {
	srv := fakeVault(t)
	signertest.Run(t, signertest.HarnessFunc(func(ctx context.Context, t *testing.T, keys []signertest.Key) (signer.Signer, func(), error) {
		b := newBackend(t, srv)
		for _, k := range keys {
			_, err := b.Import(ctx, newKeyURI(), k.Info, k.Material, k.Passphrase)
			signer.Wipe(k.Material)
			signer.Wipe(k.Passphrase)
			if errors.Is(err, ErrUnsupportedKey) {
				return nil, nil, signertest.Unsupported(k.Info.Name, err.Error())
			}
			if err != nil {
				return nil, nil, err
			}
		}
		return b, nil, nil
	}))
}
