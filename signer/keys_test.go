package signer_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

// testKeys are generated once per test binary: RSA generation is slow.
var testKeys = sync.OnceValue(func() map[string][]byte {
	must := func(b []byte, err error) []byte {
		if err != nil {
			panic(err)
		}
		return b
	}
	p := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	ed := ed25519.NewKeyFromSeed(seed)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	r2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	r1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	badPub := bytes.Clone(ed)
	badPub[63] ^= 1
	return map[string][]byte{
		"ed-seed":      seed,
		"ed-seed-pub":  []byte(ed),
		"ed-bad-pub":   badPub,
		"ed-pkcs8":     p("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(ed))),
		"p256-pkcs8":   p("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(p256))),
		"p256-sec1":    p("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(p256))),
		"p384-sec1":    p("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(p384))),
		"p384-pkcs8":   p("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(p384))),
		"rsa-pkcs8":    p("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(r2048))),
		"rsa-pkcs1":    p("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(r2048)),
		"rsa1024":      p("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(r1024)),
		"pub-pem":      p("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&p256.PublicKey))),
		"corrupt-pem":  p("PRIVATE KEY", []byte("keyfence-test-canary-7f3a9c not DER")),
		"canary-type":  p("keyfence-test-canary-7f3a9c", []byte{1, 2, 3}),
		"canary-bytes": []byte(secretCanary + "-0123456789"),
		"empty":        nil,
	}
})

func TestParsePrivateKey(t *testing.T) {
	k := testKeys()
	tests := []struct {
		typ      signer.KeyType
		material string
		ok       bool
	}{
		{signer.KeyEd25519, "ed-seed", true},
		{signer.KeyEd25519, "ed-seed-pub", true},
		{signer.KeyEd25519, "ed-pkcs8", true},
		{signer.KeyEd25519, "ed-bad-pub", false},
		{signer.KeyEd25519, "p256-pkcs8", false},
		{signer.KeyEd25519, "canary-bytes", false},
		{signer.KeyECDSAP256, "p256-pkcs8", true},
		{signer.KeyECDSAP256, "p256-sec1", true},
		{signer.KeyECDSAP256, "p384-sec1", false},
		{signer.KeyECDSAP256, "p384-pkcs8", false},
		{signer.KeyECDSAP256, "rsa-pkcs8", false},
		{signer.KeyECDSAP256, "ed-pkcs8", false},
		{signer.KeyECDSAP256, "ed-seed", false},
		{signer.KeyRSA, "rsa-pkcs8", true},
		{signer.KeyRSA, "rsa-pkcs1", true},
		{signer.KeyRSA, "rsa1024", false},
		{signer.KeyRSA, "p256-sec1", false},
		{signer.KeyRSA, "pub-pem", false},
		{signer.KeyRSA, "corrupt-pem", false},
		{signer.KeyRSA, "canary-type", false},
		{signer.KeyRSA, "canary-bytes", false},
		{signer.KeyRSA, "empty", false},
		{signer.KeyHMAC, "p256-pkcs8", false},
		{signer.KeyHMAC, "canary-bytes", false},
		{"", "ed-seed", false},
		{"dsa", "rsa-pkcs8", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ)+"/"+tt.material, func(t *testing.T) {
			priv, err := signer.ParsePrivateKey(tt.typ, k[tt.material])
			if !tt.ok {
				if err == nil || priv != nil {
					t.Fatalf("ParsePrivateKey accepted %s as %q", tt.material, tt.typ)
				}
				if !errors.Is(err, signer.ErrInvalidKey) {
					t.Fatalf("err = %v, want ErrInvalidKey", err)
				}
				assertNoCanary(t, "error", err.Error())
				if strings.ContainsAny(err.Error(), "\n") {
					t.Fatalf("multi-line error %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrivateKey: %v", err)
			}
			checkSigner(t, tt.typ, priv)
		})
	}
}

// checkSigner asserts that priv is of type typ and signs under every
// algorithm of typ.
func checkSigner(t *testing.T, typ signer.KeyType, priv crypto.Signer) {
	t.Helper()
	var ok bool
	switch typ {
	case signer.KeyEd25519:
		_, ok = priv.(ed25519.PrivateKey)
	case signer.KeyECDSAP256:
		var k *ecdsa.PrivateKey
		k, ok = priv.(*ecdsa.PrivateKey)
		ok = ok && k.Curve == elliptic.P256()
	case signer.KeyRSA:
		var k *rsa.PrivateKey
		k, ok = priv.(*rsa.PrivateKey)
		ok = ok && k.N.BitLen() >= 2048
	}
	if !ok {
		t.Fatalf("ParsePrivateKey(%q) returned a %T", typ, priv)
	}
	for _, alg := range typ.Algorithms() {
		if _, err := signer.SignWith(priv, alg, []byte("m")); err != nil {
			t.Fatalf("SignWith %s: %v", alg, err)
		}
	}
}

func FuzzParsePrivateKey(f *testing.F) {
	for _, name := range []string{"ed-seed", "ed-seed-pub", "ed-pkcs8", "p256-pkcs8", "p256-sec1", "p384-sec1", "rsa-pkcs1", "corrupt-pem", "empty"} {
		f.Add(uint8(0), testKeys()[name])
		f.Add(uint8(1), testKeys()[name])
		f.Add(uint8(2), testKeys()[name])
	}
	types := []signer.KeyType{signer.KeyEd25519, signer.KeyECDSAP256, signer.KeyRSA, signer.KeyHMAC}
	f.Fuzz(func(t *testing.T, which uint8, material []byte) {
		typ := types[int(which)%len(types)]
		priv, err := signer.ParsePrivateKey(typ, material)
		if err != nil {
			if priv != nil || !errors.Is(err, signer.ErrInvalidKey) {
				t.Fatalf("ParsePrivateKey = %T, %v; want nil and ErrInvalidKey", priv, err)
			}
			return
		}
		if typ == signer.KeyHMAC {
			t.Fatal("ParsePrivateKey accepted an HMAC key")
		}
		checkSigner(t, typ, priv)
	})
}

func TestParseKeyType(t *testing.T) {
	for _, s := range []string{"hmac", "ed25519", "ecdsa", "rsa"} {
		if k, err := signer.ParseKeyType(s); err != nil || string(k) != s {
			t.Errorf("ParseKeyType(%q) = %q, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "HMAC", "dsa", "ecdsa "} {
		if _, err := signer.ParseKeyType(s); err == nil {
			t.Errorf("ParseKeyType(%q) succeeded", s)
		}
	}
	for _, typ := range []signer.KeyType{signer.KeyHMAC, signer.KeyEd25519, signer.KeyECDSAP256, signer.KeyRSA} {
		algs := typ.Algorithms()
		if len(algs) == 0 {
			t.Fatalf("%s has no algorithms", typ)
		}
		for _, a := range algs {
			if a.KeyType() != typ {
				t.Errorf("%s.KeyType() = %q, want %q", a, a.KeyType(), typ)
			}
		}
	}
	if signer.Algorithm("none").KeyType() != "" || signer.KeyType("none").Algorithms() != nil {
		t.Error("unknown algorithm or key type maps to something")
	}
}
