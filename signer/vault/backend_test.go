package vault

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/vault/vaulttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// transitPost creates or rotates a Transit key on the fake through its
// HTTP API, as an operator would with the vault CLI.
func transitPost(t *testing.T, srv *vaulttest.Server, path, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/transit/"+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Vault-Token", testToken)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, path)
}

func importHMAC(t *testing.T, b *Backend, uri, name string, secret, pass []byte) {
	t.Helper()
	_, err := b.Import(t.Context(), uri, signer.KeyInfo{Name: name, Venue: "kucoin", APIKey: "api-" + name, Type: signer.KeyHMAC}, secret, pass)
	require.NoError(t, err)
}

func TestOneRequestPerSignature(t *testing.T) {
	srv := fakeVault(t)
	b := newBackend(t, srv)
	secret := []byte("5d4c1a8e-3f2b-4e6a-9c7d-0b1a2c3d4e5f")
	importHMAC(t, b, newKeyURI(), "kc", secret, []byte("kucoin passphrase"))
	before := srv.Total()
	for i := range 10 {
		msg := fmt.Appendf(nil, "1700000000%03dPOST/api/v1/hf/orders{}", i)
		got, err := b.Sign(t.Context(), "kc", signer.HMACSHA256, msg)
		require.NoError(t, err)
		assert.Equal(t, mac256(secret, msg), got)
	}
	assert.EqualValues(t, 10, srv.Total()-before)

	// KuCoin's signed passphrase was computed by Vault at import.
	hm := srv.Calls("hmac")
	got, err := b.SignPassphrase(t.Context(), "kc", signer.HMACSHA256)
	require.NoError(t, err)
	assert.Equal(t, base64.StdEncoding.EncodeToString(mac256(secret, []byte("kucoin passphrase"))), base64.StdEncoding.EncodeToString(got))
	assert.Equal(t, hm, srv.Calls("hmac"))
}

func TestAppRoleLoginAndRelogin(t *testing.T) {
	srv := fakeVault(t)
	srv.AddAppRole("keyfence-role", testSecretID)
	b := newBackend(t, srv, func(c *Config) {
		c.Token = nil
		c.AppRole = &AppRole{RoleID: "keyfence-role", SecretID: signer.NewSecret([]byte(testSecretID))}
	})
	assert.Equal(t, 1, srv.Calls("login"))
	importHMAC(t, b, newKeyURI(), "bn", bytes.Repeat([]byte{1}, 32), nil)
	srv.RevokeTokens() // the token's lease ends
	_, err := b.Sign(t.Context(), "bn", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err, "a refused token is replaced by logging in again")
	assert.Equal(t, 2, srv.Calls("login"))

	_, err = New(t.Context(), Config{Address: srv.URL, HTTPClient: srv.Client(),
		AppRole: &AppRole{RoleID: "keyfence-role", SecretID: signer.NewSecret([]byte("wrong"))}})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "wrong")
}

func TestNamespace(t *testing.T) {
	srv := vaulttest.NewServer("transit", "team-a", testToken)
	t.Cleanup(srv.Close)
	k, err := wrappingKey()
	require.NoError(t, err)
	srv.SetWrappingKey(k)
	b := newBackend(t, srv, func(c *Config) { c.Namespace = "team-a/" })
	importHMAC(t, b, newKeyURI(), "bn", bytes.Repeat([]byte{1}, 32), nil)
	other := newBackend(t, srv)
	_, _, err = other.Resolve(t.Context(), "vault://transit/k1")
	require.ErrorIs(t, err, signer.ErrKeyNotFound, "without the namespace the path does not exist")
}

