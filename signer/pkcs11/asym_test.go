//go:build cgo

package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
)

func unhexT(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pkcs8(t *testing.T, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// TestEd25519RFC8032 signs RFC 8032 section 7.1 TEST 1 to 3 on the token.
func TestEd25519RFC8032(t *testing.T) {
	b := newBackend(t)
	ctx := t.Context()
	tests := []struct{ name, seed, pub, msg, sig string }{
		{"TEST1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"TEST2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
			"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
			"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
		{"TEST3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := b.Import(ctx, signer.KeyInfo{Name: tt.name, Type: signer.KeyEd25519}, unhexT(t, tt.seed), nil); err != nil {
				t.Fatalf("Import: %v", err)
			}
			sig, err := b.Sign(ctx, tt.name, signer.Ed25519, unhexT(t, tt.msg))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if got := hex.EncodeToString(sig); got != tt.sig {
				t.Fatalf("signature = %s, want %s", got, tt.sig)
			}
			info, err := b.Info(ctx, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if !ed25519.PublicKey(unhexT(t, tt.pub)).Equal(info.Public) {
				t.Fatalf("Info.Public = %x, want %s", info.Public, tt.pub)
			}
		})
	}
}

// verify checks sig over msg under alg with pub.
func verify(t *testing.T, pub crypto.PublicKey, alg signer.Algorithm, msg, sig []byte) {
	t.Helper()
	d := sha256.Sum256(msg)
	ok := false
	switch alg {
	case signer.Ed25519:
		ok = ed25519.Verify(pub.(ed25519.PublicKey), msg, sig)
	case signer.ES256:
		ok = len(sig) == 64 && ecdsa.Verify(pub.(*ecdsa.PublicKey), d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	case signer.ES256DER:
		ok = ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), d[:], sig)
	case signer.RS256:
		ok = rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, d[:], sig) == nil
	}
	if !ok {
		t.Fatalf("%s signature does not verify", alg)
	}
}

// TestAsymmetric imports and generates ECDSA, RSA and Ed25519 keys and
// verifies the token's signatures with the public key the token reports.
func TestAsymmetric(t *testing.T) {
	b := newBackend(t)
	ctx := t.Context()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSEC1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		typ      signer.KeyType
		material []byte // nil: Generate
		pub      crypto.PublicKey
	}{
		{"ecdsa-pkcs8", signer.KeyECDSAP256, pkcs8(t, ec), &ec.PublicKey},
		{"ecdsa-sec1", signer.KeyECDSAP256, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecSEC1}), &ec.PublicKey},
		{"rsa-pkcs8", signer.KeyRSA, pkcs8(t, rk), &rk.PublicKey},
		{"rsa-pkcs1", signer.KeyRSA, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), &rk.PublicKey},
		{"ed25519-pkcs8", signer.KeyEd25519, pkcs8(t, ed), ed.Public()},
		{"gen-ecdsa", signer.KeyECDSAP256, nil, nil},
		{"gen-rsa", signer.KeyRSA, nil, nil},
		{"gen-ed25519", signer.KeyEd25519, nil, nil},
	}
	msg := []byte("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=0.1&timestamp=1499827319559")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := signer.KeyInfo{Name: tt.name, Venue: "v", APIKey: "k-" + tt.name, Type: tt.typ}
			var imp Imported
			var err error
			if tt.material == nil {
				imp, err = b.Generate(ctx, info)
			} else {
				imp, err = b.Import(ctx, info, tt.material, nil)
			}
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if imp.URI.Type != TypePrivate || imp.URI.Object != tt.name || len(imp.URI.ID) == 0 {
				t.Fatalf("URI = %s", imp.URI)
			}
			got, err := b.Info(ctx, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != tt.typ || got.Backend != BackendName || got.Venue != "v" || got.APIKey != "k-"+tt.name {
				t.Fatalf("Info = %+v", got)
			}
			if tt.pub != nil && !tt.pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(got.Public) {
				t.Fatal("Info.Public is not the imported key's public key")
			}
			for _, alg := range tt.typ.Algorithms() {
				sig, err := b.Sign(ctx, tt.name, alg, msg)
				if err != nil {
					t.Fatalf("Sign %s: %v", alg, err)
				}
				verify(t, got.Public, alg, msg, sig)
				if alg == signer.RS256 && tt.material != nil {
					d := sha256.Sum256(msg)
					want, _ := rsa.SignPKCS1v15(nil, rk, crypto.SHA256, d[:])
					if !bytes.Equal(sig, want) {
						t.Fatal("RS256 signature differs from crypto/rsa's")
					}
				}
			}
			if _, err := b.Sign(ctx, tt.name, signer.HMACSHA256, msg); !errors.Is(err, signer.ErrWrongAlgorithm) {
				t.Fatalf("Sign HMAC with a %s key = %v, want ErrWrongAlgorithm", tt.typ, err)
			}
		})
	}
	if _, err := b.Generate(ctx, signer.KeyInfo{Name: "gen-hmac", Type: signer.KeyHMAC}); !errors.Is(err, signer.ErrInvalidKey) {
		t.Fatalf("Generate HMAC = %v, want ErrInvalidKey", err)
	}
	if _, err := b.Import(ctx, signer.KeyInfo{Name: "bad-pem", Type: signer.KeyRSA}, []byte("not a key"), nil); !errors.Is(err, signer.ErrInvalidKey) {
		t.Fatalf("Import of garbage = %v, want ErrInvalidKey", err)
	}
	assertNoObjects(t, b, "bad-pem")
}

