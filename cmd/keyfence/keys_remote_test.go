package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/awskms/awskmstest"
	"github.com/keyfence/keyfence/signer/vault/vaulttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kmsCLI is a CLI whose AWS KMS is the in-repo fake (SigV4 verified).
func kmsCLI(t *testing.T) (*cli, *awskmstest.Server, string) {
	t.Helper()
	fake := awskmstest.NewServer("AKIAKEYFENCECLI", "cli-secret-access-key")
	t.Cleanup(fake.Close)
	c, path := newCLI(t)
	c.aws = func(context.Context) (aws.Config, error) {
		return aws.Config{Region: "eu-west-2", BaseEndpoint: aws.String(fake.URL), HTTPClient: fake.Client(),
			Credentials: credentials.NewStaticCredentialsProvider("AKIAKEYFENCECLI", "cli-secret-access-key", "")}, nil
	}
	return c, fake, path
}

func TestKeysInitWrapOpensWithoutPassphrase(t *testing.T) {
	c, fake, path := kmsCLI(t)
	id, err := fake.CreateKey("eu-west-2", "SYMMETRIC_DEFAULT")
	require.NoError(t, err)
	delete(c.env, "KEYFENCE_PASSPHRASE")
	r := c.run("", "keys", "init", "--wrap", "awskms://eu-west-2/"+id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "no passphrase")

	r = c.run(docSecret+"\n", "keys", "add", "--name", "bn", "--venue", "binance", "--api-key", docAPIKey)
	require.Equal(t, 0, r.code, r.stderr)
	r = c.run("", "keys", "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "bn")
	before := fake.Calls("Decrypt")
	r = c.run("", "request", "--key", "bn", "--dry-run", "--timestamp", docTS, "GET", "/api/v3/account", "omitZeroBalances=true")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "signature="+hexMAC(docSecret, "omitZeroBalances=true&timestamp="+docTS))
	assert.Equal(t, before+1, fake.Calls("Decrypt"), "opening is one KMS Decrypt")

	// A passphrase does not open it.
	_, err = keystore.Open(t.Context(), path, []byte("correct horse battery staple"))
	require.ErrorIs(t, err, keystore.ErrKMSWrapped)

	r = c.run("", "keys", "init", "--wrap", "awskms://eu-west-2")
	assert.Equal(t, 2, r.code)
}

func hexMAC(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func TestKeysAddAWSKMSImport(t *testing.T) {
	c, fake, path := kmsCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	r := c.run(docSecret+"\n", "keys", "add", "--name", "bn", "--venue", "binance", "--api-key", docAPIKey,
		"--backend", "awskms", "--import", "--key-uri", "awskms://eu-west-2/alias/binance-main")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 1, fake.Calls("ImportKeyMaterial"))
	assert.Equal(t, 1, fake.Calls("GenerateMac"), "the known-answer MAC")
	assert.NotContains(t, r.stdout+r.stderr, docSecret)

	r = c.run("", "keys", "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "awskms")
	assert.NotContains(t, string(readFileT(t, path)), docSecret)

	macs := fake.Calls("GenerateMac")
	r = c.run("", "request", "--key", "bn", "--dry-run", "--timestamp", docTS, "GET", "/api/v3/account", "omitZeroBalances=true")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "signature="+hexMAC(docSecret, "omitZeroBalances=true&timestamp="+docTS), "KMS signs with the imported secret")
	assert.Equal(t, macs+1, fake.Calls("GenerateMac"), "one KMS call per signature")

	// The same alias cannot be imported twice.
	r = c.run(docSecret+"\n", "keys", "add", "--name", "bn2", "--venue", "binance", "--api-key", "k2",
		"--backend", "awskms", "--import", "--key-uri", "awskms://eu-west-2/alias/binance-main")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, 1, fake.Calls("ScheduleKeyDeletion"), "a key whose import failed is scheduled for deletion")
}

func TestKeysAddAWSKMSKuCoinPassphrase(t *testing.T) {
	c, fake, path := kmsCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	const secret, pass = "5d4c1a8e-3f2b-4e6a-9c7d-0b1a2c3d4e5f", "kucoin api passphrase"
	r := c.run(secret+"\n"+pass+"\n", "keys", "add", "--name", "kc", "--venue", "kucoin", "--api-key", "kc-key",
		"--backend", "awskms", "--import", "--key-uri", "awskms://eu-west-2/alias/kucoin-main")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "signed API passphrase")

	// The signed passphrase is sealed in the keystore: no KMS call, and no
	// resolver needed, to get it.
	calls := fake.Total()
	ks, err := keystore.Open(t.Context(), path, []byte("correct horse battery staple"))
	require.NoError(t, err)
	defer ks.Close()
	got, err := ks.Signer().SignPassphrase(t.Context(), "kc", signer.HMACSHA256)
	require.NoError(t, err)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(pass))
	assert.Equal(t, base64.StdEncoding.EncodeToString(m.Sum(nil)), base64.StdEncoding.EncodeToString(got))
	assert.Equal(t, calls, fake.Total())
	assert.NotContains(t, string(readFileT(t, path)), pass)
}

