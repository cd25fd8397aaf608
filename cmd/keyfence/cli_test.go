package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cli runs the CLI in process with the given stdin and environment.
type cli struct {
	t      *testing.T
	env    map[string]string
	tty    bool
	prompt []string // answers to no-echo prompts, in order
	// aws, if set, is the AWS configuration KMS keys are reached with.
	aws func(ctx context.Context) (aws.Config, error)
}

type result struct {
	code           int
	stdout, stderr string
}

func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		stdin:  strings.NewReader(stdin),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string { return c.env[k] },
		lookupEnv: func(k string) (string, bool) {
			v, ok := c.env[k]
			return v, ok
		},
		isTerminal: func() bool { return c.tty },
		readPassword: func(string) ([]byte, error) {
			if len(c.prompt) == 0 {
				return nil, errors.New("no more answers")
			}
			p := c.prompt[0]
			c.prompt = c.prompt[1:]
			return []byte(p), nil
		},
		awsConfig: c.aws,
	}
	code := run(context.Background(), args, e)
	return result{code, out.String(), errb.String()}
}

func newCLI(t *testing.T) (*cli, string) {
	path := filepath.Join(t.TempDir(), "keys.kfs")
	return &cli{t: t, env: map[string]string{
		"KEYFENCE_KEYSTORE":   path,
		"KEYFENCE_PASSPHRASE": "correct horse battery staple",
	}}, path
}

func TestKeysLifecycle(t *testing.T) {
	c, path := newCLI(t)
	r := c.run("", "keys", "init")
	require.Equal(t, 0, r.code, r.stderr)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	r = c.run("hmac-secret-value-0123456789abcdef\n", "keys", "add", "--name", "bn", "--venue", "binance", "--api-key", "APIKEY1")
	require.Equal(t, 0, r.code, r.stderr)
	r = c.run("kucoin-secret\nkucoin-pass\n", "keys", "add", "--name", "kc", "--venue", "kucoin", "--api-key", "APIKEY2")
	require.Equal(t, 0, r.code, r.stderr)

	r = c.run("", "keys", "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "NAME")
	assert.Regexp(t, `bn\s+binance\s+APIKEY1\s+hmac\s+keystore`, r.stdout)
	assert.Regexp(t, `kc\s+kucoin\s+APIKEY2\s+hmac\s+keystore`, r.stdout)
	assert.NotContains(t, r.stdout, "hmac-secret-value")

	r = c.run("", "keys", "remove", "--name", "bn")
	require.Equal(t, 0, r.code, r.stderr)
	r = c.run("", "keys", "list")
	assert.NotContains(t, r.stdout, "APIKEY1")
	assert.Contains(t, r.stdout, "APIKEY2")

	c.env["KEYFENCE_NEW_PASSPHRASE"] = "a new passphrase"
	r = c.run("", "keys", "passwd")
	require.Equal(t, 0, r.code, r.stderr)
	delete(c.env, "KEYFENCE_NEW_PASSPHRASE")

	r = c.run("", "keys", "list")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "passphrase")
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one-line message: %q", r.stderr)

	c.env["KEYFENCE_PASSPHRASE"] = "a new passphrase"
	r = c.run("", "keys", "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "APIKEY2")
}

func TestKeysAddPEMAndTypes(t *testing.T) {
	c, _ := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	pemKey := testPEM(t)
	r := c.run(pemKey, "keys", "add", "--name", "ed", "--venue", "binance", "--api-key", "K", "--type", "ed25519")
	require.Equal(t, 0, r.code, r.stderr)
	r = c.run("-----BEGIN PRIVATE KEY-----\nAAAA\n", "keys", "add", "--name", "bad", "--venue", "binance", "--api-key", "K", "--type", "ed25519")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "END")
	r = c.run("", "keys", "list")
	assert.Regexp(t, `ed\s+binance\s+K\s+ed25519\s+keystore`, r.stdout)
	assert.NotContains(t, r.stdout, "bad")
}

