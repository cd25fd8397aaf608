package signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// ParsePrivateKey decodes the private key material of an asymmetric key
// type: a PEM block (PKCS#8 for every type, SEC1 "EC PRIVATE KEY" for ECDSA,
// PKCS#1 "RSA PRIVATE KEY" for RSA) or, for Ed25519, a raw 32-byte seed or
// 64-byte seed||public key. Errors never quote the input.
func ParsePrivateKey(t KeyType, material []byte) (crypto.Signer, error) {
	switch t {
	case KeyEd25519, KeyECDSAP256, KeyRSA:
	default:
		return nil, fmt.Errorf("%w: %q is not an asymmetric key type: use ed25519, ecdsa or rsa", ErrInvalidKey, string(t))
	}
	if t == KeyEd25519 {
		switch len(material) {
		case ed25519.SeedSize:
			return ed25519.NewKeyFromSeed(material), nil
		case ed25519.PrivateKeySize:
			k := ed25519.NewKeyFromSeed(material[:ed25519.SeedSize])
			if string(k[ed25519.SeedSize:]) != string(material[ed25519.SeedSize:]) {
				return nil, fmt.Errorf("%w: ed25519 public half does not match the seed", ErrInvalidKey)
			}
			return k, nil
		}
	}
	block, _ := pem.Decode(material)
	if block == nil {
		return nil, fmt.Errorf("%w: expected a PEM block for a %s key", ErrInvalidKey, t)
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: unsupported PEM block type: use PRIVATE KEY (PKCS#8), EC PRIVATE KEY (SEC1) or RSA PRIVATE KEY (PKCS#1)", ErrInvalidKey)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot parse the %s PEM block; check that the key is complete", ErrInvalidKey, block.Type)
	}
	switch k := key.(type) {
	case ed25519.PrivateKey:
		if t == KeyEd25519 {
			return k, nil
		}
	case *ecdsa.PrivateKey:
		if t == KeyECDSAP256 {
			if k.Curve != elliptic.P256() {
				return nil, fmt.Errorf("%w: ECDSA key is not on P-256", ErrInvalidKey)
			}
			return k, nil
		}
	case *rsa.PrivateKey:
		if t == KeyRSA {
			if k.N.BitLen() < 2048 {
				return nil, fmt.Errorf("%w: RSA key has %d bits; at least 2048 are required", ErrInvalidKey, k.N.BitLen())
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: PEM holds a %T, not a %s key", ErrInvalidKey, key, t)
}
