package keystore

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gcmWrapper is a KeyWrapper over an AES-GCM key held in process, standing
// in for a KMS here; signer/awskms tests the real wrapping against
// local-kms.
type gcmWrapper struct {
	uri     string
	key     []byte
	unwraps atomic.Int64
}

func newGCMWrapper(t testing.TB, uri string) *gcmWrapper {
	return &gcmWrapper{uri: uri, key: randBytes(t, 32)}
}

func (w *gcmWrapper) URI() string { return w.uri }

func (w *gcmWrapper) aead() cipher.AEAD {
	c, _ := aes.NewCipher(w.key)
	g, _ := cipher.NewGCM(c)
	return g
}

func (w *gcmWrapper) WrapKey(_ context.Context, key, aad []byte) ([]byte, error) {
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	return w.aead().Seal(nonce, nonce, key, aad), nil
}

func (w *gcmWrapper) UnwrapKey(_ context.Context, wrapped, aad []byte) ([]byte, error) {
	w.unwraps.Add(1)
	if len(wrapped) < 12 {
		return nil, errors.New("short ciphertext")
	}
	return w.aead().Open(nil, wrapped[:12], wrapped[12:], aad)
}

func resolverFor(ws ...*gcmWrapper) WrapperResolver {
	return func(_ context.Context, uri string) (KeyWrapper, error) {
		for _, w := range ws {
			if w.uri == uri {
				return w, nil
			}
		}
		return nil, errors.New("no such wrapping key")
	}
}

const wrapURI = "awskms://eu-west-2/alias/keyfence-keystore"

func TestWrappedKeystoreOpensWithoutPassphrase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.kfs")
	w := newGCMWrapper(t, wrapURI)
	ks, err := CreateWrapped(ctx, path, w, nil)
	require.NoError(t, err)
	require.NoError(t, ks.Add(ctx, hmacEntry("bn"), []byte("binance-secret"), nil))
	require.NoError(t, ks.Close())

	data := readFile(t, path)
	assert.NotContains(t, string(data), `"kdf"`, "a KMS-only keystore has no passphrase KDF")
	assert.Contains(t, string(data), `"kms":{"uri":"`+wrapURI+`"`)

	_, err = Open(ctx, path, testPass)
	require.ErrorIs(t, err, ErrKMSWrapped)
	assert.Contains(t, err.Error(), wrapURI)

	ks, err = OpenWrapped(ctx, path, resolverFor(w))
	require.NoError(t, err)
	t.Cleanup(func() { ks.Close() })
	assert.Equal(t, wrapURI, ks.WrapURI())
	sig, err := ks.Signer().Sign(ctx, "bn", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err)
	assert.Equal(t, mac256([]byte("binance-secret"), []byte("m")), sig)

	// Another KMS key cannot open it.
	other := newGCMWrapper(t, wrapURI)
	_, err = OpenWrapped(ctx, path, resolverFor(other))
	require.ErrorIs(t, err, ErrUnwrap)
	_, err = OpenWrapped(ctx, path, func(context.Context, string) (KeyWrapper, error) {
		return nil, errors.New("KMS unreachable")
	})
	require.ErrorContains(t, err, "KMS unreachable")
}

func TestWrappedKeystoreBesidePassphrase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.kfs")
	w := newGCMWrapper(t, wrapURI)
	ks, err := CreateWrapped(ctx, path, w, testPass, WithKDFParams(testKDF))
	require.NoError(t, err)
	require.NoError(t, ks.Add(ctx, hmacEntry("bn"), []byte("binance-secret"), nil))
	require.NoError(t, ks.ChangePassphrase(ctx, []byte("new pass"), WithKDFParams(testKDF)))
	require.NoError(t, ks.Close())

	byPass, err := Open(ctx, path, []byte("new pass"))
	require.NoError(t, err)
	defer byPass.Close()
	byKMS, err := OpenWrapped(ctx, path, resolverFor(w))
	require.NoError(t, err)
	defer byKMS.Close()
	for _, k := range []*Keystore{byPass, byKMS} {
		sig, err := k.Signer().Sign(ctx, "bn", signer.HMACSHA256, []byte("m"))
		require.NoError(t, err)
		assert.Equal(t, mac256([]byte("binance-secret"), []byte("m")), sig)
	}
	_, err = Open(ctx, path, testPass)
	require.ErrorIs(t, err, ErrWrongPassphrase)
}

