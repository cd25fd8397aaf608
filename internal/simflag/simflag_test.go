package simflag

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func writePEM(t *testing.T, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return p
}

func TestParseBinanceKey(t *testing.T) {
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pkix := func(pub any) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		require.NoError(t, err)
		return der
	}
	edPath := writePEM(t, "PUBLIC KEY", pkix(edPub))
	rsaPath := writePEM(t, "PUBLIC KEY", pkix(&rsaKey.PublicKey))
	rsa1Path := writePEM(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey))
	ecPath := writePEM(t, "PUBLIC KEY", pkix(&ecKey.PublicKey))
	privPath := writePEM(t, "PRIVATE KEY", []byte("not really"))
	secretPath := filepath.Join(t.TempDir(), "secret.txt")
	require.NoError(t, os.WriteFile(secretPath, []byte("file-secret\n"), 0o600))

	for _, tc := range []struct {
		in      string
		kind    string // hmac, ed25519, rsa; "" for an error
		secret  string
		errPart string
	}{
		{in: "abc:def", kind: "hmac", secret: "def"},
		{in: "abc:de:f", kind: "hmac", secret: "de:f"},
		{in: "abc:@" + edPath, kind: "ed25519"},
		{in: "abc:@" + rsaPath, kind: "rsa"},
		{in: "abc:@" + rsa1Path, kind: "rsa"},
		{in: "abc:@" + secretPath, kind: "hmac", secret: "file-secret"},
		{in: "abc:@" + ecPath, errPart: "Ed25519 or RSA"},
		{in: "abc:@" + privPath, errPart: "public half"},
		{in: "abc:@/does/not/exist.pem", errPart: "reading the key file"},
		{in: "abc:@", errPart: "name the key file"},
		{in: "abc", errPart: "APIKEY:SECRET"},
		{in: ":secret", errPart: "APIKEY:SECRET"},
		{in: "abc:", errPart: "APIKEY:SECRET"},
		{in: "a b:secret", errPart: "printable ASCII"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			k, err := ParseBinanceKey(tc.in)
			if tc.kind == "" {
				require.Error(t, err)
				require.True(t, errors.Is(err, ErrBadFlag))
				require.Contains(t, err.Error(), tc.errPart)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "abc", k.APIKey)
			require.Contains(t, k.String(), "("+tc.kind+")")
			require.Equal(t, tc.secret, string(k.HMACSecret))
			require.True(t, k.Permissions.Read && k.Permissions.Trade && k.Permissions.IPRestricted)
			require.False(t, k.Permissions.Withdraw || k.Permissions.Transfer)
		})
	}
}

func TestParsePrice(t *testing.T) {
	for _, tc := range []struct {
		in, sym, price string
		ok             bool
	}{
		{"BTCUSDT=50000", "BTCUSDT", "50000", true},
		{"ethbtc=0.05", "ETHBTC", "0.05", true},
		{"BTC-USD=1.5", "BTC-USD", "1.5", true},
		{"BTCUSDT=0", "", "", false},
		{"BTCUSDT=-1", "", "", false},
		{"BTCUSDT=1e5", "", "", false},
		{"BTCUSDT=", "", "", false},
		{"=5", "", "", false},
		{"BTCUSDT", "", "", false},
		{"BTC USDT=5", "", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			sym, p, err := ParsePrice(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, ErrBadFlag)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.sym, sym)
			requireDec(t, tc.price, p)
		})
	}
}

func FuzzParsePrice(f *testing.F) {
	for _, s := range []string{"BTCUSDT=50000", "x=0.1", "=", "A=1e9", "a=-1", "ÄÖ=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sym, p, err := ParsePrice(s)
		if err != nil {
			require.ErrorIs(t, err, ErrBadFlag)
			return
		}
		require.NotEmpty(t, sym)
		require.Equal(t, strings.ToUpper(sym), sym)
		require.True(t, p.IsPositive())
	})
}

