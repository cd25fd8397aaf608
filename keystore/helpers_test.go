package keystore

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/stretchr/testify/require"
)

// testKDF keeps Argon2id fast in tests; tinyKDF is for tests that open a
// file thousands of times.
var (
	testKDF = KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}
	tinyKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
)

var testPass = []byte("correct horse battery staple")

func newStore(t testing.TB, kdf KDFParams) (*Keystore, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.json")
	ks, err := Create(context.Background(), path, testPass, WithKDFParams(kdf))
	require.NoError(t, err)
	t.Cleanup(func() { ks.Close() })
	return ks, path
}

func reopen(t testing.TB, path string) *Keystore {
	t.Helper()
	ks, err := Open(context.Background(), path, testPass)
	require.NoError(t, err)
	t.Cleanup(func() { ks.Close() })
	return ks
}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func pemPKCS8(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func newEd25519(t testing.TB) (ed25519.PublicKey, []byte) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return pub, pemPKCS8(t, priv)
}

func newECDSA(t testing.TB) (*ecdsa.PublicKey, []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return &priv.PublicKey, pemPKCS8(t, priv)
}

func hmacEntry(name string) Entry {
	return Entry{Name: name, Venue: "binance", APIKey: "api-" + name, Type: signer.KeyHMAC}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
