package keywrap

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// The two examples of RFC 5649, section 6.
func TestRFC5649Vectors(t *testing.T) {
	kek := h("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
	for _, v := range []struct{ name, key, wrapped string }{
		{"20 octets", "c37b7e6492584340bed12207808941155068f738", "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"},
		{"7 octets", "466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"},
	} {
		t.Run(v.name, func(t *testing.T) {
			got, err := Wrap(kek, h(v.key))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, h(v.wrapped)) {
				t.Fatalf("Wrap = %x, want %s", got, v.wrapped)
			}
			pt, err := Unwrap(kek, got)
			if err != nil || !bytes.Equal(pt, h(v.key)) {
				t.Fatalf("Unwrap = %x, %v", pt, err)
			}
			bad := bytes.Clone(got)
			bad[len(bad)-1] ^= 1
			if _, err := Unwrap(kek, bad); !errors.Is(err, ErrUnwrap) {
				t.Fatalf("Unwrap of a damaged wrap: %v, want ErrUnwrap", err)
			}
		})
	}
}

func TestRoundTripSizes(t *testing.T) {
	kek := make([]byte, 32)
	rand.Read(kek)
	for n := 1; n <= 70; n++ {
		pt := make([]byte, n)
		rand.Read(pt)
		w, err := Wrap(kek, pt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unwrap(kek, w)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("n=%d: round trip failed: %v", n, err)
		}
		if _, err := Unwrap(kek[:16], w); err == nil {
			t.Fatalf("n=%d: unwrapped under another key", n)
		}
	}
}

func TestEnvelope(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	material := []byte("a 64-byte venue secret ........................................")
	env, err := Envelope(&priv.PublicKey, material)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenEnvelope(priv, env)
	if err != nil || !bytes.Equal(got, material) {
		t.Fatalf("OpenEnvelope = %q, %v", got, err)
	}
	env[len(env)-3] ^= 0x40
	if _, err := OpenEnvelope(priv, env); !errors.Is(err, ErrUnwrap) {
		t.Fatalf("OpenEnvelope of a damaged envelope: %v", err)
	}
}
