package keystore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/stretchr/testify/require"
)

// forms returns the ways a secret could appear in output or in the file.
func forms(secret string) []string {
	b := []byte(secret)
	return []string{
		secret,
		hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
		base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
		// A secret split across base64 blocks still leaves a run of its
		// encoding, whatever its alignment.
		base64.StdEncoding.EncodeToString(b[1:])[:8], base64.StdEncoding.EncodeToString(b[2:])[:8],
	}
}

func TestCanary(t *testing.T) {
	ctx := context.Background()
	secret := "keyfence-canary-secret-" + rand.Text()
	apiPass := "keyfence-canary-apipass-" + rand.Text()
	storePass := "keyfence-canary-storepass-" + rand.Text()
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")

	ks, err := Create(ctx, path, []byte(storePass), WithKDFParams(testKDF))
	require.NoError(t, err)
	require.NoError(t, ks.Add(ctx, Entry{Name: "canary", Venue: "kucoin", APIKey: "canary-api", Type: signer.KeyHMAC}, []byte(secret), []byte(apiPass)))
	require.NoError(t, ks.AddReference(ctx, Entry{Name: "canary-hsm", Venue: "okx", APIKey: "canary-hsm-api", Type: signer.KeyHMAC, URI: "pkcs11:object=c"}, []byte(apiPass)))

	var out bytes.Buffer
	s := ks.Signer()
	// Use the keys, so that the secrets are in memory.
	_, err = s.Sign(ctx, "canary", signer.HMACSHA256, []byte("m"))
	require.NoError(t, err)
	_, err = s.SignPassphrase(ctx, "canary", signer.HMACSHA256)
	require.NoError(t, err)

	// Provoke errors with the secrets at hand.
	var errs []error
	collect := func(err error) {
		require.Error(t, err)
		errs = append(errs, err)
	}
	collect(ks.Add(ctx, Entry{Name: "canary", Venue: "kucoin", APIKey: "x", Type: signer.KeyHMAC}, []byte(secret), []byte(apiPass)))
	collect(ks.Add(ctx, Entry{Name: "bad-ed", Venue: "kucoin", APIKey: "x", Type: signer.KeyEd25519}, []byte(secret), nil))
	collect(ks.Add(ctx, Entry{Name: "bad-rsa", Venue: "kucoin", APIKey: "x", Type: signer.KeyRSA}, []byte("-----BEGIN PRIVATE KEY-----\n"+base64.StdEncoding.EncodeToString([]byte(secret))+"\n-----END PRIVATE KEY-----\n"), nil))
	collect(ks.Add(ctx, Entry{Name: "x", Venue: "kucoin", APIKey: secret + " ", Type: signer.KeyHMAC}, []byte(secret), nil))
	_, err = s.Sign(ctx, "canary", signer.Ed25519, []byte("m"))
	collect(err)
	_, err = s.Sign(ctx, "canary-hsm", signer.HMACSHA256, []byte("m"))
	collect(err)
	_, err = s.SignPassphrase(ctx, "missing", signer.HMACSHA256)
	collect(err)
	_, err = Open(ctx, path, []byte(storePass+"x"))
	collect(err)
	_, err = Create(ctx, path, []byte(storePass), WithKDFParams(testKDF))
	collect(err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	_, err = openData(ctx, path, bytes.Replace(data, []byte(`"canary-api"`), []byte(`"canary-apj"`), 1), []byte(storePass))
	collect(err)
	for _, e := range errs {
		fmt.Fprintf(&out, "%v\n%+v\n%#v\n%s\n", e, e, e, e)
	}

	entries := ks.Entries()
	infos, err := s.Keys(ctx)
	require.NoError(t, err)
	j, err := json.Marshal(struct {
		E []Entry
		I []signer.KeyInfo
	}{entries, infos})
	require.NoError(t, err)
	out.Write(j)
	for _, v := range []any{ks, s, entries, infos} {
		fmt.Fprintf(&out, "%v %+v %#v %s %x %d\n", v, v, v, v, v, v)
	}
	require.NoError(t, ks.Update(ctx, func(tx *Tx) error {
		fmt.Fprintf(&out, "%v %+v %#v %x\n", tx, tx, tx, tx)
		return nil
	}))
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	logger.Info("keystore", "ks", ks, "signer", s, "entries", entries, "err", errors.Join(errs...))

	text := slog.New(slog.NewTextHandler(&out, nil))
	text.Info("keystore", "ks", ks, "entries", entries)

	for _, c := range []string{secret, apiPass, storePass} {
		for _, f := range forms(c) {
			require.NotContains(t, out.String(), f, "output leaks a canary")
			require.NotContains(t, string(data), f, "the file leaks a canary")
		}
	}
	// Sanity: the output does describe the entries.
	require.Contains(t, out.String(), "canary-api")
	require.NoError(t, ks.Close())
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, files, 1)
}