func FuzzParseBinanceKey(f *testing.F) {
	for _, s := range []string{"abc:def", "a:b:c", ":", "k:", "k k:s", "key:@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, ":@") {
			return // reads files; covered by the table test
		}
		k, err := ParseBinanceKey(s)
		if err != nil {
			require.ErrorIs(t, err, ErrBadFlag)
			// The error must not depend on, nor show, the secret.
			const canary = "CANARY-0c9f1e7d"
			if apiKey, rest, ok := strings.Cut(s, ":"); ok && rest != "" {
				_, err2 := ParseBinanceKey(apiKey + ":" + canary)
				require.Error(t, err2)
				require.NotContains(t, err2.Error(), canary)
			}
			return
		}
		require.NotEmpty(t, k.APIKey)
		require.NotEmpty(t, k.HMACSecret)
		require.Equal(t, "binance key "+k.APIKey+" (hmac)", k.String())
	})
}

func TestParseCoinbaseKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, pub any) string {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ecFile, edFile, badFile := write("ec.pem", &ec.PublicKey), write("ed.pem", ed), write("p384.pem", &p384.PublicKey)

	k, err := ParseCoinbaseKey("organizations/o/apiKeys/k:@" + ecFile)
	if err != nil || k.Name != "organizations/o/apiKeys/k" || !k.Permissions.Read || !k.Permissions.Trade || k.Permissions.Transfer {
		t.Fatalf("%v %v", k, err)
	}
	if pub, ok := k.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&ec.PublicKey) {
		t.Error("wrong ECDSA key")
	}
	if k, err := ParseCoinbaseKey("a:b:@" + edFile); err != nil || k.Name != "a:b" {
		t.Errorf("ed25519 with a colon in the name: %v %v", k, err)
	}
	for _, bad := range []string{"name", "name:" + ecFile, ":@" + ecFile, "n:@", "n:@" + filepath.Join(dir, "missing.pem"), "n:@" + badFile} {
		if _, err := ParseCoinbaseKey(bad); !errors.Is(err, ErrBadFlag) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseKuCoinKey(t *testing.T) {
	k, err := ParseKuCoinKey("key:sec:pass:with:colons")
	if err != nil || k.APIKey != "key" || string(k.Secret) != "sec" || string(k.Passphrase) != "pass:with:colons" || !k.Permissions.IPRestricted {
		t.Fatalf("%v %v", k, err)
	}
	path := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(path, []byte("fsec:fpass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err = ParseKuCoinKey("key:@" + path)
	if err != nil || string(k.Secret) != "fsec" || string(k.Passphrase) != "fpass" {
		t.Fatalf("file: %v %v", k, err)
	}
	for _, bad := range []string{"", "key", "key:sec", "key:sec:", ":sec:pass", "k y:sec:pass", "key:@", "key:@/nonexistent/file"} {
		_, err := ParseKuCoinKey(bad)
		if !errors.Is(err, ErrBadFlag) {
			t.Errorf("%q: %v", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "sec") && strings.Contains(bad, "sec") {
			t.Errorf("%q: the error shows the secret: %v", bad, err)
		}
	}
	if s := k.String() + k.GoString(); strings.Contains(s, "fsec") || strings.Contains(s, "fpass") {
		t.Fatalf("key prints its secret: %s", s)
	}
}

func TestParseDrift(t *testing.T) {
	_, err := ParseDrift("0.001", time.Second, 1)
	require.NoError(t, err)
	for _, s := range []string{"", "abc", "-0.1", "1e-3", "0.5"} {
		_, err := ParseDrift(s, time.Second, 1)
		require.ErrorIs(t, err, ErrBadFlag, s)
	}
	_, err = ParseDrift("0.001", 0, 1)
	require.ErrorIs(t, err, exchangetest.ErrBadDrift)
}

// A key flag's errors never quote the secret.
func TestKeyFlagErrorsHideTheSecret(t *testing.T) {
	const canary = "CANARY-simflag-7f3a"
	_, err := ParseBinanceKey("k:" + canary + ":x y")
	if err != nil {
		require.NotContains(t, err.Error(), canary)
	}
	_, err = ParseBinanceKey("bad key:" + canary)
	require.Error(t, err)
	require.NotContains(t, err.Error(), canary)
}

func requireDec(t *testing.T, want string, got decimal.Decimal) {
	t.Helper()
	require.True(t, decimal.RequireFromString(want).Equal(got), "want %s, got %s", want, got)
}