func TestKeysUsageErrors(t *testing.T) {
	c, _ := newCLI(t)
	for _, args := range [][]string{
		{},
		{"nope"},
		{"keys"},
		{"keys", "frob"},
		{"keys", "add", "--venue", "binance", "--api-key", "K"},
		{"keys", "add", "--name", "x", "--venue", "nowhere", "--api-key", "K"},
		{"keys", "add", "--name", "x", "--venue", "binance", "--api-key", "K", "--type", "dsa"},
		{"keys", "add", "--bogus"},
		{"keys", "remove"},
		{"keys", "list", "extra"},
	} {
		r := c.run("", args...)
		assert.Equal(t, 2, r.code, "args %q: stderr %q", args, r.stderr)
	}
	delete(c.env, "KEYFENCE_KEYSTORE")
	assert.Equal(t, 2, c.run("", "keys", "list").code)
}

func TestKeysErrors(t *testing.T) {
	c, path := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	r := c.run("", "keys", "init")
	assert.Equal(t, 1, r.code, "init over an existing keystore must fail")

	r = c.run("", "keys", "add", "--name", "a", "--venue", "binance", "--api-key", "K")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "standard input")

	r = c.run("secret-only\n", "keys", "add", "--name", "a", "--venue", "kucoin", "--api-key", "K")
	assert.Equal(t, 1, r.code, "kucoin needs a passphrase line")

	require.Equal(t, 0, c.run("s1\n", "keys", "add", "--name", "a", "--venue", "binance", "--api-key", "K").code)
	r = c.run("s2\n", "keys", "add", "--name", "a", "--venue", "binance", "--api-key", "K")
	assert.Equal(t, 1, r.code, "duplicate name")

	r = c.run("", "keys", "remove", "--name", "missing")
	assert.Equal(t, 1, r.code)

	require.NoError(t, os.Chmod(path, 0o644))
	r = c.run("", "keys", "list")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "chmod 600")

	delete(c.env, "KEYFENCE_PASSPHRASE")
	require.NoError(t, os.Chmod(path, 0o600))
	r = c.run("", "keys", "list")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "KEYFENCE_PASSPHRASE")
}

func TestKeysPrompts(t *testing.T) {
	c, _ := newCLI(t)
	delete(c.env, "KEYFENCE_PASSPHRASE")
	c.tty = true
	c.prompt = []string{"pass-one-of-twelve", "pass-two-of-twelve"}
	r := c.run("", "keys", "init")
	assert.Equal(t, 1, r.code, "mismatched passphrases")
	c.prompt = []string{"pass-one-of-twelve", "pass-one-of-twelve"}
	require.Equal(t, 0, c.run("", "keys", "init").code)
	c.prompt = []string{"pass-one-of-twelve", "prompted-secret"}
	r = c.run("", "keys", "add", "--name", "p", "--venue", "binance", "--api-key", "K")
	require.Equal(t, 0, r.code, r.stderr)
	c.prompt = []string{"pass-one-of-twelve"}
	r = c.run("", "keys", "list")
	assert.Contains(t, r.stdout, "p ")
}

func TestKeysPassphraseFile(t *testing.T) {
	c, _ := newCLI(t)
	delete(c.env, "KEYFENCE_PASSPHRASE")
	pf := filepath.Join(t.TempDir(), "pass")
	require.NoError(t, os.WriteFile(pf, []byte("file passphrase\n"), 0o600))
	require.Equal(t, 0, c.run("", "keys", "init", "--passphrase-file", pf).code)
	r := c.run("", "keys", "list", "--passphrase-file", pf)
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, os.Chmod(pf, 0o644))
	r = c.run("", "keys", "list", "--passphrase-file", pf)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "chmod 600")
}

