//go:build cgo

package pkcs11

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
)

// Tests run against a real SoftHSM2 token that each test creates in its own
// temporary directory.

const (
	testLabel = "keyfence"
	// Canary PINs: they must never appear in errors or logs.
	testPIN   = "canary-user-pin-7c1e94"
	testSOPIN = "canary-so-pin-52d0ab"
)

var softhsmPaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/opt/homebrew/lib/softhsm/libsofthsm2.so",
}

// softhsmLib returns the SoftHSM2 module path, or skips the test (fails it
// when KEYFENCE_REQUIRE_INTEGRATION=1).
func softhsmLib(t testing.TB) string {
	t.Helper()
	candidates := softhsmPaths
	if p := os.Getenv("SOFTHSM2_LIB"); p != "" {
		candidates = []string{p}
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	const msg = "SoftHSM2 not installed: apt-get install softhsm2 (set SOFTHSM2_LIB to the module path)"
	if os.Getenv("KEYFENCE_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// testToken is an initialised SoftHSM2 token in a temporary directory.
type testToken struct {
	lib string
	dir string
}

// newToken writes a SoftHSM2 configuration into a temporary directory,
// points SOFTHSM2_CONF at it and initialises a token labelled "keyfence"
// through the library (C_InitToken, C_InitPIN), so no PIN is put on a
// command line.
func newToken(t testing.TB) *testToken {
	t.Helper()
	lib := softhsmLib(t)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)

	mod, err := loadModule(lib)
	if err != nil {
		t.Fatalf("load SoftHSM2: %v", err)
	}
	defer mod.release()
	p11 := mod.ctx
	slots, err := p11.GetSlotList(false)
	if err != nil {
		t.Fatal(err)
	}
	free := -1
	for _, s := range slots {
		ti, err := p11.GetTokenInfo(s)
		if err == nil && ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			free = int(s)
			break
		}
	}
	if free < 0 {
		t.Fatal("SoftHSM2 offers no free slot")
	}
	if err := p11.InitToken(uint(free), testSOPIN, testLabel); err != nil {
		t.Fatalf("C_InitToken: %v", err)
	}
	// SoftHSM2 renumbers the slot once its token is initialised.
	slot, err := findToken(p11, testLabel, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := p11.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer p11.CloseSession(s)
	if err := p11.Login(s, pkcs11.CKU_SO, testSOPIN); err != nil {
		t.Fatalf("SO login: %v", err)
	}
	if err := p11.InitPIN(s, testPIN); err != nil {
		t.Fatalf("C_InitPIN: %v", err)
	}
	if err := p11.Logout(s); err != nil {
		t.Fatal(err)
	}
	return &testToken{lib: lib, dir: dir}
}

func (tt *testToken) config() Config {
	return Config{Module: tt.lib, Token: testLabel, PIN: signer.NewSecret([]byte(testPIN))}
}

// open opens a backend on the token, closed when the test ends.
func (tt *testToken) open(t testing.TB, mutate ...func(*Config)) *Backend {
	t.Helper()
	cfg := tt.config()
	for _, m := range mutate {
		m(&cfg)
	}
	b, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// newBackend creates a token and opens a backend on it.
func newBackend(t testing.TB) *Backend {
	t.Helper()
	return newToken(t).open(t)
}
