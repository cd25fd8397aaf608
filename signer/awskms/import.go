package awskms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/internal/keywrap"
)

// knownAnswer is the message Import signs to check an imported key
// against the material before the key is used.
var knownAnswer = []byte("keyfence awskms import known-answer test")

// Import creates KMS keys in region with origin EXTERNAL, imports the key
// material into them and registers them under info.Name. It returns the
// key's metadata; URIs lists the KMS keys made.
//
// An HMAC secret (an exchange's API secret) becomes an HMAC_256 key when
// it is 32 to 64 bytes long and an HMAC_512 key when it is 64 to 128
// bytes, both for a 64-byte secret; it is wrapped with RSAES_OAEP_SHA_256
// under the import's RSA_2048 wrapping key. An asymmetric key (material as
// signer.ParsePrivateKey reads it) is sent as PKCS#8 wrapped with
// RSA_AES_KEY_WRAP_SHA_256 (RSA-OAEP-SHA256 around AES-KWP) under an
// RSA_4096 wrapping key. Before registering, Import computes a
// known-answer MAC or signature through KMS and checks it against the
// material; on any failure it schedules the keys it created for deletion.
//
// passphrase is the API passphrase of the venues that pair one with the
// key (KuCoin, OKX, Coinbase Exchange), or nil. The backend keeps it in
// process memory for SignPassphrase and has KMS compute its HMAC-SHA256
// once, here. The caller should wipe material and passphrase.
func (b *Backend) Import(ctx context.Context, region string, info signer.KeyInfo, material, passphrase []byte, opts ...ImportOption) (signer.KeyInfo, error) {
	var o importOptions
	for _, f := range opts {
		f(&o)
	}
	fail := func(err error) (signer.KeyInfo, error) {
		return signer.KeyInfo{}, &signer.KeyError{Op: "import", Key: info.Name, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return signer.KeyInfo{}, err
	}
	if _, err := b.lookup("import", info.Name); err == nil {
		return fail(signer.ErrDuplicateKey)
	}
	c, err := b.client(region)
	if err != nil {
		return fail(err)
	}
	var made []URI
	cleanup := func() {
		for _, u := range made {
			// A key that failed its import must not be left usable.
			_, _ = c.ScheduleKeyDeletion(context.WithoutCancel(ctx), &kms.ScheduleKeyDeletionInput{
				KeyId: aws.String(u.KeyID), PendingWindowInDays: aws.Int32(7)})
		}
	}
	switch info.Type {
	case signer.KeyHMAC:
		specs := hmacSpecs(len(material), o.only)
		if len(specs) == 0 {
			return fail(fmt.Errorf("%w: KMS imports HMAC keys of 32 to 128 bytes; this one has %d", ErrUnsupportedKey, len(material)))
		}
		for _, s := range specs {
			u, err := b.importOne(ctx, c, region, info.Name, s.spec, types.KeyUsageTypeGenerateVerifyMac,
				types.AlgorithmSpecRsaesOaepSha256, types.WrappingKeySpecRsa2048, material)
			if u.KeyID != "" {
				made = append(made, u)
			}
			if err == nil {
				err = b.checkMAC(ctx, c, u, s.alg, material)
			}
			if err != nil {
				cleanup()
				return fail(err)
			}
		}
	case signer.KeyEd25519, signer.KeyECDSAP256, signer.KeyRSA:
		priv, err := signer.ParsePrivateKey(info.Type, material)
		if err != nil {
			return fail(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return fail(fmt.Errorf("%w: cannot encode the key as PKCS#8", signer.ErrInvalidKey))
		}
		defer signer.Wipe(der)
		spec := types.KeySpecEccNistEdwards25519
		switch k := priv.(type) {
		case *ecdsa.PrivateKey:
			spec = types.KeySpecEccNistP256
		case *rsa.PrivateKey:
			switch k.N.BitLen() {
			case 2048:
				spec = types.KeySpecRsa2048
			case 3072:
				spec = types.KeySpecRsa3072
			case 4096:
				spec = types.KeySpecRsa4096
			default:
				return fail(fmt.Errorf("%w: KMS holds RSA keys of 2048, 3072 or 4096 bits", ErrUnsupportedKey))
			}
		}
		u, err := b.importOne(ctx, c, region, info.Name, spec, types.KeyUsageTypeSignVerify,
			types.AlgorithmSpecRsaAesKeyWrapSha256, types.WrappingKeySpecRsa4096, der)
		if u.KeyID != "" {
			made = append(made, u)
		}
		if err == nil {
			err = b.checkSignature(ctx, c, u, info.Type, priv.Public())
		}
		if err != nil {
			cleanup()
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("%w: unknown key type %q", signer.ErrInvalidKey, info.Type))
	}
	uris := make([]string, len(made))
	for i, u := range made {
		uris[i] = u.String()
	}
	k, err := b.describeAll(ctx, info, uris)
	if err != nil {
		cleanup()
		return signer.KeyInfo{}, err
	}
	if o.alias != "" {
		_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(o.alias), TargetKeyId: aws.String(made[0].KeyID)})
		if err != nil {
			cleanup()
			return fail(mapError(ctx, "CreateAlias", err))
		}
	}
	if len(passphrase) > 0 {
		if info.Type != signer.KeyHMAC {
			cleanup()
			return fail(fmt.Errorf("%w: only an HMAC key has an API passphrase", signer.ErrInvalidKey))
		}
		k.pass = signer.NewSecret(passphrase)
		k.info.HasPassphrase = true
		if u, ok := k.by[signer.HMACSHA256]; ok {
			out, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(u.KeyID),
				MacAlgorithm: types.MacAlgorithmSpecHmacSha256, Message: passphrase})
			if err != nil {
				k.close()
				cleanup()
				return fail(mapError(ctx, "GenerateMac", err))
			}
			k.passMAC = signer.NewSecret(out.Mac)
		}
	}
	return b.add(k)
}

