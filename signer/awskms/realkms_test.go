package awskms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/signertest"
)

// Real AWS KMS, opt-in: KEYFENCE_AWSKMS_TEST_KEYS lists awskms:// URIs of
// existing keys (separated by spaces or commas) that the test signs with
// and checks (asymmetric signatures with the key's public key, MACs with
// VerifyMac). KEYFENCE_AWSKMS_TEST_IMPORT_REGION additionally runs the
// conformance suite with imports in that region; the keys it creates are
// scheduled for deletion (7 days) when it ends. The standard AWS
// configuration supplies credentials.

func TestRealKMSKeys(t *testing.T) {
	list := os.Getenv("KEYFENCE_AWSKMS_TEST_KEYS")
	if list == "" {
		t.Skip("real AWS KMS is opt-in: set KEYFENCE_AWSKMS_TEST_KEYS to awskms:// URIs of test keys")
	}
	ctx := t.Context()
	b, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	msg := []byte("keyfence real KMS test message")
	for _, u := range strings.FieldsFunc(list, func(r rune) bool { return r == ' ' || r == ',' }) {
		t.Run(u, func(t *testing.T) {
			d, name, err := b.Resolve(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			info, _ := d.Info(ctx, name)
			for _, alg := range info.Type.Algorithms() {
				sig, err := d.Sign(ctx, name, alg, msg)
				if errors.Is(err, signer.ErrWrongAlgorithm) {
					continue // an HMAC_256 key does not make HMAC-SHA512
				}
				if err != nil {
					t.Fatalf("%s: %v", alg, err)
				}
				if !verifyReal(t, b, u, info.Public, alg, msg, sig) {
					t.Fatalf("%s: the signature does not verify", alg)
				}
			}
		})
	}
}

func verifyReal(t *testing.T, b *Backend, u string, pub crypto.PublicKey, alg signer.Algorithm, msg, sig []byte) bool {
	h := sha256.Sum256(msg)
	switch alg {
	case signer.Ed25519:
		return ed25519.Verify(pub.(ed25519.PublicKey), msg, sig)
	case signer.ES256:
		der, err := signer.ECDSARawToDER(sig)
		return err == nil && ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), h[:], der)
	case signer.ES256DER:
		return ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), h[:], sig)
	case signer.RS256:
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, h[:], sig) == nil
	}
	pu, _ := ParseURI(u)
	c, _ := b.client(pu.Region)
	ma := types.MacAlgorithmSpecHmacSha256
	if alg == signer.HMACSHA512 {
		ma = types.MacAlgorithmSpecHmacSha512
	}
	out, err := c.VerifyMac(t.Context(), &kms.VerifyMacInput{KeyId: aws.String(pu.KeyID), Mac: sig, MacAlgorithm: ma, Message: msg})
	return err == nil && out.MacValid
}

func TestRealKMSConformance(t *testing.T) {
	region := os.Getenv("KEYFENCE_AWSKMS_TEST_IMPORT_REGION")
	if region == "" {
		t.Skip("real AWS KMS conformance is opt-in: set KEYFENCE_AWSKMS_TEST_IMPORT_REGION (it creates keys and schedules their deletion)")
	}
	signertest.Run(t, signertest.HarnessFunc(func(ctx context.Context, t *testing.T, keys []signertest.Key) (signer.Signer, func(), error) {
		b, err := New(ctx)
		if err != nil {
			return nil, nil, err
		}
		cleanup := func() {
			for _, k := range keys {
				uris, _ := b.URIs(k.Info.Name)
				for _, s := range uris {
					u, _ := ParseURI(s)
					if c, err := b.client(u.Region); err == nil {
						_, _ = c.ScheduleKeyDeletion(context.Background(), &kms.ScheduleKeyDeletionInput{KeyId: aws.String(u.KeyID), PendingWindowInDays: aws.Int32(7)})
					}
				}
			}
			_ = b.Close()
		}
		for _, k := range keys {
			if k.Info.Name == "rfc8032-TEST1" {
				cleanup()
				return nil, nil, signertest.Unsupported(k.Info.Name, "KMS signs messages of 1 to 4,096 bytes")
			}
			_, err := b.Import(ctx, region, k.Info, k.Material, k.Passphrase)
			if errors.Is(err, ErrUnsupportedKey) {
				cleanup()
				return nil, nil, signertest.Unsupported(k.Info.Name, err.Error())
			}
			if err != nil {
				cleanup()
				return nil, nil, err
			}
		}
		return b, cleanup, nil
	}))
}
