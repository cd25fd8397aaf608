package vault

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/internal/keywrap"
)

// knownAnswer is the message Import signs to check an imported key.
var knownAnswer = []byte("keyfence vault import known-answer test")

// Import imports key material into a new Transit key uri names (BYOK):
// it reads the mount's wrapping key, wraps the material with
// RSA-OAEP-SHA256 around AES-KWP (RFC 5649) under an ephemeral AES-256 key
// and posts it to keys/NAME/import, not exportable. An HMAC secret (32 to
// 512 bytes) is sent as is, an asymmetric key (as signer.ParsePrivateKey
// reads it) as PKCS#8. A known-answer MAC or signature is checked before
// the key is registered under info.Name. passphrase, if not nil, is held
// in memory for SignPassphrase and its HMAC-SHA256 computed by Vault once,
// here. The caller should wipe material and passphrase.
func (b *Backend) Import(ctx context.Context, uri string, info signer.KeyInfo, material, passphrase []byte) (signer.KeyInfo, error) {
	fail := func(err error) (signer.KeyInfo, error) {
		return signer.KeyInfo{}, &signer.KeyError{Op: "import", Key: info.Name, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return signer.KeyInfo{}, err
	}
	u, err := ParseURI(uri)
	if err != nil {
		return fail(err)
	}
	if u.Version != 0 {
		return fail(fmt.Errorf("%w: an import makes version 1; name the key without @VERSION", ErrBadURI))
	}
	if _, err := b.lookup("import", info.Name); err == nil {
		return fail(signer.ErrDuplicateKey)
	}
	var vtype string
	var wire []byte
	switch info.Type {
	case signer.KeyHMAC:
		if len(material) < 32 || len(material) > 512 {
			return fail(fmt.Errorf("%w: Transit imports HMAC keys of 32 to 512 bytes; this one has %d", ErrUnsupportedKey, len(material)))
		}
		vtype, wire = "hmac", material
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
		wire = der
		switch k := priv.(type) {
		case *ecdsa.PrivateKey:
			vtype = "ecdsa-p256"
		case *rsa.PrivateKey:
			vtype = fmt.Sprintf("rsa-%d", k.N.BitLen())
			if k.N.BitLen() != 2048 && k.N.BitLen() != 3072 && k.N.BitLen() != 4096 {
				return fail(fmt.Errorf("%w: Transit holds RSA keys of 2048, 3072 or 4096 bits", ErrUnsupportedKey))
			}
		default:
			vtype = "ed25519"
		}
	default:
		return fail(fmt.Errorf("%w: unknown key type %q", signer.ErrInvalidKey, info.Type))
	}
	var wk struct {
		Data struct {
			PublicKey string `json:"public_key"`
		} `json:"data"`
	}
	if err := b.c.do(ctx, "read wrapping key", http.MethodGet, u.Mount+"/wrapping_key", nil, &wk); err != nil {
		return fail(err)
	}
	block, _ := pem.Decode([]byte(wk.Data.PublicKey))
	if block == nil {
		return fail(errors.New("vault: the wrapping key is not PEM"))
	}
	pk, err := x509.ParsePKIXPublicKey(block.Bytes)
	rpk, ok := pk.(*rsa.PublicKey)
	if err != nil || !ok {
		return fail(errors.New("vault: the wrapping key is not an RSA public key"))
	}
	env, err := keywrap.Envelope(rpk, wire)
	if err != nil {
		return fail(fmt.Errorf("vault: wrap the key material: %w", err))
	}
	body := map[string]any{"ciphertext": base64.StdEncoding.EncodeToString(env), "hash_function": "SHA256",
		"type": vtype, "exportable": false, "allow_plaintext_backup": false}
	if err := b.c.do(ctx, "import", http.MethodPost, u.Mount+"/keys/"+u.Key+"/import", body, nil); err != nil {
		return fail(err)
	}
	k, err := b.describeKey(ctx, info, u.String())
	if err != nil {
		return signer.KeyInfo{}, err
	}
	// The known-answer check signs through the key before it is added.
	check := &Backend{c: b.c, log: b.log, keys: map[string]*key{info.Name: k}}
	if err := checkKnownAnswer(ctx, check, info.Name, info.Type, material, k.info.Public); err != nil {
		return fail(err)
	}
	if len(passphrase) > 0 {
		if info.Type != signer.KeyHMAC {
			return fail(fmt.Errorf("%w: only an HMAC key has an API passphrase", signer.ErrInvalidKey))
		}
		mac, err := check.Sign(ctx, info.Name, signer.HMACSHA256, passphrase)
		if err != nil {
			return signer.KeyInfo{}, err
		}
		k.pass, k.passMAC = signer.NewSecret(passphrase), signer.NewSecret(mac)
		k.info.HasPassphrase = true
	}
	return b.add(k)
}

func checkKnownAnswer(ctx context.Context, b *Backend, name string, t signer.KeyType, material []byte, pub any) error {
	if t == signer.KeyHMAC {
		for _, alg := range []signer.Algorithm{signer.HMACSHA256, signer.HMACSHA512} {
			got, err := b.Sign(ctx, name, alg, knownAnswer)
			if err != nil {
				return err
			}
			h := sha256.New
			if alg == signer.HMACSHA512 {
				h = sha512.New
			}
			m := hmac.New(h, material)
			m.Write(knownAnswer)
			if !hmac.Equal(got, m.Sum(nil)) {
				return fmt.Errorf("%w: the known-answer %s from Vault does not match the secret", signer.ErrInvalidKey, alg)
			}
		}
		return nil
	}
	alg := t.Algorithms()[0]
	sig, err := b.Sign(ctx, name, alg, knownAnswer)
	if err != nil {
		return err
	}
	if !verify(pub, alg, knownAnswer, sig) {
		return fmt.Errorf("%w: the known-answer signature from Vault does not verify with the key's public key", signer.ErrInvalidKey)
	}
	return nil
}
