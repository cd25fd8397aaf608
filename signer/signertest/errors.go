package signertest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/signer"
)

// typedKeys returns one key of each type, an HMAC key with an API
// passphrase and one without, named prefix+"-hmac", "-pass", "-ed25519",
// "-ecdsa" and "-rsa", with the public keys of the asymmetric ones.
func typedKeys(t *testing.T, prefix string) ([]Key, map[string]any) {
	t.Helper()
	ed, err := newEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	ec, err := newECDSAKey()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rsaTestKey()
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string, typ signer.KeyType, material, pass []byte) Key {
		return Key{
			Info: signer.KeyInfo{
				Name: prefix + "-" + name, Venue: "venue-" + name, APIKey: "api-key-" + name,
				Type: typ, HasPassphrase: pass != nil,
			},
			Material:   material,
			Passphrase: pass,
		}
	}
	keys := []Key{
		mk("hmac", signer.KeyHMAC, []byte("0123456789abcdef0123456789abcdef"), nil),
		mk("pass", signer.KeyHMAC, []byte("fedcba9876543210fedcba9876543210"), []byte("a passphrase")),
		mk("ed25519", signer.KeyEd25519, ed.material, nil),
		mk("ecdsa", signer.KeyECDSAP256, ec.material, nil),
		mk("rsa", signer.KeyRSA, rs.material, nil),
	}
	return keys, map[string]any{
		prefix + "-ed25519": ed.public,
		prefix + "-ecdsa":   ec.public,
		prefix + "-rsa":     rs.public,
	}
}

func testInfo(t *testing.T, h Harness) {
	keys, pubs := typedKeys(t, "info")
	b := open(t, h, keys...)
	for _, k := range keys {
		t.Run(string(k.Info.Type)+"/"+k.Info.Name, func(t *testing.T) {
			b.need(t, k.Info.Name)
			got, err := b.Info(t.Context(), k.Info.Name)
			if err != nil {
				t.Fatalf("Info: %v", err)
			}
			want := k.Info
			if got.Name != want.Name || got.Venue != want.Venue || got.APIKey != want.APIKey ||
				got.Type != want.Type || got.HasPassphrase != want.HasPassphrase {
				t.Fatalf("Info = {Name:%q Venue:%q APIKey:%q Type:%q HasPassphrase:%t}, want {Name:%q Venue:%q APIKey:%q Type:%q HasPassphrase:%t}",
					got.Name, got.Venue, got.APIKey, got.Type, got.HasPassphrase,
					want.Name, want.Venue, want.APIKey, want.Type, want.HasPassphrase)
			}
			if got.Backend == "" {
				t.Fatal("Info.Backend is empty; it must name where the secret lives")
			}
			if pub, ok := pubs[k.Info.Name]; ok {
				checkPublic(t, got, pub)
			} else if got.Public != nil {
				t.Fatalf("Info.Public of an HMAC key is %T, want nil", got.Public)
			}
		})
	}
	t.Run("Lister", func(t *testing.T) {
		l, ok := b.Signer.(signer.Lister)
		if !ok {
			t.Skipf("skipped: %T does not implement signer.Lister", b.Signer)
		}
		infos, err := l.Keys(t.Context())
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		var got, want []string
		for _, i := range infos {
			got = append(got, i.Name)
		}
		for _, k := range keys {
			if _, skipped := b.skipped[k.Info.Name]; !skipped {
				want = append(want, k.Info.Name)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("Keys = %q, want %q", got, want)
		}
	})
}

// checkErr asserts that err matches target and, for a failure about a key,
// that its message is one line that names the key.
func checkErr(t *testing.T, what string, sig []byte, err, target error, key string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want errors.Is(err, %v)", what, err, target)
	}
	if sig != nil {
		t.Fatalf("%s: returned %d bytes with an error", what, len(sig))
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("%s: error message spans lines: %q", what, msg)
	}
	if key != "" && !strings.Contains(msg, key) {
		t.Fatalf("%s: error %q does not name the key %q", what, msg, key)
	}
}