type hmacSpec struct {
	spec types.KeySpec
	alg  signer.Algorithm
}

// hmacSpecs returns the HMAC key specs KMS can import a secret of n bytes
// as.
func hmacSpecs(n int, only signer.Algorithm) []hmacSpec {
	var out []hmacSpec
	if n >= 32 && n <= 64 && (only == "" || only == signer.HMACSHA256) {
		out = append(out, hmacSpec{types.KeySpecHmac256, signer.HMACSHA256})
	}
	if n >= 64 && n <= 128 && (only == "" || only == signer.HMACSHA512) {
		out = append(out, hmacSpec{types.KeySpecHmac512, signer.HMACSHA512})
	}
	return out
}

// ImportOption configures Import.
type ImportOption func(*importOptions)

type importOptions struct {
	only  signer.Algorithm
	alias string
}

// ImportOnly makes Import create only the HMAC key for alg (HMACSHA256 or
// HMACSHA512), for a venue that uses one.
func ImportOnly(alg signer.Algorithm) ImportOption {
	return func(o *importOptions) { o.only = alg }
}

// ImportAlias gives the imported key an alias ("alias/binance-main") by
// CreateAlias. With two HMAC keys, the alias names the HMAC_256 one.
func ImportAlias(alias string) ImportOption {
	return func(o *importOptions) { o.alias = alias }
}

// importOne creates one EXTERNAL key and imports material into it. It
// returns the key's URI as soon as the key exists, so that the caller can
// delete it on failure.
func (b *Backend) importOne(ctx context.Context, c *kms.Client, region, name string, spec types.KeySpec,
	usage types.KeyUsageType, wrapAlg types.AlgorithmSpec, wrapSpec types.WrappingKeySpec, material []byte) (URI, error) {
	ck, err := c.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec: spec, KeyUsage: usage, Origin: types.OriginTypeExternal,
		Description: aws.String("keyfence: " + name),
	})
	if err != nil {
		return URI{}, mapError(ctx, "CreateKey", err)
	}
	if ck.KeyMetadata == nil || ck.KeyMetadata.KeyId == nil {
		return URI{}, errors.New("awskms: CreateKey answered no key ID")
	}
	u := URI{Region: region, KeyID: *ck.KeyMetadata.KeyId}
	p, err := c.GetParametersForImport(ctx, &kms.GetParametersForImportInput{
		KeyId: aws.String(u.KeyID), WrappingAlgorithm: wrapAlg, WrappingKeySpec: wrapSpec,
	})
	if err != nil {
		return u, mapError(ctx, "GetParametersForImport", err)
	}
	pk, err := x509.ParsePKIXPublicKey(p.PublicKey)
	rpk, ok := pk.(*rsa.PublicKey)
	if err != nil || !ok {
		return u, errors.New("awskms: GetParametersForImport answered a wrapping key that is not RSA")
	}
	var wrapped []byte
	if wrapAlg == types.AlgorithmSpecRsaAesKeyWrapSha256 {
		wrapped, err = keywrap.Envelope(rpk, material)
	} else {
		wrapped, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, rpk, material, nil)
	}
	if err != nil {
		return u, fmt.Errorf("awskms: wrap the key material: %w", err)
	}
	_, err = c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{
		KeyId: aws.String(u.KeyID), ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped,
		ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire,
	})
	if err != nil {
		return u, mapError(ctx, "ImportKeyMaterial", err)
	}
	return u, nil
}

func (b *Backend) checkMAC(ctx context.Context, c *kms.Client, u URI, alg signer.Algorithm, material []byte) error {
	ma, h := types.MacAlgorithmSpecHmacSha256, sha256.New
	if alg == signer.HMACSHA512 {
		ma, h = types.MacAlgorithmSpecHmacSha512, sha512.New
	}
	out, err := c.GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(u.KeyID), MacAlgorithm: ma, Message: knownAnswer})
	if err != nil {
		return mapError(ctx, "GenerateMac", err)
	}
	m := hmac.New(h, material)
	m.Write(knownAnswer)
	if !hmac.Equal(out.Mac, m.Sum(nil)) {
		return fmt.Errorf("%w: the known-answer MAC from KMS does not match the secret", signer.ErrInvalidKey)
	}
	return nil
}

func (b *Backend) checkSignature(ctx context.Context, c *kms.Client, u URI, t signer.KeyType, pub crypto.PublicKey) error {
	sa := map[signer.KeyType]types.SigningAlgorithmSpec{
		signer.KeyEd25519:   types.SigningAlgorithmSpecEd25519Sha512,
		signer.KeyECDSAP256: types.SigningAlgorithmSpecEcdsaSha256,
		signer.KeyRSA:       types.SigningAlgorithmSpecRsassaPkcs1V15Sha256,
	}[t]
	out, err := c.Sign(ctx, &kms.SignInput{KeyId: aws.String(u.KeyID), Message: knownAnswer,
		MessageType: types.MessageTypeRaw, SigningAlgorithm: sa})
	if err != nil {
		return mapError(ctx, "Sign", err)
	}
	d := sha256.Sum256(knownAnswer)
	ok := false
	switch k := pub.(type) {
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, knownAnswer, out.Signature)
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, d[:], out.Signature)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], out.Signature) == nil
	}
	if !ok {
		return fmt.Errorf("%w: the known-answer signature from KMS does not verify with the key's public key", signer.ErrInvalidKey)
	}
	return nil
}
