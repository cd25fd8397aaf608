package keystore

import (
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFirstUseDecryptsOnce(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, testKDF)
	secret := randBytes(t, 32)
	_, edPEM := newEd25519(t)
	require.NoError(t, ks.Update(ctx, func(tx *Tx) error {
		return errors.Join(
			tx.Add(hmacEntry("h"), secret, nil),
			tx.Add(Entry{Name: "e", Venue: "binance", APIKey: "k", Type: signer.KeyEd25519}, edPEM, nil),
		)
	}))
	require.NoError(t, ks.Close())
	ks = reopen(t, path)
	s := ks.Signer()

	const goroutines = 64
	start := make(chan struct{})
	sigs := make([][]byte, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			<-start
			key, alg := "h", signer.HMACSHA256
			if g%2 == 1 {
				key, alg = "e", signer.Ed25519
			}
			sigs[g], errs[g] = s.Sign(ctx, key, alg, []byte("msg"))
		})
	}
	close(start)
	wg.Wait()
	for g := range goroutines {
		require.NoError(t, errs[g])
		assert.Equal(t, sigs[g%2], sigs[g], "goroutine %d", g)
	}
	assert.Equal(t, mac256(secret, []byte("msg")), sigs[0])
	assert.EqualValues(t, 2, ks.unseals.Load(), "each key is decrypted once")
}

func TestInfoDoesNotDecrypt(t *testing.T) {
	ctx := context.Background()
	ks, path := newStore(t, testKDF)
	require.NoError(t, ks.Add(ctx, hmacEntry("h"), []byte("s"), nil))
	require.NoError(t, ks.Close())
	ks = reopen(t, path)
	s := ks.Signer()
	info, err := s.Info(ctx, "h")
	require.NoError(t, err)
	assert.Equal(t, "keystore", info.Backend)
	_, err = s.Keys(ctx)
	require.NoError(t, err)
	_, err = s.Sign(ctx, "h", signer.Ed25519, []byte("m"))
	require.ErrorIs(t, err, signer.ErrWrongAlgorithm)
	_, err = s.SignPassphrase(ctx, "h", signer.HMACSHA256)
	require.ErrorIs(t, err, signer.ErrNoPassphrase)
	assert.Zero(t, ks.unseals.Load())
}

func TestHSMReference(t *testing.T) {
	ctx := context.Background()
	ks, _ := newStore(t, testKDF)
	hsm := signer.NewMemory()
	t.Cleanup(func() { hsm.Close() })
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	require.NoError(t, hsm.Import(signer.KeyInfo{Name: "obj-ed", Type: signer.KeyEd25519}, priv.Seed(), nil))
	require.NoError(t, hsm.Import(signer.KeyInfo{Name: "obj-hmac", Type: signer.KeyHMAC}, []byte("okx-secret"), nil))
	require.NoError(t, ks.Update(ctx, func(tx *Tx) error {
		return errors.Join(
			tx.AddReference(Entry{Name: "ed", Venue: "binance", APIKey: "k1", Type: signer.KeyEd25519, URI: "pkcs11:object=obj-ed"}, nil),
			tx.AddReference(Entry{Name: "okx", Venue: "okx", APIKey: "k2", Type: signer.KeyHMAC, URI: "pkcs11:object=obj-hmac"}, []byte("okx-pass")),
			tx.AddReference(Entry{Name: "wrong-type", Venue: "binance", APIKey: "k3", Type: signer.KeyRSA, URI: "pkcs11:object=obj-ed"}, nil),
		)
	}))

	// Without a resolver: a clear typed error, and Info still works.
	_, err = ks.Signer().Sign(ctx, "ed", signer.Ed25519, []byte("m"))
	require.ErrorIs(t, err, ErrNoResolver)
	assert.Contains(t, err.Error(), `"ed"`)
	info, err := ks.Signer().Info(ctx, "ed")
	require.NoError(t, err)
	assert.Equal(t, "pkcs11", info.Backend)

	calls := 0
	var mu sync.Mutex
	down := true
	resolve := func(_ context.Context, uri string) (signer.Signer, string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if down {
			return nil, "", errors.New("token not present")
		}
		obj, _ := cutObject(uri)
		return hsm, obj, nil
	}
	s := ks.Signer(WithResolver(resolve))
	_, err = s.Sign(ctx, "ed", signer.Ed25519, []byte("m"))
	require.ErrorContains(t, err, "token not present")
	down = false // a failed resolution is retried
	sig, err := s.Sign(ctx, "ed", signer.Ed25519, []byte("m"))
	require.NoError(t, err)
	assert.True(t, ed25519.Verify(pub, []byte("m"), sig))
	_, err = s.Sign(ctx, "ed", signer.Ed25519, []byte("m2"))
	require.NoError(t, err)
	assert.Equal(t, 2, calls, "a resolved object is kept")

	info, err = s.Info(ctx, "ed")
	require.NoError(t, err)
	assert.True(t, pub.Equal(info.Public))

	got, err := s.SignPassphrase(ctx, "okx", signer.HMACSHA256)
	require.NoError(t, err)
	assert.Equal(t, mac256([]byte("okx-secret"), []byte("okx-pass")), got)

	_, err = s.Sign(ctx, "wrong-type", signer.RS256, []byte("m"))
	require.ErrorIs(t, err, signer.ErrInvalidKey)
	assert.Contains(t, err.Error(), "ed25519")

	_, err = s.Sign(ctx, "ed", signer.HMACSHA256, []byte("m"))
	require.ErrorIs(t, err, signer.ErrWrongAlgorithm)
}

func cutObject(uri string) (string, bool) {
	const p = "pkcs11:object="
	if len(uri) < len(p) || uri[:len(p)] != p {
		return "", false
	}
	return uri[len(p):], true
}