func testErrors(t *testing.T, h Harness) {
	keys, _ := typedKeys(t, "err")
	b := open(t, h, keys...)
	ctx := t.Context()
	const unknown = "no-such-key"

	t.Run("UnknownKey", func(t *testing.T) {
		sig, err := b.Sign(ctx, unknown, signer.HMACSHA256, []byte("m"))
		checkErr(t, "Sign", sig, err, signer.ErrKeyNotFound, unknown)
		_, err = b.Info(ctx, unknown)
		checkErr(t, "Info", nil, err, signer.ErrKeyNotFound, unknown)
		if p, ok := b.Signer.(signer.PassphraseSigner); ok {
			sig, err := p.SignPassphrase(ctx, unknown, signer.HMACSHA256)
			checkErr(t, "SignPassphrase", sig, err, signer.ErrKeyNotFound, unknown)
		}
	})

	wrong := map[string][]signer.Algorithm{
		"err-hmac":    {signer.Ed25519, signer.ES256, signer.ES256DER, signer.RS256, "", "HMAC-MD5", "hmac-sha256"},
		"err-ed25519": {signer.HMACSHA256, signer.HMACSHA512, signer.ES256, signer.RS256, ""},
		"err-ecdsa":   {signer.HMACSHA256, signer.Ed25519, signer.RS256, "ES384"},
		"err-rsa":     {signer.HMACSHA512, signer.Ed25519, signer.ES256, signer.ES256DER, "PS256"},
	}
	for _, name := range []string{"err-hmac", "err-ed25519", "err-ecdsa", "err-rsa"} {
		for _, alg := range wrong[name] {
			t.Run("WrongAlgorithm/"+name+"/"+string(alg), func(t *testing.T) {
				b.need(t, name)
				sig, err := b.Sign(ctx, name, alg, []byte("m"))
				checkErr(t, "Sign", sig, err, signer.ErrWrongAlgorithm, name)
			})
		}
	}

	t.Run("Canceled", func(t *testing.T) {
		b.need(t, "err-hmac", "err-pass")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		sig, err := b.Sign(cctx, "err-hmac", signer.HMACSHA256, []byte("m"))
		checkErr(t, "Sign", sig, err, context.Canceled, "")
		_, err = b.Info(cctx, "err-hmac")
		checkErr(t, "Info", nil, err, context.Canceled, "")
		if p, ok := b.Signer.(signer.PassphraseSigner); ok {
			sig, err := p.SignPassphrase(cctx, "err-pass", signer.HMACSHA256)
			checkErr(t, "SignPassphrase", sig, err, context.Canceled, "")
		}
	})

	t.Run("DeadlineExceeded", func(t *testing.T) {
		b.need(t, "err-ed25519")
		dctx, cancel := context.WithDeadline(ctx, time.Unix(1, 0))
		defer cancel()
		sig, err := b.Sign(dctx, "err-ed25519", signer.Ed25519, []byte("m"))
		checkErr(t, "Sign", sig, err, context.DeadlineExceeded, "")
	})

	t.Run("Passphrase", func(t *testing.T) {
		b.need(t, "err-hmac", "err-pass", "err-ed25519")
		p := b.passphraser(t)
		sig, err := p.SignPassphrase(ctx, "err-hmac", signer.HMACSHA256)
		checkErr(t, "SignPassphrase without a passphrase", sig, err, signer.ErrNoPassphrase, "err-hmac")
		sig, err = p.SignPassphrase(ctx, "err-pass", signer.Ed25519)
		checkErr(t, "SignPassphrase with Ed25519", sig, err, signer.ErrWrongAlgorithm, "err-pass")
		sig, err = p.SignPassphrase(ctx, "err-ed25519", signer.HMACSHA256)
		if err == nil || sig != nil {
			t.Fatal("SignPassphrase with an Ed25519 key succeeded")
		}
		// The key still signs after the failures.
		if _, err := p.SignPassphrase(ctx, "err-pass", signer.HMACSHA256); err != nil {
			t.Fatalf("SignPassphrase: %v", err)
		}
	})
}
