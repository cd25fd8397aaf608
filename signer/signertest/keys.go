package signertest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"sync"

	"github.com/keyfence/keyfence/signer"
)

func hmacKey(name string, secret []byte) Key {
	return Key{
		Info:     signer.KeyInfo{Name: name, Venue: "test", APIKey: "api-" + name, Type: signer.KeyHMAC},
		Material: secret,
	}
}

// edFormat is how an Ed25519 key's material is written.
type edFormat int

const (
	edSeed       edFormat = iota // 32-byte seed
	edSeedPublic                 // 64-byte seed || public key
	edPKCS8                      // PEM "PRIVATE KEY"
)

func ed25519Key(name string, seed []byte, f edFormat) (Key, ed25519.PublicKey, error) {
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	k := Key{Info: signer.KeyInfo{Name: name, Venue: "test", APIKey: "api-" + name, Type: signer.KeyEd25519}}
	switch f {
	case edSeed:
		k.Material = seed
	case edSeedPublic:
		k.Material = []byte(priv)
	case edPKCS8:
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return Key{}, nil, err
		}
		k.Material = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	return k, pub, nil
}

func pkcs8PEM(priv any) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// asymmetric is a test key generated at run time: the material to import
// and the public key to verify with.
type asymmetric struct {
	material []byte
	public   any
}

// rsaTestKey generates one RSA 2048 key per test binary: generation takes
// long enough to be worth sharing between backends and subtests. Its
// material is cloned for each use, since a harness may wipe it.
var rsaTestKey = sync.OnceValues(func() (asymmetric, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return asymmetric{}, err
	}
	p, err := pkcs8PEM(k)
	return asymmetric{material: p, public: &k.PublicKey}, err
})

func newECDSAKey() (asymmetric, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return asymmetric{}, err
	}
	p, err := pkcs8PEM(k)
	return asymmetric{material: p, public: &k.PublicKey}, err
}

func newEd25519Key() (asymmetric, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return asymmetric{}, err
	}
	p, err := pkcs8PEM(priv)
	return asymmetric{material: p, public: pub}, err
}

func mustBase64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(fmt.Sprintf("signertest: bad base64 constant: %v", err))
	}
	return b
}

func decodeHex(s string) ([]byte, error) { return hex.DecodeString(s) }
