//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
)

// TestReopenByURI: a keystore keeps the URI and the metadata; a new process
// opens the token from the URI and the PIN and registers the metadata.
func TestReopenByURI(t *testing.T) {
	tok := newToken(t)
	ctx := t.Context()
	b := tok.open(t)
	secret := []byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")
	info := signer.KeyInfo{Name: "binance-main", Venue: "binance", APIKey: "vmPUZE6mv9SD5VNH", Type: signer.KeyHMAC}
	imp, err := b.Import(ctx, info, secret, nil, signer.HMACSHA256)
	if err != nil {
		t.Fatal(err)
	}
	edImp, err := b.Generate(ctx, signer.KeyInfo{Name: "binance-ed", Venue: "binance", APIKey: "ed-api", Type: signer.KeyEd25519})
	if err != nil {
		t.Fatal(err)
	}
	edInfo, err := b.Info(ctx, "binance-ed")
	if err != nil {
		t.Fatal(err)
	}
	if u, err := b.KeyURI(ctx, "binance-main"); err != nil || u.String() != imp.URI.String() {
		t.Fatalf("KeyURI = %v, %v; want %s", u, err, imp.URI)
	}
	stored := imp.URI.String()
	if !strings.HasPrefix(stored, "pkcs11:token=keyfence;object=binance-main;id=%") ||
		!strings.Contains(stored, ";type=secret-key?module-path="+tok.lib) {
		t.Fatalf("URI = %s", stored)
	}
	b.Close()

	u, err := ParseURI(stored)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := OpenURI(ctx, u, signer.NewSecret([]byte(testPIN)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b2.Close() })

	// Before registration the token alone describes the key.
	bare, err := b2.Info(ctx, "binance-ed")
	if err != nil {
		t.Fatal(err)
	}
	if bare.Venue != "" || bare.Type != signer.KeyEd25519 || !edInfo.Public.(ed25519.PublicKey).Equal(bare.Public) {
		t.Fatalf("unregistered Info = %+v", bare)
	}

	if err := b2.Register(ctx, info, u); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if err := b2.Register(ctx, signer.KeyInfo{Name: "binance-ed", Venue: "binance", APIKey: "ed-api"}, edImp.URI); err != nil {
		t.Fatalf("Register without a type: %v", err)
	}
	got, err := b2.Info(ctx, "binance-main")
	if err != nil {
		t.Fatal(err)
	}
	want := info
	want.Backend = BackendName
	if !equalInfo(got, want) {
		t.Fatalf("Info = %+v, want %+v", got, want)
	}
	mac, err := b2.Sign(ctx, "binance-main", signer.HMACSHA256, []byte("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%x", mac) != "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71" {
		t.Fatalf("Binance signature after reopening = %x", mac)
	}
	keys, err := b2.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Name != "binance-ed" || keys[0].APIKey != "ed-api" || keys[1].Name != "binance-main" || keys[1].APIKey != info.APIKey {
		t.Fatalf("Keys = %+v", keys)
	}

	registerErrs := []struct {
		name string
		info signer.KeyInfo
		uri  string
		want error
	}{
		{"twice", info, stored, signer.ErrDuplicateKey},
		{"wrong type", signer.KeyInfo{Name: "binance-ed", Type: signer.KeyRSA}, "pkcs11:object=binance-ed", signer.ErrInvalidKey},
		{"absent", signer.KeyInfo{Name: "nope"}, "pkcs11:object=nope", signer.ErrKeyNotFound},
		{"other label", signer.KeyInfo{Name: "alias"}, "pkcs11:object=binance-main", signer.ErrInvalidKey},
		{"other token", signer.KeyInfo{Name: "binance-main"}, "pkcs11:token=other;object=binance-main", signer.ErrInvalidKey},
		{"public object", signer.KeyInfo{Name: "binance-ed"}, "pkcs11:object=binance-ed;type=public", signer.ErrInvalidKey},
		{"empty name", signer.KeyInfo{}, "pkcs11:", signer.ErrInvalidKey},
	}
	for _, tt := range registerErrs {
		t.Run("Register/"+tt.name, func(t *testing.T) {
			u, err := ParseURI(tt.uri)
			if err != nil {
				t.Fatal(err)
			}
			if err := b2.Register(ctx, tt.info, u); !errors.Is(err, tt.want) {
				t.Fatalf("Register = %v, want %v", err, tt.want)
			}
		})
	}

	if err := b2.Delete(ctx, "binance-main"); err != nil {
		t.Fatal(err)
	}
	assertNoObjects(t, b2, "binance-main")
	if _, err := b2.Sign(ctx, "binance-main", signer.HMACSHA256, nil); !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("Sign after Delete = %v, want ErrKeyNotFound", err)
	}
	if keys, _ := b2.Keys(ctx); len(keys) != 1 {
		t.Fatalf("Keys after Delete = %+v", keys)
	}
}

func equalInfo(a, b signer.KeyInfo) bool {
	return a.Name == b.Name && a.Venue == b.Venue && a.APIKey == b.APIKey && a.Type == b.Type &&
		a.Backend == b.Backend && a.HasPassphrase == b.HasPassphrase && a.Public == nil && b.Public == nil
}

