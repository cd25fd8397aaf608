package awskms

import (
	"context"
	"errors"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/signertest"
)

// TestConformance runs the signer conformance suite through the AWS SDK
// against the KMS fake: each key is imported as KMS does it
// (GetParametersForImport, RSA-OAEP-SHA256 or RSA-OAEP-SHA256 around
// AES-KWP, ImportKeyMaterial, a known-answer check), and every signature
// and MAC is a SigV4-signed KMS call. Keys KMS cannot import (HMAC secrets
// shorter than 32 or longer than 128 bytes, such as RFC 4231's) are
// reported unsupported, and so is the key of RFC 8032 TEST 1, whose
// message is empty (KMS signs 1 to 4,096 bytes).
func TestConformance(t *testing.T) {
	_, fake := fakeKMS(t)
	signertest.Run(t, signertest.HarnessFunc(func(ctx context.Context, t *testing.T, keys []signertest.Key) (signer.Signer, func(), error) {
		b := fakeBackend(t, fake)
		for _, k := range keys {
			if k.Info.Name == "rfc8032-TEST1" {
				return nil, nil, signertest.Unsupported(k.Info.Name, "KMS signs messages of 1 to 4,096 bytes and RFC 8032 TEST 1 signs the empty message")
			}
			_, err := b.Import(ctx, fakeRegion, k.Info, k.Material, k.Passphrase)
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
