//go:build cgo

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	cliTokenLabel = "kfcli"
	cliUserPIN    = "canary-cli-user-pin-41d9"
	cliSOPIN      = "canary-cli-so-pin-07be"
)

// softHSMToken initialises a SoftHSM2 token labelled kfcli in a temporary
// directory, through the library (no PIN on a command line), and returns
// the library's path. It skips without SoftHSM2, and fails instead under
// KEYFENCE_REQUIRE_INTEGRATION=1.
func softHSMToken(t *testing.T) string {
	t.Helper()
	var lib string
	for _, p := range []string{os.Getenv("SOFTHSM2_LIB"), "/usr/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/local/lib/softhsm/libsofthsm2.so"} {
		if _, err := os.Stat(p); p != "" && err == nil {
			lib = p
			break
		}
	}
	if lib == "" {
		const msg = "SoftHSM2 not installed: apt-get install softhsm2 (set SOFTHSM2_LIB to the module path)"
		if os.Getenv("KEYFENCE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "tokens"), 0o700))
	conf := filepath.Join(dir, "softhsm2.conf")
	require.NoError(t, os.WriteFile(conf, []byte("directories.tokendir = "+filepath.Join(dir, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"), 0o600))
	t.Setenv("SOFTHSM2_CONF", conf)
	p := pkcs11.New(lib)
	require.NotNil(t, p)
	defer p.Destroy()
	require.NoError(t, p.Initialize())
	defer p.Finalize()
	slots, err := p.GetSlotList(false)
	require.NoError(t, err)
	require.NotEmpty(t, slots)
	require.NoError(t, p.InitToken(slots[0], cliSOPIN, cliTokenLabel))
	slots, err = p.GetSlotList(true)
	require.NoError(t, err)
	var slot uint
	found := false
	for _, s := range slots {
		if ti, err := p.GetTokenInfo(s); err == nil && ti.Label == cliTokenLabel {
			slot, found = s, true
		}
	}
	require.True(t, found)
	s, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	require.NoError(t, err)
	defer p.CloseSession(s)
	require.NoError(t, p.Login(s, pkcs11.CKU_SO, cliSOPIN))
	require.NoError(t, p.InitPIN(s, cliUserPIN))
	require.NoError(t, p.Logout(s))
	return lib
}

// TestKeysAddPKCS11 puts a Binance secret into an HSM (SoftHSM2) from the
// CLI, which links the cgo backend now that it is its own module, and
// signs through the token.
func TestKeysAddPKCS11(t *testing.T) {
	lib := softHSMToken(t)
	c, path := newCLI(t)
	c.env["KEYFENCE_PKCS11_PIN"] = cliUserPIN
	require.Equal(t, 0, c.run("", "keys", "init").code)
	uri := "pkcs11:token=" + cliTokenLabel + ";object=binance-main?module-path=" + lib
	r := c.run(docSecret+"\n", "keys", "add", "--name", "bn", "--venue", "binance", "--api-key", docAPIKey,
		"--backend", "pkcs11", "--import", "--key-uri", uri)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "PKCS#11 token")
	assert.NotContains(t, string(readFileT(t, path)), docSecret)

	r = c.run("", "keys", "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "pkcs11")

	r = c.run("", "request", "--key", "bn", "--dry-run", "--timestamp", docTS, "GET", "/api/v3/account", "omitZeroBalances=true")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "signature="+hexMAC(docSecret, "omitZeroBalances=true&timestamp="+docTS), "the token signs with the imported secret")
	assert.NotContains(t, r.stdout+r.stderr, cliUserPIN)

	// A second entry referring to the same object, and one of the wrong type.
	r = c.run("", "keys", "add", "--name", "bn2", "--venue", "binance", "--api-key", "k2", "--backend", "pkcs11", "--key-uri", uri)
	require.Equal(t, 0, r.code, r.stderr)
	r = c.run("", "keys", "add", "--name", "bad", "--venue", "binance", "--api-key", "k3", "--type", "ed25519", "--backend", "pkcs11", "--key-uri", uri)
	assert.Equal(t, 1, r.code)

	delete(c.env, "KEYFENCE_PKCS11_PIN")
	r = c.run("", "request", "--key", "bn", "--dry-run", "GET", "/api/v3/account")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "KEYFENCE_PKCS11_PIN")
}