// TestNonExtractable: every secret the backend creates is sensitive and not
// extractable: the token refuses to reveal its value.
func TestNonExtractable(t *testing.T) {
	b := newBackend(t)
	ctx := t.Context()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	keys := []struct {
		name     string
		typ      signer.KeyType
		material []byte
		secret   uint // the attribute holding the secret
	}{
		{"hmac", signer.KeyHMAC, bytes.Repeat([]byte("k"), 64), pkcs11.CKA_VALUE},
		{"ed25519", signer.KeyEd25519, bytes.Repeat([]byte{7}, 32), pkcs11.CKA_VALUE},
		{"ecdsa", signer.KeyECDSAP256, pkcs8(t, ec), pkcs11.CKA_VALUE},
		{"rsa", signer.KeyRSA, pkcs8(t, rk), pkcs11.CKA_PRIVATE_EXPONENT},
		{"gen-ed25519", signer.KeyEd25519, nil, pkcs11.CKA_VALUE},
		{"gen-ecdsa", signer.KeyECDSAP256, nil, pkcs11.CKA_VALUE},
	}
	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			info := signer.KeyInfo{Name: k.name, Type: k.typ}
			var err error
			if k.material == nil {
				_, err = b.Generate(ctx, info)
			} else {
				_, err = b.Import(ctx, info, k.material, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			err = b.withSession(ctx, func(s pkcs11.SessionHandle) error {
				h, _, err := b.locate(s, &URI{Object: k.name})
				if err != nil {
					return err
				}
				p11 := b.mod.ctx
				_, err = p11.GetAttributeValue(s, h, []*pkcs11.Attribute{pkcs11.NewAttribute(k.secret, nil)})
				if rv(err) != pkcs11.CKR_ATTRIBUTE_SENSITIVE {
					t.Errorf("reading the secret attribute = %v, want CKR_ATTRIBUTE_SENSITIVE", err)
				}
				want := map[uint]byte{
					pkcs11.CKA_EXTRACTABLE: 0, pkcs11.CKA_SENSITIVE: 1, pkcs11.CKA_SIGN: 1,
					pkcs11.CKA_DERIVE: 0, pkcs11.CKA_DECRYPT: 0, pkcs11.CKA_UNWRAP: 0,
					pkcs11.CKA_TOKEN: 1, pkcs11.CKA_PRIVATE: 1,
				}
				if k.material == nil {
					want[pkcs11.CKA_NEVER_EXTRACTABLE] = 1
					want[pkcs11.CKA_ALWAYS_SENSITIVE] = 1
				}
				for attr, v := range want {
					a, err := p11.GetAttributeValue(s, h, []*pkcs11.Attribute{pkcs11.NewAttribute(attr, nil)})
					if err != nil {
						t.Errorf("attribute 0x%x: %v", attr, err)
						continue
					}
					if len(a[0].Value) != 1 || a[0].Value[0] != v {
						t.Errorf("attribute 0x%x = %v, want %d", attr, a[0].Value, v)
					}
				}
				// Once false, CKA_EXTRACTABLE cannot be set back.
				if err := p11.SetAttributeValue(s, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true)}); err == nil {
					t.Error("the token let CKA_EXTRACTABLE be set to true")
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