func TestWrappedKeystoreGetsPassphrase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.kfs")
	w := newGCMWrapper(t, wrapURI)
	ks, err := CreateWrapped(ctx, path, w, nil)
	require.NoError(t, err)
	require.NoError(t, ks.ChangePassphrase(ctx, testPass, WithKDFParams(testKDF)))
	require.NoError(t, ks.Close())
	ks = reopen(t, path)
	assert.Equal(t, wrapURI, ks.WrapURI(), "adding a passphrase keeps the KMS wrap")
}

func TestOpenWrappedRefusesPassphraseKeystore(t *testing.T) {
	_, path := newStore(t, testKDF)
	_, err := OpenWrapped(context.Background(), path, resolverFor(newGCMWrapper(t, wrapURI)))
	require.ErrorIs(t, err, ErrNotWrapped)
}

func TestWrappedKeystoreTamper(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.kfs")
	w := newGCMWrapper(t, wrapURI)
	ks, err := CreateWrapped(ctx, path, w, nil)
	require.NoError(t, err)
	require.NoError(t, ks.Add(ctx, hmacEntry("bn"), []byte("binance-secret"), nil))
	require.NoError(t, ks.Close())
	data := readFile(t, path)

	// Pointing the file at another KMS key changes the header: the
	// checksum catches it before any KMS call.
	edited := bytes.Replace(data, []byte("alias/keyfence-keystore"), []byte("alias/keyfence-attacker"), 1)
	require.NoError(t, os.WriteFile(path, edited, 0o600))
	before := w.unwraps.Load()
	_, err = OpenWrapped(ctx, path, resolverFor(w, newGCMWrapper(t, "awskms://eu-west-2/alias/keyfence-attacker")))
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Equal(t, before, w.unwraps.Load())

	// A changed entry fails the file MAC after the unwrap.
	edited = bytes.Replace(data, []byte(`"api_key":"api-bn"`), []byte(`"api_key":"api-xx"`), 1)
	require.NoError(t, os.WriteFile(path, edited, 0o600))
	_, err = OpenWrapped(ctx, path, resolverFor(w))
	require.ErrorIs(t, err, ErrTampered)
}

func TestCreateWrappedChecksTheWrapper(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, err := CreateWrapped(ctx, filepath.Join(dir, "a"), newGCMWrapper(t, "https://kms.example/key"), nil)
	require.ErrorIs(t, err, ErrInvalidEntry)
	_, err = CreateWrapped(ctx, filepath.Join(dir, "b"), brokenWrapper{}, nil)
	require.ErrorIs(t, err, ErrUnwrap)
	_, err = os.Stat(filepath.Join(dir, "b"))
	require.ErrorIs(t, err, os.ErrNotExist, "no file is written when the KMS does not round-trip")
}

type brokenWrapper struct{}

func (brokenWrapper) URI() string { return wrapURI }
func (brokenWrapper) WrapKey(_ context.Context, key, _ []byte) ([]byte, error) {
	return bytes.Clone(key), nil
}
func (brokenWrapper) UnwrapKey(context.Context, []byte, []byte) ([]byte, error) {
	return make([]byte, 32), nil
}

