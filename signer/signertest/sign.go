package signertest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

// macSize is the output size of an HMAC algorithm.
func macSize(a signer.Algorithm) int {
	if a == signer.HMACSHA512 {
		return 64
	}
	return 32
}

// checkMAC compares got with v's expected output.
func checkMAC(t *testing.T, v macVector, got []byte) {
	t.Helper()
	if len(got) != macSize(v.alg) {
		t.Fatalf("%s returned %d bytes, want %d", v.alg, len(got), macSize(v.alg))
	}
	switch v.enc {
	case hexEnc:
		want, err := hex.DecodeString(v.want)
		if err != nil {
			t.Fatalf("bad vector: %v", err)
		}
		if v.prefix > 0 {
			got = got[:v.prefix]
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s = %x, want %x", v.alg, got, want)
		}
	case b64Enc:
		if g := base64.StdEncoding.EncodeToString(got); g != v.want {
			t.Fatalf("%s = %s, want %s", v.alg, g, v.want)
		}
	}
}

func testMACVectors(t *testing.T, h Harness, keys []Key, vectors []macVector) {
	b := open(t, h, keys...)
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			b.need(t, v.key)
			msg := bytes.Clone(v.msg)
			got, err := b.Sign(t.Context(), v.key, v.alg, msg)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			checkMAC(t, v, got)
			if !bytes.Equal(msg, v.msg) {
				t.Fatal("Sign modified the message")
			}
			// The result must be the caller's own: a later signature must
			// not change it, and changing it must not change the next one.
			if _, err := b.Sign(t.Context(), v.key, v.alg, []byte("another message")); err != nil {
				t.Fatalf("Sign of another message: %v", err)
			}
			checkMAC(t, v, got)
			clear(got)
			again, err := b.Sign(t.Context(), v.key, v.alg, msg)
			if err != nil {
				t.Fatalf("second Sign: %v", err)
			}
			checkMAC(t, v, again)
			testAppendSign(t, b.Signer, v.key, v.alg, msg, again)
		})
	}
}

func testEd25519Vectors(t *testing.T, h Harness) {
	vectors := rfc8032Vectors()
	formats := []edFormat{edSeed, edSeedPublic, edPKCS8}
	formatName := []string{"seed", "seed+public", "pkcs8"}
	var keys []Key
	for i, v := range vectors {
		seed, err := decodeHex(v.seed)
		if err != nil {
			t.Fatalf("bad vector %s: %v", v.name, err)
		}
		k, _, err := ed25519Key("rfc8032-"+v.name, seed, formats[i%len(formats)])
		if err != nil {
			t.Fatalf("encode %s: %v", v.name, err)
		}
		keys = append(keys, k)
	}
	b := open(t, h, keys...)
	for i, v := range vectors {
		t.Run(v.name+"/"+formatName[i%len(formats)], func(t *testing.T) {
			name := "rfc8032-" + v.name
			b.need(t, name)
			pub, _ := decodeHex(v.public)
			msg, _ := decodeHex(v.msg)
			want, _ := decodeHex(v.sig)
			if !ed25519.Verify(pub, msg, want) {
				t.Fatal("bad vector: the published signature does not verify")
			}
			got, err := b.Sign(t.Context(), name, signer.Ed25519, msg)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Ed25519 = %x, want %x", got, want)
			}
			info, err := b.Info(t.Context(), name)
			if err != nil {
				t.Fatalf("Info: %v", err)
			}
			checkPublic(t, info, ed25519.PublicKey(pub))
		})
	}
}

// checkPublic asserts that info carries the public key want.
func checkPublic(t *testing.T, info signer.KeyInfo, want crypto.PublicKey) {
	t.Helper()
	p, ok := info.Public.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		t.Fatalf("Info.Public is %T, want %T", info.Public, want)
	}
	if !p.Equal(want) {
		t.Fatal("Info.Public is not the key's public key")
	}
}

func testKuCoinPassphrase(t *testing.T, h Harness) {
	var keys []Key
	for _, k := range venueKeys() {
		if k.Info.Name == "kucoin" {
			keys = append(keys, k)
		}
	}
	b := open(t, h, keys...)
	b.need(t, "kucoin")
	p := b.passphraser(t)
	got, err := p.SignPassphrase(t.Context(), "kucoin", signer.HMACSHA256)
	if err != nil {
		t.Fatalf("SignPassphrase: %v", err)
	}
	if g := base64.StdEncoding.EncodeToString(got); g != kucoinPassphraseMAC {
		t.Fatalf("SignPassphrase = %s, want %s", g, kucoinPassphraseMAC)
	}
	info, err := b.Info(t.Context(), "kucoin")
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if !info.HasPassphrase {
		t.Fatal("Info.HasPassphrase = false for a key imported with a passphrase")
	}
}

