package exchangetest

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

	"github.com/stretchr/testify/require"
)

func writePEM(t *testing.T, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return p
}

func TestParseBinanceKeyFlag(t *testing.T) {
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
			k, err := ParseBinanceKeyFlag(tc.in)
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

func TestParsePriceFlag(t *testing.T) {
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
			sym, p, err := ParsePriceFlag(tc.in)
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

func FuzzParsePriceFlag(f *testing.F) {
	for _, s := range []string{"BTCUSDT=50000", "x=0.1", "=", "A=1e9", "a=-1", "ÄÖ=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sym, p, err := ParsePriceFlag(s)
		if err != nil {
			require.ErrorIs(t, err, ErrBadFlag)
			return
		}
		require.NotEmpty(t, sym)
		require.Equal(t, strings.ToUpper(sym), sym)
		require.True(t, p.IsPositive())
	})
}

func FuzzParseBinanceKeyFlag(f *testing.F) {
	for _, s := range []string{"abc:def", "a:b:c", ":", "k:", "k k:s", "key:@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, ":@") {
			return // reads files; covered by the table test
		}
		k, err := ParseBinanceKeyFlag(s)
		if err != nil {
			require.ErrorIs(t, err, ErrBadFlag)
			// The error must not depend on, nor show, the secret.
			const canary = "CANARY-0c9f1e7d"
			if apiKey, rest, ok := strings.Cut(s, ":"); ok && rest != "" {
				_, err2 := ParseBinanceKeyFlag(apiKey + ":" + canary)
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
