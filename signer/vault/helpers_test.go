package vault

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/vault/vaulttest"
)

// Canary credentials: they must never appear in errors or logs.
const (
	testToken    = "hvs.canary-token-3c5e1f7a9b"
	testSecretID = "canary-secret-id-8d2e4b6f"
)

func fakeVault(t testing.TB) *vaulttest.Server {
	t.Helper()
	srv := vaulttest.NewServer("transit", "", testToken)
	t.Cleanup(srv.Close)
	k, err := wrappingKey()
	if err != nil {
		t.Fatal(err)
	}
	srv.SetWrappingKey(k)
	return srv
}

func newBackend(t testing.TB, srv *vaulttest.Server, mutate ...func(*Config)) *Backend {
	t.Helper()
	cfg := Config{Address: srv.URL, Token: signer.NewSecret([]byte(testToken)), HTTPClient: srv.Client()}
	for _, m := range mutate {
		m(&cfg)
	}
	b, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// wrappingKey is one RSA 4096 wrapping key for every fake of the test
// binary: generating one takes seconds.
var wrappingKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 4096) })

var keySeq atomic.Int64

// newKeyURI returns a fresh Transit key URI on the fake's mount.
func newKeyURI() string { return fmt.Sprintf("vault://transit/k%d", keySeq.Add(1)) }

func mac256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