func TestOpenErrors(t *testing.T) {
	tok := newToken(t)
	ctx := t.Context()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   error
	}{
		{"wrong PIN", func(c *Config) { c.PIN = signer.NewSecret([]byte("wrong-pin-1234")) }, ErrLogin},
		{"no PIN", func(c *Config) { c.PIN = nil }, ErrLogin},
		{"closed PIN", func(c *Config) { c.PIN = signer.NewSecret(nil) }, ErrLogin},
		{"no token", func(c *Config) { c.Token = "" }, ErrTokenNotFound},
		{"other token", func(c *Config) { c.Token = "other" }, ErrTokenNotFound},
		{"other serial", func(c *Config) { c.Serial = "0000" }, ErrTokenNotFound},
		{"no module", func(c *Config) { c.Module = "" }, ErrModule},
		{"bad module", func(c *Config) { c.Module = tok.dir + "/softhsm2.conf" }, ErrModule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tok.config()
			tt.mutate(&cfg)
			b, err := Open(ctx, cfg)
			if !errors.Is(err, tt.want) {
				if b != nil {
					b.Close()
				}
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Open(cctx, tok.config()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context = %v", err)
	}
	// The failed opens released the module: a good open still works.
	b := tok.open(t)
	if _, err := b.Keys(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSignErrors(t *testing.T) {
	tok := newToken(t)
	ctx := t.Context()
	b := tok.open(t)
	if _, err := b.Import(ctx, signer.KeyInfo{Name: "h", Type: signer.KeyHMAC}, make([]byte, 64), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Import(ctx, signer.KeyInfo{Name: "h", Type: signer.KeyHMAC}, make([]byte, 64), nil); !errors.Is(err, signer.ErrDuplicateKey) {
		t.Fatalf("second Import = %v, want ErrDuplicateKey", err)
	}
	// Another backend on the same token sees the object and refuses too.
	other := tok.open(t)
	if _, err := other.Import(ctx, signer.KeyInfo{Name: "h", Type: signer.KeyEd25519}, make([]byte, 32), nil); !errors.Is(err, signer.ErrDuplicateKey) {
		t.Fatalf("Import over another backend's key = %v, want ErrDuplicateKey", err)
	}
	if _, err := b.Sign(ctx, "missing", signer.HMACSHA256, nil); !errors.Is(err, signer.ErrKeyNotFound) || !strings.Contains(err.Error(), `"missing"`) {
		t.Fatalf("Sign of a missing key = %v", err)
	}
	if _, err := b.Sign(ctx, "h", signer.Ed25519, nil); !errors.Is(err, signer.ErrWrongAlgorithm) {
		t.Fatalf("Sign Ed25519 with an HMAC key = %v", err)
	}
	if _, err := b.Sign(ctx, "h", "HMAC-MD5", nil); !errors.Is(err, signer.ErrWrongAlgorithm) {
		t.Fatalf("Sign with an unknown algorithm = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Sign(cctx, "h", signer.HMACSHA256, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sign with a cancelled context = %v", err)
	}
	// An object keyfence cannot sign with (an AES key) is neither listed
	// nor used.
	err := b.withSession(ctx, func(s pkcs11.SessionHandle) error {
		tmpl := append(baseAttrs(pkcs11.CKO_SECRET_KEY, pkcs11.CKK_AES, "aes", []byte{1}), secretAttrs()...)
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_VALUE, make([]byte, 32)))
		_, err := b.mod.ctx.CreateObject(s, tmpl)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := b.Keys(ctx); err != nil || len(keys) != 1 || keys[0].Name != "h" {
		t.Fatalf("Keys = %+v, %v; want only h", keys, err)
	}
	if _, err := b.Sign(ctx, "aes", signer.HMACSHA256, nil); !errors.Is(err, ErrUnsupportedKey) {
		t.Fatalf("Sign with an AES key = %v, want ErrUnsupportedKey", err)
	}
	// A stale cached handle is found again.
	k, _ := b.lookup(ctx, "test", "h")
	k.handle.Store(0xdead)
	if _, err := b.Sign(ctx, "h", signer.HMACSHA256, []byte("x")); err != nil {
		t.Fatalf("Sign with a stale handle: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := b.Sign(ctx, "h", signer.HMACSHA256, nil); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("Sign after Close = %v", err)
	}
	if _, err := b.Keys(ctx); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("Keys after Close = %v", err)
	}
	// Closing one backend leaves the other, on the same module, working.
	if _, err := other.Sign(ctx, "h", signer.HMACSHA256, []byte("x")); err != nil {
		t.Fatalf("Sign on the other backend: %v", err)
	}
}

// TestConcurrentSign signs from 64 goroutines through a pool of 4 sessions.
func TestConcurrentSign(t *testing.T) {
	tok := newToken(t)
	ctx := t.Context()
	b := tok.open(t, func(c *Config) { c.MaxSessions = 4 })
	secret := bytes.Repeat([]byte("s"), 64)
	if _, err := b.Import(ctx, signer.KeyInfo{Name: "h", Type: signer.KeyHMAC}, secret, nil); err != nil {
		t.Fatal(err)
	}
	seed := bytes.Repeat([]byte{3}, 32)
	if _, err := b.Import(ctx, signer.KeyInfo{Name: "ed", Type: signer.KeyEd25519}, seed, nil); err != nil {
		t.Fatal(err)
	}
	edKey := ed25519.NewKeyFromSeed(seed)
	const workers, each = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				msg := fmt.Appendf(nil, "worker=%d&i=%d", w, i)
				var want []byte
				name, alg := "h", signer.HMACSHA256
				if (w+i)%2 == 0 {
					name, alg = "ed", signer.Ed25519
					want = ed25519.Sign(edKey, msg)
				} else {
					m := hmac.New(sha256.New, secret)
					m.Write(msg)
					want = m.Sum(nil)
				}
				got, err := b.Sign(ctx, name, alg, msg)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, want) {
					errs <- fmt.Errorf("worker %d: wrong %s for %q", w, alg, msg)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(b.pool.slots); n > 4 {
		t.Fatalf("%d sessions open, want at most 4", n)
	}
}

// TestPool: the pool waits for a free session, honours the context, and
// replaces a session that went bad.
func TestPool(t *testing.T) {
	b := newToken(t).open(t, func(c *Config) { c.MaxSessions = 1 })
	ctx := t.Context()
	if _, err := b.Import(ctx, signer.KeyInfo{Name: "h", Type: signer.KeyHMAC}, make([]byte, 32), nil); err != nil {
		t.Fatal(err)
	}
	s, err := b.pool.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.pool.get(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("get with every session busy and a cancelled context = %v", err)
	}
	// A Sign waits for the busy session and gets it once it is back.
	done := make(chan error)
	go func() {
		_, err := b.Sign(ctx, "h", signer.HMACSHA256, []byte("x"))
		done <- err
	}()
	b.pool.put(s, nil)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A session reported dead is closed and replaced; the new one is
	// logged in, so signing still works.
	s, err = b.pool.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.pool.put(s, pkcs11.Error(pkcs11.CKR_SESSION_HANDLE_INVALID))
	if _, err := b.mod.ctx.GetSessionInfo(s); rv(err) != pkcs11.CKR_SESSION_HANDLE_INVALID {
		t.Fatalf("the discarded session is still open: %v", err)
	}
	if _, err := b.Sign(ctx, "h", signer.HMACSHA256, []byte("x")); err != nil {
		t.Fatalf("Sign on a replacement session: %v", err)
	}
}

// TestCanary: neither the PIN nor key material shows in errors, logs,
// fmt or JSON output.
func TestCanary(t *testing.T) {
	tok := newToken(t)
	ctx := t.Context()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const secretCanary = "canary-hmac-secret-d41f" // 23 bytes: too short for SoftHSM2
	const passCanary = "canary-passphrase-0be2"
	var out []string
	record := func(v ...any) {
		for _, x := range v {
			out = append(out, fmt.Sprintf("%v|%+v|%#v", x, x, x))
			if j, err := json.Marshal(x); err == nil {
				out = append(out, string(j))
			}
		}
	}

	bad := tok.config()
	bad.PIN = signer.NewSecret([]byte(testPIN + "-wrong"))
	bad.Logger = logger
	_, err := Open(ctx, bad)
	if !errors.Is(err, ErrLogin) {
		t.Fatalf("Open with a wrong PIN = %v", err)
	}
	record(err, bad)

	b := tok.open(t, func(c *Config) { c.Logger = logger })
	record(b)
	_, err = b.Import(ctx, signer.KeyInfo{Name: "short", Type: signer.KeyHMAC}, []byte(secretCanary), []byte(passCanary))
	if !errors.Is(err, ErrUnsupportedKey) {
		t.Fatalf("Import of a short key = %v", err)
	}
	record(err)
	long := []byte(secretCanary + secretCanary + secretCanary)
	if _, err := b.Import(ctx, signer.KeyInfo{Name: "ok", Type: signer.KeyHMAC}, long, []byte(passCanary)); err != nil {
		t.Fatal(err)
	}
	_, err = b.Import(ctx, signer.KeyInfo{Name: "ok", Type: signer.KeyHMAC}, long, []byte(passCanary))
	record(err)
	_, err = b.Sign(ctx, "ok", signer.HMACSHA512, nil)
	record(err)
	info, _ := b.Info(ctx, "ok")
	keys, _ := b.Keys(ctx)
	uri, _ := b.KeyURI(ctx, "ok")
	record(info, keys, uri, uri.String(), b)
	_, err = ParseURI("pkcs11:token=keyfence?pin-value=" + testPIN)
	record(err)
	out = append(out, logs.String())

	all := strings.Join(out, "\n")
	for _, c := range []string{testPIN, testSOPIN, secretCanary, passCanary} {
		if strings.Contains(all, c) {
			t.Fatalf("canary %q leaked into:\n%s", c, all)
		}
	}
	if !slices.ContainsFunc(out, func(s string) bool { return strings.Contains(s, "key created") }) {
		t.Fatal("the log recorded nothing: the canary check saw no log output")
	}
}