func TestKeyVersions(t *testing.T) {
	srv := fakeVault(t)
	b := newBackend(t, srv)
	transitPost(t, srv, "keys/ed", `{"type":"ed25519"}`)
	transitPost(t, srv, "keys/ed/rotate", ``)
	ctx := t.Context()

	d1, n1, err := b.Resolve(ctx, "vault://transit/ed@1")
	require.NoError(t, err)
	d2, n2, err := b.Resolve(ctx, "vault://transit/ed")
	require.NoError(t, err)
	i1, _ := d1.Info(ctx, n1)
	i2, _ := d2.Info(ctx, n2)
	require.False(t, i1.Public.(ed25519.PublicKey).Equal(i2.Public), "versions 1 and 2 are different keys")
	msg := []byte("m")
	s1, err := d1.Sign(ctx, n1, signer.Ed25519, msg)
	require.NoError(t, err)
	assert.True(t, ed25519.Verify(i1.Public.(ed25519.PublicKey), msg, s1))
	s2, err := d2.Sign(ctx, n2, signer.Ed25519, msg)
	require.NoError(t, err)
	assert.True(t, ed25519.Verify(i2.Public.(ed25519.PublicKey), msg, s2))

	srv.SetMinEncryptionVersion("ed", 2)
	_, err = d1.Sign(ctx, n1, signer.Ed25519, msg)
	require.ErrorIs(t, err, signer.ErrKeyDisabled, "a version below min_encryption_version no longer signs")
	_, _, err = b.Resolve(ctx, "vault://transit/ed@3")
	require.ErrorIs(t, err, signer.ErrKeyDisabled)
}

func TestErrorMapping(t *testing.T) {
	srv := fakeVault(t)
	b := newBackend(t, srv)
	ctx := t.Context()
	u := newKeyURI()
	importHMAC(t, b, u, "bn", bytes.Repeat([]byte{1}, 32), nil)
	pu, _ := ParseURI(u)

	_, _, err := b.Resolve(ctx, "vault://transit/missing")
	require.ErrorIs(t, err, signer.ErrKeyNotFound)

	srv.FailNext(http.StatusTooManyRequests)
	_, err = b.Sign(ctx, "bn", signer.HMACSHA256, []byte("m"))
	require.ErrorIs(t, err, ErrThrottled)
	require.ErrorIs(t, err, signer.ErrUnavailable)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.True(t, e.Retryable)

	srv.FailNext(http.StatusServiceUnavailable) // sealed
	_, err = b.Sign(ctx, "bn", signer.HMACSHA256, []byte("m"))
	require.ErrorIs(t, err, signer.ErrUnavailable)

	srv.Deny(pu.Key)
	_, err = b.Sign(ctx, "bn", signer.HMACSHA256, []byte("m"))
	require.ErrorIs(t, err, signer.ErrAccessDenied)
	assert.Contains(t, err.Error(), `"bn"`)

	_, err = b.Sign(ctx, "bn", signer.Ed25519, []byte("m"))
	require.ErrorIs(t, err, signer.ErrWrongAlgorithm)

	bad := newBackend(t, srv, func(c *Config) { c.Token = signer.NewSecret([]byte("hvs.not-a-token")) })
	_, _, err = bad.Resolve(ctx, u)
	require.ErrorIs(t, err, signer.ErrAccessDenied)

	// An HMAC from a key of another type would use Vault's own HMAC key
	// for it, not the venue secret: registration refuses the mismatch.
	transitPost(t, srv, "keys/ed", `{"type":"ed25519"}`)
	_, err = b.Register(ctx, signer.KeyInfo{Name: "x", Type: signer.KeyHMAC}, "vault://transit/ed")
	require.ErrorIs(t, err, signer.ErrInvalidKey)

	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "err", err, "backend", b)
	fmt.Fprintf(&buf, "%v %+v %#v", b, b, b)
	assert.NotContains(t, buf.String(), testToken)
}

func TestImportRefusesWhatTransitCannotHold(t *testing.T) {
	srv := fakeVault(t)
	b := newBackend(t, srv)
	for _, n := range []int{4, 31, 513} {
		_, err := b.Import(t.Context(), newKeyURI(), signer.KeyInfo{Name: fmt.Sprint("k", n), Type: signer.KeyHMAC}, make([]byte, n), nil)
		require.ErrorIs(t, err, ErrUnsupportedKey, n)
	}
	assert.Zero(t, srv.Calls("import"))
	_, err := b.Import(t.Context(), "vault://transit/k@2", signer.KeyInfo{Name: "v", Type: signer.KeyHMAC}, make([]byte, 32), nil)
	require.ErrorIs(t, err, ErrBadURI)
}