func TestRemoteReferences(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, testKDF)
	kms := signer.NewMemory()
	t.Cleanup(func() { kms.Close() })
	require.NoError(t, kms.Import(signer.KeyInfo{Name: "kc", Type: signer.KeyHMAC}, []byte("kucoin-secret-uuid-0000-000000000000"), nil))
	pmac := mac256([]byte("kucoin-secret-uuid-0000-000000000000"), []byte("kc-pass"))
	require.NoError(t, ks.Update(ctx, func(tx *Tx) error {
		return errors.Join(
			tx.AddReference(Entry{Name: "bn", Venue: "binance", APIKey: "k1", Type: signer.KeyHMAC, URI: "awskms://eu-west-2/alias/binance"}, nil),
			tx.AddReferenceSigned(Entry{Name: "kc", Venue: "kucoin", APIKey: "k2", Type: signer.KeyHMAC, URI: "vault://transit/kucoin"}, []byte("kc-pass"), pmac),
		)
	}))
	for _, bad := range []string{"awskms://", "awskms://eu-west-2", "awskms://eu-west-2/a b", "vault://transit/k?x=1", "awskms://r/k\x00"} {
		err := ks.AddReference(ctx, Entry{Name: "bad", Venue: "binance", APIKey: "k", Type: signer.KeyHMAC, URI: bad}, nil)
		require.ErrorIs(t, err, ErrInvalidEntry, bad)
	}
	err := ks.AddReferenceSigned(ctx, Entry{Name: "short", Venue: "kucoin", APIKey: "k", Type: signer.KeyHMAC, URI: "vault://transit/kucoin"}, []byte("p"), []byte("too short"))
	require.ErrorIs(t, err, ErrInvalidEntry)

	ks = reopen(t, path)
	var signs atomic.Int64
	s := ks.Signer(WithResolver(func(_ context.Context, uri string) (signer.Signer, string, error) {
		return countingSigner{Signer: kms, n: &signs}, "kc", nil
	}))
	info, err := s.Info(ctx, "bn")
	require.NoError(t, err)
	assert.Equal(t, BackendAWSKMS, info.Backend)
	info, err = s.Info(ctx, "kc")
	require.NoError(t, err)
	assert.Equal(t, BackendVault, info.Backend)
	assert.True(t, info.HasPassphrase)

	signs.Store(0)
	got, err := s.SignPassphrase(ctx, "kc", signer.HMACSHA256)
	require.NoError(t, err)
	assert.Equal(t, pmac, got)
	assert.Zero(t, signs.Load(), "the sealed passphrase MAC is used, not the backend")
	clear(got)
	got, err = s.SignPassphrase(ctx, "kc", signer.HMACSHA256)
	require.NoError(t, err)
	assert.Equal(t, pmac, got, "the caller's copy is its own")

	// Another algorithm goes to the backend with the sealed passphrase.
	got, err = s.SignPassphrase(ctx, "kc", signer.HMACSHA512)
	require.NoError(t, err)
	assert.Len(t, got, 64)
	assert.EqualValues(t, 1, signs.Load())

	sig, err := s.Sign(ctx, "kc", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err)
	assert.Equal(t, mac256([]byte("kucoin-secret-uuid-0000-000000000000"), []byte("m")), sig)
}

type countingSigner struct {
	signer.Signer
	n *atomic.Int64
}

func (c countingSigner) Sign(ctx context.Context, key string, alg signer.Algorithm, msg []byte) ([]byte, error) {
	c.n.Add(1)
	return c.Signer.Sign(ctx, key, alg, msg)
}

// fuzzWrapper is a gcmWrapper with a fixed key, so that fuzz seeds made
// at run time open with it.
func fuzzWrapper() *gcmWrapper {
	return &gcmWrapper{uri: wrapURI, key: bytes.Repeat([]byte{0x5a}, 32)}
}

// FuzzOpenWrapped checks that opening any file through a KMS wrapper
// never panics, fails only with typed errors and, when it succeeds, yields
// entries that sign or fail cleanly. The seeds are a KMS-only keystore and
// one with a passphrase beside the KMS wrap, each with an entry.
func FuzzOpenWrapped(f *testing.F) {
	ctx := context.Background()
	for i, pass := range [][]byte{nil, testPass} {
		path := filepath.Join(f.TempDir(), fmt.Sprint("k", i))
		ks, err := CreateWrapped(ctx, path, fuzzWrapper(), pass, WithKDFParams(tinyKDF))
		if err != nil {
			f.Fatal(err)
		}
		if err := ks.Add(ctx, hmacEntry("bn"), []byte("binance-secret"), nil); err != nil {
			f.Fatal(err)
		}
		ks.Close()
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(bytes.Replace(data, []byte(`"wrapped":"`), []byte(`"wrapped":"AAAA`), 1))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w := fuzzWrapper()
		ks, err := openWrappedData(ctx, "k", data, func(context.Context, string) (KeyWrapper, error) { return w, nil })
		if err != nil {
			for _, want := range []error{ErrCorrupt, ErrUnsupportedVersion, ErrNotWrapped, ErrUnwrap, ErrTampered} {
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
