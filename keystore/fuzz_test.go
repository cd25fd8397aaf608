package keystore

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// fuzzSeeds are valid and nearly valid files: a small keystore sealed with
// tinyKDF and testPass, and variants of it.
func fuzzSeeds(f *testing.F) {
	data := smallFile(f)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add(bytes.Replace(data, []byte(`"version":1`), []byte(`"version":2`), 1))
	f.Add([]byte(`{"format":"keyfence-keystore","version":1,"entries":[]}`))
	f.Add([]byte{})
}

// FuzzParse checks that the parser never panics and fails only with the
// typed errors of a bad file.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decode("k", data)
		if err != nil {
			if c != nil {
				t.Fatal("contents with an error")
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if c.hdr == nil || len(c.body) >= len(data) {
			t.Fatal("parsed file without a header or MAC")
		}
	})
}

// FuzzOpen checks that opening any file with the seed's passphrase never
// panics, fails only with typed errors and, when it succeeds, yields
// entries that sign or fail cleanly.
func FuzzOpen(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		ks, err := openData(ctx, "k", data, testPass)
		if err != nil {
			for _, want := range []error{ErrCorrupt, ErrUnsupportedVersion, ErrWrongPassphrase, ErrTampered, ErrKMSWrapped} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("untyped error: %v", err)
		}
		defer ks.Close()
		s := ks.Signer()
		for _, e := range ks.Entries() {
			for _, alg := range e.Type.Algorithms() {
				_, _ = s.Sign(ctx, e.Name, alg, []byte("m"))
			}
		}
	})
}
