package awskms

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/keyfence/keyfence/keystore"
)

// contextKey is the encryption context key that carries the associated
// data of a wrap; CloudTrail logs it beside each Decrypt.
const contextKey = "keyfence"

// Wrapper is a keystore.KeyWrapper over a symmetric KMS key
// (SYMMETRIC_DEFAULT): WrapKey is KMS Encrypt and UnwrapKey KMS Decrypt,
// with the associated data as the encryption context {"keyfence": aad}.
// The plaintext key travels to KMS over TLS and is never stored.
type Wrapper struct {
	b   *Backend
	uri URI
}

// Wrapper returns a keystore.KeyWrapper over the symmetric KMS key uri
// names.
func (b *Backend) Wrapper(uri string) (*Wrapper, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	return &Wrapper{b: b, uri: u}, nil
}

// ResolveWrapper has the signature of keystore.WrapperResolver: pass it to
// keystore.OpenWrapped.
func (b *Backend) ResolveWrapper(_ context.Context, uri string) (keystore.KeyWrapper, error) {
	return b.Wrapper(uri)
}

// URI implements keystore.KeyWrapper.
func (w *Wrapper) URI() string { return w.uri.String() }

func encryptionContext(aad []byte) (map[string]string, error) {
	if !utf8.Valid(aad) {
		return nil, errors.New("awskms: the associated data of a wrap must be UTF-8 (it is a KMS encryption context)")
	}
	return map[string]string{contextKey: string(aad)}, nil
}

// WrapKey implements keystore.KeyWrapper with one KMS Encrypt call.
func (w *Wrapper) WrapKey(ctx context.Context, key, aad []byte) ([]byte, error) {
	ec, err := encryptionContext(aad)
	if err != nil {
		return nil, err
	}
	c, err := w.b.client(w.uri.Region)
	if err != nil {
		return nil, err
	}
	out, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(w.uri.KeyID), Plaintext: key,
		EncryptionContext: ec, EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault})
	if err != nil {
		return nil, mapError(ctx, "Encrypt", err)
	}
	return out.CiphertextBlob, nil
}

// UnwrapKey implements keystore.KeyWrapper with one KMS Decrypt call,
// naming the key so that a ciphertext of another key is refused.
func (w *Wrapper) UnwrapKey(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	ec, err := encryptionContext(aad)
	if err != nil {
		return nil, err
	}
	c, err := w.b.client(w.uri.Region)
	if err != nil {
		return nil, err
	}
	out, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(w.uri.KeyID), CiphertextBlob: wrapped,
		EncryptionContext: ec, EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault})
	if err != nil {
		return nil, mapError(ctx, "Decrypt", err)
	}
	return out.Plaintext, nil
}

var _ keystore.KeyWrapper = (*Wrapper)(nil)