// TestKeysCanary plants a canary secret and API passphrase and checks that
// neither reaches the keystore file, the output or an error.
func TestKeysCanary(t *testing.T) {
	const canary = "CANARY-5f1d2e9a-secret-must-not-leak"
	const canaryPass = "CANARY-pass-7c3b"
	c, path := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	var outputs []string
	r := c.run(canary+"\n"+canaryPass+"\n", "keys", "add", "--name", "kc", "--venue", "kucoin", "--api-key", "PUB")
	require.Equal(t, 0, r.code, r.stderr)
	outputs = append(outputs, r.stdout, r.stderr)
	r = c.run(canary+"\n"+canaryPass+"\n", "keys", "add", "--name", "kc", "--venue", "kucoin", "--api-key", "PUB")
	require.Equal(t, 1, r.code)
	outputs = append(outputs, r.stdout, r.stderr)
	r = c.run(canary+"\n", "keys", "add", "--name", "k2", "--venue", "binance", "--type", "ed25519", "--api-key", "PUB")
	require.Equal(t, 1, r.code, "not base64")
	outputs = append(outputs, r.stdout, r.stderr)
	for _, a := range [][]string{{"keys", "list"}, {"keys", "remove", "--name", "nope"}} {
		r = c.run("", a...)
		outputs = append(outputs, r.stdout, r.stderr)
	}
	file, err := os.ReadFile(path)
	require.NoError(t, err)
	outputs = append(outputs, string(file))
	for _, s := range []string{canary, canaryPass} {
		for _, form := range []string{s, hex.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s))} {
			for _, o := range outputs {
				assert.NotContains(t, o, form)
			}
		}
	}
}

// A new passphrase shorter than MinPassphrase characters is refused at
// init and passwd unless --weak-passphrase accepts it.
func TestKeysWeakPassphrase(t *testing.T) {
	c, path := newCLI(t)
	c.env["KEYFENCE_PASSPHRASE"] = "short pass"
	r := c.run("", "keys", "init")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "--weak-passphrase")
	_, err := os.Stat(path)
	assert.True(t, os.IsNotExist(err), "a refused init must create no keystore")
	require.Equal(t, 0, c.run("", "keys", "init", "--weak-passphrase").code)

	c.env["KEYFENCE_NEW_PASSPHRASE"] = "tiny"
	r = c.run("", "keys", "passwd")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "at least 12")
	assert.Equal(t, 0, c.run("", "keys", "list").code, "the old passphrase still opens it")
	c.env["KEYFENCE_NEW_PASSPHRASE"] = "twelve chars"
	require.Equal(t, 0, c.run("", "keys", "passwd").code)
}

// KEYFENCE_PASSPHRASE set but empty is a mistake named as such, not a
// fallback to the prompt.
func TestKeysEmptyPassphraseVariable(t *testing.T) {
	c, _ := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	c.env["KEYFENCE_PASSPHRASE"] = ""
	c.tty = true
	c.prompt = []string{"correct horse battery staple"}
	r := c.run("", "keys", "list")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "KEYFENCE_PASSPHRASE is set but empty")
	assert.Len(t, c.prompt, 1, "no prompt was shown")
}

// keys add offers only the venues keyfence has a client for.
func TestKeysAddVenuesWithClient(t *testing.T) {
	c, _ := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	r := c.run("secret\n", "keys", "add", "--name", "k", "--venue", "kraken", "--api-key", "PUB")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "binance, coinbase, kucoin")
	for name := range venues {
		_, err := lookupDriver(name)
		assert.NoError(t, err, "venue %s is offered but has no client", name)
	}
}

// A mistyped key name is answered with the names the keystore holds.
func TestKeysMistypedNameListsNames(t *testing.T) {
	c, _ := newCLI(t)
	require.Equal(t, 0, c.run("", "keys", "init").code)
	r := c.run("", "keys", "remove", "--name", "nope")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "holds no keys")
	require.Equal(t, 0, c.run("s1\n", "keys", "add", "--name", "binance-main", "--venue", "binance", "--api-key", "K").code)
	require.Equal(t, 0, c.run("s2\n", "keys", "add", "--name", "binance-alt", "--venue", "binance", "--api-key", "K2").code)
	for _, args := range [][]string{
		{"keys", "remove", "--name", "binance-mian"},
		{"request", "--key", "binance-mian", "--dry-run", "GET", "/api/v3/account"},
	} {
		r = c.run("", args...)
		assert.Equal(t, 1, r.code, "%v", args)
		assert.Contains(t, r.stderr, "the keystore holds: binance-alt, binance-main", "%v", args)
	}
}
