//go:build cgo

package pkcs11

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
)

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHMACVectors checks published vectors whose keys SoftHSM2 can hold
// (at least as long as the digest).
func TestHMACVectors(t *testing.T) {
	b := newBackend(t)
	ctx := t.Context()
	rfcKey := bytes.Repeat([]byte{0xaa}, 131)
	krakenNonce := "1616492376594"
	krakenBody := "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
	krakenDigest := sha256.Sum256([]byte(krakenNonce + krakenBody))
	tests := []struct {
		name string
		key  []byte
		alg  signer.Algorithm
		msg  []byte
		want string // hex, or base64 if b64
		b64  bool
	}{
		{"rfc4231-6-sha256", rfcKey, signer.HMACSHA256, []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", false},
		{"rfc4231-6-sha512", rfcKey, signer.HMACSHA512, []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
			"80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598", false},
		{"rfc4231-7-sha256", rfcKey, signer.HMACSHA256, []byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", false},
		{"rfc4231-7-sha512", rfcKey, signer.HMACSHA512, []byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
			"e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58", false},
		// VENUES.md 2.1: Binance REST, the secret's ASCII bytes as key.
		{"binance-rest", []byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"), signer.HMACSHA256,
			[]byte("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"),
			"c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71", false},
		// VENUES.md 2.5: Kraken, the base64-decoded secret as key.
		{"kraken", mustB64(t, "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="), signer.HMACSHA512,
			append([]byte("/0/private/AddOrder"), krakenDigest[:]...),
			"4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==", true},
		// VENUES.md 2.7: Coinbase Exchange, the base64-decoded secret as key.
		{"coinbase-exchange", mustB64(t, "kv+3DPw2yHWQWkDsmpN4uXWtgtuBrFFLu7zRk9gipjdrFpUjwZ0mK6KzGAPFpxOjDLdna20xozy+9fqRU5zJZQ=="), signer.HMACSHA256,
			[]byte("1580066918.897GET/fills?product_id=BTC-EUR"),
			"qGB3X7LOAhNXPpRqV73F08sMU1hKuX+s7vQypcEErV8=", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := b.Import(ctx, signer.KeyInfo{Name: tt.name, Type: signer.KeyHMAC}, tt.key, nil, tt.alg); err != nil {
				t.Fatalf("Import: %v", err)
			}
			got, err := b.Sign(ctx, tt.name, tt.alg, tt.msg)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			enc := hex.EncodeToString(got)
			if tt.b64 {
				enc = base64.StdEncoding.EncodeToString(got)
			}
			if enc != tt.want {
				t.Fatalf("%s = %s, want %s", tt.alg, enc, tt.want)
			}
		})
	}
}

// TestHMACKeyLength: SoftHSM2 refuses HMAC keys shorter than the digest
// (and longer than 512 bytes). Import finds this out, not the first order.
func TestHMACKeyLength(t *testing.T) {
	b := newBackend(t)
	ctx := t.Context()
	both := []signer.Algorithm{signer.HMACSHA256, signer.HMACSHA512}
	tests := []struct {
		name    string
		len     int
		require []signer.Algorithm
		want    []signer.Algorithm // nil: import fails
		err     error
		msg     string // in the error
	}{
		{"empty", 0, nil, nil, signer.ErrInvalidKey, "empty HMAC secret"},
		{"kucoin-like-15", 15, nil, nil, ErrUnsupportedKey, "at least 32 bytes for HMAC-SHA256; this key has 15"},
		{"31", 31, nil, nil, ErrUnsupportedKey, "at least 32 bytes"},
		{"32", 32, nil, []signer.Algorithm{signer.HMACSHA256}, nil, ""},
		{"32-needs-512", 32, []signer.Algorithm{signer.HMACSHA512}, nil, ErrUnsupportedKey, "at least 64 bytes for HMAC-SHA512; this key has 32"},
		{"32-needs-256", 32, []signer.Algorithm{signer.HMACSHA256}, []signer.Algorithm{signer.HMACSHA256}, nil, ""},
		{"63", 63, nil, []signer.Algorithm{signer.HMACSHA256}, nil, ""},
		{"64", 64, []signer.Algorithm{signer.HMACSHA512}, both, nil, ""},
		{"512", 512, both, both, nil, ""},
		{"513", 513, nil, nil, ErrUnsupportedKey, "at most 512 bytes"},
		{"needs-ed25519", 64, []signer.Algorithm{signer.Ed25519}, nil, signer.ErrWrongAlgorithm, "cannot sign Ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := bytes.Repeat([]byte{0x5c}, tt.len)
			imp, err := b.Import(ctx, signer.KeyInfo{Name: tt.name, Type: signer.KeyHMAC}, key, nil, tt.require...)
			if tt.want == nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("Import = %v, want %v containing %q", err, tt.err, tt.msg)
				}
				assertNoObjects(t, b, tt.name)
				if _, err := b.Sign(ctx, tt.name, signer.HMACSHA256, []byte("x")); !errors.Is(err, signer.ErrKeyNotFound) {
					t.Fatalf("Sign after a failed import = %v, want ErrKeyNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if !slices.Equal(imp.Algorithms, tt.want) {
				t.Fatalf("Algorithms = %v, want %v", imp.Algorithms, tt.want)
			}
			for _, h := range hmacAlgs {
				mac, err := b.Sign(ctx, tt.name, h.alg, []byte("payload"))
				if !slices.Contains(tt.want, h.alg) {
					if !errors.Is(err, signer.ErrWrongAlgorithm) {
						t.Fatalf("Sign %s = %v, want ErrWrongAlgorithm", h.alg, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Sign %s: %v", h.alg, err)
				}
				m := hmac.New(h.hash, key)
				m.Write([]byte("payload"))
				if !hmac.Equal(mac, m.Sum(nil)) {
					t.Fatalf("%s differs from crypto/hmac", h.alg)
				}
			}
		})
	}
}

// assertNoObjects fails t if the token holds any object labelled name.
func assertNoObjects(t *testing.T, b *Backend, name string) {
	t.Helper()
	err := b.withSession(t.Context(), func(s pkcs11.SessionHandle) error {
		for _, class := range []uint{pkcs11.CKO_SECRET_KEY, pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY, pkcs11.CKO_DATA} {
			hs, err := b.findObjects(s, class, name, nil)
			if err != nil {
				return err
			}
			if len(hs) > 0 {
				t.Errorf("the token still holds %d objects of class %d labelled %q", len(hs), class, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHMACProbeOnLoad: a backend that did not import a key finds which
// algorithms the token accepts for it by signing a test message; a key
// SoftHSM2 cannot use gets CKR_KEY_SIZE_RANGE, reported at Sign as
// ErrWrongAlgorithm with the reason.
func TestHMACProbeOnLoad(t *testing.T) {
	tok := newToken(t)
	ctx := t.Context()
	b := tok.open(t)
	for name, n := range map[string]int{"k32": 32, "k64": 64} {
		if _, err := b.Import(ctx, signer.KeyInfo{Name: name, Type: signer.KeyHMAC}, bytes.Repeat([]byte{1}, n), nil); err != nil {
			t.Fatal(err)
		}
	}
	// A 16-byte key put on the token by another tool.
	err := b.withSession(ctx, func(s pkcs11.SessionHandle) error {
		tmpl := append(baseAttrs(pkcs11.CKO_SECRET_KEY, pkcs11.CKK_GENERIC_SECRET, "k16", []byte{16}), secretAttrs()...)
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_VALUE, bytes.Repeat([]byte{1}, 16)))
		_, err := b.mod.ctx.CreateObject(s, tmpl)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()

	b2 := tok.open(t)
	for name, want := range map[string][]signer.Algorithm{
		"k32": {signer.HMACSHA256},
		"k64": {signer.HMACSHA256, signer.HMACSHA512},
		"k16": nil,
	} {
		got, err := b2.Algorithms(ctx, name)
		if err != nil {
			t.Fatalf("Algorithms(%s): %v", name, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Algorithms(%s) = %v, want %v", name, got, want)
		}
	}
	_, err = b2.Sign(ctx, "k32", signer.HMACSHA512, []byte("x"))
	if !errors.Is(err, signer.ErrWrongAlgorithm) || !strings.Contains(err.Error(), "CKR_KEY_SIZE_RANGE") {
		t.Fatalf("Sign HMAC-SHA512 with a 32-byte key = %v, want ErrWrongAlgorithm naming CKR_KEY_SIZE_RANGE", err)
	}
	mac, err := b2.Sign(ctx, "k64", signer.HMACSHA512, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha512.New, bytes.Repeat([]byte{1}, 64))
	m.Write([]byte("x"))
	if !hmac.Equal(mac, m.Sum(nil)) {
		t.Fatal("HMAC-SHA512 after reopening differs from crypto/hmac")
	}
}

// TestPassphrase: the API passphrase is held on the token and MACed there.
func TestPassphrase(t *testing.T) {
	tok := newToken(t)
	ctx := t.Context()
	b := tok.open(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	pass := []byte("a passphrase")
	if _, err := b.Import(ctx, signer.KeyInfo{Name: "kc", Venue: "kucoin", Type: signer.KeyHMAC}, secret, pass); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Import(ctx, signer.KeyInfo{Name: "ed", Type: signer.KeyEd25519}, make([]byte, 32), pass); !errors.Is(err, signer.ErrInvalidKey) {
		t.Fatalf("Import of an Ed25519 key with a passphrase = %v, want ErrInvalidKey", err)
	}
	want := hmac.New(sha256.New, secret)
	want.Write(pass)
	check := func(b *Backend) {
		t.Helper()
		got, err := b.SignPassphrase(ctx, "kc", signer.HMACSHA256)
		if err != nil {
			t.Fatalf("SignPassphrase: %v", err)
		}
		if !hmac.Equal(got, want.Sum(nil)) {
			t.Fatal("SignPassphrase differs from HMAC(secret, passphrase)")
		}
		info, err := b.Info(ctx, "kc")
		if err != nil || !info.HasPassphrase {
			t.Fatalf("Info = %+v, %v; want HasPassphrase", info, err)
		}
		if _, err := b.SignPassphrase(ctx, "kc", signer.HMACSHA512); !errors.Is(err, signer.ErrWrongAlgorithm) {
			t.Fatalf("SignPassphrase HMAC-SHA512 with a 32-byte key = %v, want ErrWrongAlgorithm", err)
		}
	}
	check(b)
	b.Close()
	b = tok.open(t)
	check(b)
	if err := b.Delete(ctx, "kc"); err != nil {
		t.Fatal(err)
	}
	assertNoObjects(t, b, "kc")
}
