package vault

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"

	"github.com/keyfence/keyfence/signer"
)

// verify checks an asymmetric signature with the public key.
func verify(pub any, alg signer.Algorithm, msg, sig []byte) bool {
	h := sha256.Sum256(msg)
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return alg == signer.Ed25519 && ed25519.Verify(k, msg, sig)
	case *ecdsa.PublicKey:
		switch alg {
		case signer.ES256:
			der, err := signer.ECDSARawToDER(sig)
			return err == nil && ecdsa.VerifyASN1(k, h[:], der)
		case signer.ES256DER:
			return ecdsa.VerifyASN1(k, h[:], sig)
		}
	case *rsa.PublicKey:
		return alg == signer.RS256 && rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) == nil
	}
	return false
}