func TestWrappedKeystore(t *testing.T) {
	srv := fakeVault(t)
	transitPost(t, srv, "keys/keystore", `{"type":"aes256-gcm96"}`)
	ctx := t.Context()
	b := newBackend(t, srv)
	w, err := b.Wrapper("vault://transit/keystore")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "keys.kfs")
	ks, err := keystore.CreateWrapped(ctx, path, w, nil)
	require.NoError(t, err)
	require.NoError(t, ks.Add(ctx, keystore.Entry{Name: "bn", Venue: "binance", APIKey: "k", Type: signer.KeyHMAC}, []byte("sealed secret"), nil))
	require.NoError(t, ks.Close())

	fresh := newBackend(t, srv)
	ks, err = keystore.OpenWrapped(ctx, path, fresh.ResolveWrapper)
	require.NoError(t, err)
	defer ks.Close()
	got, err := ks.Signer().Sign(ctx, "bn", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err)
	assert.Equal(t, mac256([]byte("sealed secret"), []byte("m")), got)
	assert.Equal(t, 1, srv.Calls("decrypt")-1, "CreateWrapped checks one decrypt, OpenWrapped makes one")
}

func TestKeystoreReference(t *testing.T) {
	srv := fakeVault(t)
	ctx := t.Context()
	b := newBackend(t, srv)
	u := newKeyURI()
	secret := []byte("5d4c1a8e-3f2b-4e6a-9c7d-0b1a2c3d4e5f")
	importHMAC(t, b, u, "kc", secret, nil)
	ks, err := keystore.Create(ctx, filepath.Join(t.TempDir(), "k.kfs"), []byte("pass"),
		keystore.WithKDFParams(keystore.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}))
	require.NoError(t, err)
	defer ks.Close()
	pmac, err := b.Sign(ctx, "kc", signer.HMACSHA256, []byte("kc pass"))
	require.NoError(t, err)
	require.NoError(t, ks.AddReferenceSigned(ctx, keystore.Entry{Name: "kucoin-main", Venue: "kucoin", APIKey: "k", Type: signer.KeyHMAC, URI: u}, []byte("kc pass"), pmac))

	s := ks.Signer(keystore.WithResolver(newBackend(t, srv).Resolve))
	got, err := s.Sign(ctx, "kucoin-main", signer.HMACSHA256, []byte("order"))
	require.NoError(t, err)
	assert.Equal(t, mac256(secret, []byte("order")), got)
	before := srv.Total()
	p, err := s.SignPassphrase(ctx, "kucoin-main", signer.HMACSHA256)
	require.NoError(t, err)
	assert.Equal(t, mac256(secret, []byte("kc pass")), p)
	assert.Equal(t, before, srv.Total())
}

func TestDecodeOutput(t *testing.T) {
	for _, s := range []string{"", "vault:", "vault:v:", "vault:v0:AA==", "vault:v01:AA==", "vault:v1:", "vault:v1:!!", "vault:1:AA==", "other:v1:AA=="} {
		_, _, err := decodeOutput(s, false)
		require.ErrorIs(t, err, ErrOutput, s)
	}
	v, b, err := decodeOutput("vault:v12:AAEC", false)
	require.NoError(t, err)
	assert.Equal(t, 12, v)
	assert.Equal(t, []byte{0, 1, 2}, b)
	_, b, err = decodeOutput("vault:v1:-_8", true)
	require.NoError(t, err)
	assert.Equal(t, []byte{0xfb, 0xff}, b, "JWS signatures are base64url")
}

func TestParseURI(t *testing.T) {
	for s, want := range map[string]URI{
		"vault://transit/binance-main":   {Mount: "transit", Key: "binance-main"},
		"vault://team/transit/binance@3": {Mount: "team/transit", Key: "binance", Version: 3},
		"vault://transit/kucoin_main.v2": {Mount: "transit", Key: "kucoin_main.v2"},
	} {
		u, err := ParseURI(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, u)
		assert.Equal(t, s, u.String())
	}
	for _, s := range []string{"", "vault://", "vault://transit", "vault://transit/", "vault:///k", "vault://transit/k@0",
		"vault://transit/k@x", "vault://transit/k@01", "vault://tr ansit/k", "vault://transit/../k", "vault://transit//k", "vault://transit/k?x"} {
		_, err := ParseURI(s)
		require.True(t, errors.Is(err, ErrBadURI), s)
	}
}

func FuzzParseURI(f *testing.F) {
	f.Add("vault://transit/binance-main@2")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		again, err := ParseURI(u.String())
		if err != nil || again != u {
			t.Fatalf("round trip of %q: %+v %v", s, again, err)
		}
	})
}