func TestKeysAddAWSKMSReference(t *testing.T) {
	c, fake, _ := kmsCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	id, err := fake.CreateKey("eu-west-2", "ECC_NIST_P256")
	require.NoError(t, err)
	before := fake.Total()
	r := c.run("must not be read\n", "keys", "add", "--name", "cb", "--venue", "coinbase", "--api-key", "organizations/o/apiKeys/k",
		"--type", "ecdsa", "--backend", "awskms", "--key-uri", "awskms://eu-west-2/"+id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, int64(2), fake.Total()-before, "DescribeKey and GetPublicKey; no import")

	r = c.run("", "keys", "add", "--name", "bad", "--venue", "binance", "--api-key", "k",
		"--backend", "awskms", "--key-uri", "awskms://eu-west-2/"+id)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "ecdsa")

	r = c.run("", "keys", "add", "--name", "missing", "--venue", "binance", "--api-key", "k",
		"--backend", "awskms", "--key-uri", "awskms://eu-west-2/alias/none")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no such key")
}

func TestKeysAddBackendUsage(t *testing.T) {
	c, _, _ := kmsCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	for _, args := range [][]string{
		{"--backend", "awskms"},
		{"--backend", "awskms", "--key-uri", "gcpkms://x/y"},
		{"--backend", "awskms", "--import", "--key-uri", "awskms://eu-west-2/1234"},
		{"--key-uri", "awskms://eu-west-2/alias/x"},
		{"--backend", "vault"},
		{"--backend", "vault", "--import", "--key-uri", "vault://transit/k@2"},
		{"--backend", "pkcs11", "--key-uri", "pkcs11:object=k"},
		{"--backend", "cloud"},
	} {
		r := c.run("", append([]string{"keys", "add", "--name", "x", "--venue", "binance", "--api-key", "k"}, args...)...)
		assert.Equal(t, 2, r.code, strings.Join(args, " ")+": "+r.stderr)
	}
}

func readFileT(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Clean(path))
	require.NoError(t, err)
	return b
}

// TestKeysVault: a keystore wrapped by a Vault Transit key, holding a
// Binance secret imported into Transit, signs through Vault (the in-repo
// fake, which unwraps the real import wrapping).
func TestKeysVault(t *testing.T) {
	fake := vaulttest.NewServer("transit", "", "hvs.cli-canary-token")
	t.Cleanup(fake.Close)
	c, path := newCLI(t)
	delete(c.env, "KEYFENCE_PASSPHRASE")
	c.env["VAULT_ADDR"], c.env["VAULT_TOKEN"] = fake.URL, "hvs.cli-canary-token"
	req, err := http.NewRequest(http.MethodPost, fake.URL+"/v1/transit/keys/keystore", strings.NewReader(`{"type":"aes256-gcm96"}`))
	require.NoError(t, err)
	req.Header.Set("X-Vault-Token", "hvs.cli-canary-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	r := c.run("", "keys", "init", "--wrap", "vault://transit/keystore")
	require.Equal(t, 0, r.code, r.stderr)
	r = c.run(docSecret+"\n", "keys", "add", "--name", "bn", "--venue", "binance", "--api-key", docAPIKey,
		"--backend", "vault", "--import", "--key-uri", "vault://transit/binance-main")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 1, fake.Calls("import"))
	assert.NotContains(t, string(readFileT(t, path)), docSecret)

	hm := fake.Calls("hmac")
	r = c.run("", "request", "--key", "bn", "--dry-run", "--timestamp", docTS, "GET", "/api/v3/account", "omitZeroBalances=true")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "signature="+hexMAC(docSecret, "omitZeroBalances=true&timestamp="+docTS))
	assert.Equal(t, hm+1, fake.Calls("hmac"), "one Transit request per signature")
	assert.NotContains(t, r.stdout+r.stderr, "hvs.cli-canary-token")

	r = c.run("", "keys", "add", "--name", "bad", "--venue", "binance", "--api-key", "k", "--backend", "vault", "--key-uri", "vault://transit/keystore")
	assert.Equal(t, 1, r.code, "an encryption key is not an HMAC key")
}

// TestReconcileSignsThroughKMS: reconcile, like request, signs with a venue
// key held in AWS KMS (the keystore entry only points at it); it once used
// the keystore's own signer and could not use such a key at all.
func TestReconcileSignsThroughKMS(t *testing.T) {
	c, fake, path := kmsCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	r := c.run(docSecret+"\n", "keys", "add", "--name", "bn", "--venue", "binance", "--api-key", docAPIKey,
		"--backend", "awskms", "--import", "--key-uri", "awskms://eu-west-2/alias/reconcile")
	require.Equal(t, 0, r.code, r.stderr)
	sim := exchangetest.NewBinance()
	defer sim.Close()
	sim.AddKey(exchangetest.BinanceKey{APIKey: docAPIKey, HMACSecret: []byte(docSecret),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})
	state := filepath.Join(filepath.Dir(path), "limits.state")
	store, err := limits.OpenFileStore(state)
	require.NoError(t, err)
	require.NoError(t, store.Close())

	macs := fake.Calls("GenerateMac")
	r = c.run("", "reconcile", "--key", "bn", "--state", state, "--venue-url", sim.URL())
	require.Equal(t, 0, r.code, r.stderr)
	assert.Greater(t, fake.Calls("GenerateMac"), macs, "reconcile's requests were signed through KMS")
}