func testECDSA(t *testing.T, h Harness) {
	k, err := newECDSAKey()
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	pub := k.public.(*ecdsa.PublicKey)
	b := open(t, h, Key{
		Info:     signer.KeyInfo{Name: "ecdsa", Venue: "coinbase", APIKey: "organizations/o/apiKeys/k", Type: signer.KeyECDSAP256},
		Material: k.material,
	})
	b.need(t, "ecdsa")
	msg := []byte(`eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ0ZXN0In0`)
	digest := sha256.Sum256(msg)
	other := sha256.Sum256([]byte("another message"))

	t.Run("ES256", func(t *testing.T) {
		sig, err := b.Sign(t.Context(), "ecdsa", signer.ES256, msg)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if len(sig) != 64 {
			t.Fatalf("ES256 signature has %d bytes, want 64 (r||s)", len(sig))
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, digest[:], r, s) {
			t.Fatal("ES256 signature does not verify")
		}
		if ecdsa.Verify(pub, other[:], r, s) {
			t.Fatal("ES256 signature verifies for another message")
		}
		der, err := signer.ECDSARawToDER(sig)
		if err != nil {
			t.Fatalf("ECDSARawToDER: %v", err)
		}
		if !ecdsa.VerifyASN1(pub, digest[:], der) {
			t.Fatal("ES256 signature converted to DER does not verify")
		}
	})
	t.Run("ES256DER", func(t *testing.T) {
		sig, err := b.Sign(t.Context(), "ecdsa", signer.ES256DER, msg)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatal("ES256DER signature does not verify")
		}
		if ecdsa.VerifyASN1(pub, other[:], sig) {
			t.Fatal("ES256DER signature verifies for another message")
		}
	})
	t.Run("Public", func(t *testing.T) {
		info, err := b.Info(t.Context(), "ecdsa")
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		checkPublic(t, info, pub)
	})
}

func testRSA(t *testing.T, h Harness) {
	k, err := rsaTestKey()
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	pub := k.public.(*rsa.PublicKey)
	b := open(t, h, Key{
		Info:     signer.KeyInfo{Name: "rsa", Venue: "binance", APIKey: "api-rsa", Type: signer.KeyRSA},
		Material: k.material,
	})
	b.need(t, "rsa")
	msg := []byte("symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=0.2&timestamp=1668481559918&recvWindow=5000")
	digest := sha256.Sum256(msg)
	sig, err := b.Sign(t.Context(), "rsa", signer.RS256, msg)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if len(sig) != pub.Size() {
		t.Fatalf("RS256 signature has %d bytes, want %d", len(sig), pub.Size())
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("RS256 signature does not verify: %v", err)
	}
	other := sha256.Sum256([]byte("another message"))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, other[:], sig) == nil {
		t.Fatal("RS256 signature verifies for another message")
	}
	// PKCS#1 v1.5 is deterministic.
	again, err := b.Sign(t.Context(), "rsa", signer.RS256, msg)
	if err != nil {
		t.Fatalf("second Sign: %v", err)
	}
	if !bytes.Equal(sig, again) {
		t.Fatal("two RS256 signatures of one message differ")
	}
	info, err := b.Info(t.Context(), "rsa")
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	checkPublic(t, info, pub)
}

// testAppendSign checks signer.AppendSign (through the backend's
// AppendSigner, if it has one) against want, the result of Sign: the
// signature is appended after the caller's bytes, into the caller's
// capacity when there is room, and a failure returns dst unchanged.
func testAppendSign(t *testing.T, s signer.Signer, key string, alg signer.Algorithm, msg, want []byte) {
	t.Helper()
	buf := make([]byte, 3, 3+len(want))
	copy(buf, "pre")
	got, err := signer.AppendSign(t.Context(), s, buf, key, alg, msg)
	if err != nil {
		t.Fatalf("AppendSign: %v", err)
	}
	if string(got[:3]) != "pre" || !bytes.Equal(got[3:], want) {
		t.Fatalf("AppendSign = %x, want \"pre\" then %x", got, want)
	}
	if &got[0] != &buf[0] {
		t.Errorf("AppendSign allocated although dst had room")
	}
	got, err = signer.AppendSign(t.Context(), s, buf, key+"-missing", alg, msg)
	if !errors.Is(err, signer.ErrKeyNotFound) || len(got) != 3 || string(got) != "pre" {
		t.Fatalf("AppendSign with an unknown key = %q, %v; want dst unchanged and ErrKeyNotFound", got, err)
	}
}
