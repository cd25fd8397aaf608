package signer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/signertest"
)

// memoryHarness makes Memory backends for the conformance suite.
func memoryHarness(_ context.Context, t *testing.T, keys []signertest.Key) (signer.Signer, func(), error) {
	m := signer.NewMemory()
	for _, k := range keys {
		if err := m.Import(k.Info, k.Material, k.Passphrase); err != nil {
			return nil, nil, err
		}
		signer.Wipe(k.Material)
		signer.Wipe(k.Passphrase)
	}
	return m, func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}, nil
}

func TestMemoryConformance(t *testing.T) {
	signertest.Run(t, signertest.HarnessFunc(memoryHarness))
}

// TestConformanceSkipsUnsupportedKeys runs the suite against a backend that
// refuses short HMAC keys, as SoftHSM does, to check that the suite skips
// only the vectors that need them.
func TestConformanceSkipsUnsupportedKeys(t *testing.T) {
	var refused []string
	var mu sync.Mutex
	h := signertest.HarnessFunc(func(ctx context.Context, t *testing.T, keys []signertest.Key) (signer.Signer, func(), error) {
		for _, k := range keys {
			if k.Info.Type == signer.KeyHMAC && len(k.Material) < 32 {
				mu.Lock()
				refused = append(refused, k.Info.Name)
				mu.Unlock()
				return nil, nil, signertest.Unsupported(k.Info.Name, "HMAC keys shorter than 32 bytes are refused")
			}
		}
		return memoryHarness(ctx, t, keys)
	})
	t.Run("suite", func(t *testing.T) { signertest.Run(t, h) })
	want := map[string]bool{"rfc4231-1": true, "rfc4231-2": true, "rfc4231-3": true, "rfc4231-4": true, "rfc4231-5": true, "kucoin": true}
	got := map[string]bool{}
	for _, n := range refused {
		got[n] = true
	}
	for n := range want {
		if !got[n] {
			t.Errorf("the suite did not offer the short key %q", n)
		}
	}
	var ue *signertest.UnsupportedError
	err := signertest.Unsupported("k", "why")
	if !errors.Is(err, signertest.ErrUnsupported) || !errors.As(err, &ue) || ue.Key != "k" {
		t.Fatalf("Unsupported = %v, want an *UnsupportedError matching ErrUnsupported", err)
	}
}

func ecdsaPEM(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func TestMemoryImport(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	tests := []struct {
		name     string
		info     signer.KeyInfo
		material []byte
		want     error
	}{
		{"hmac", signer.KeyInfo{Name: "a", Type: signer.KeyHMAC}, []byte("k"), nil},
		{"ed25519", signer.KeyInfo{Name: "a", Type: signer.KeyEd25519}, seed, nil},
		{"ecdsa sec1", signer.KeyInfo{Name: "a", Type: signer.KeyECDSAP256}, ecdsaPEM(t), nil},
		{"empty name", signer.KeyInfo{Type: signer.KeyHMAC}, []byte("k"), signer.ErrInvalidKey},
		{"empty hmac", signer.KeyInfo{Name: "a", Type: signer.KeyHMAC}, nil, signer.ErrInvalidKey},
		{"unknown type", signer.KeyInfo{Name: "a", Type: "dsa"}, []byte("k"), signer.ErrInvalidKey},
		{"bad ed25519", signer.KeyInfo{Name: "a", Type: signer.KeyEd25519}, []byte("short"), signer.ErrInvalidKey},
		{"ecdsa as rsa", signer.KeyInfo{Name: "a", Type: signer.KeyRSA}, ecdsaPEM(t), signer.ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := signer.NewMemory()
			defer m.Close()
			err := m.Import(tt.info, tt.material, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Import = %v, want %v", err, tt.want)
			}
			if err != nil {
				var ke *signer.KeyError
				if !errors.As(err, &ke) || ke.Op != "import" {
					t.Fatalf("Import error %v is not a *KeyError for op import", err)
				}
				return
			}
			info, err := m.Info(context.Background(), "a")
			if err != nil {
				t.Fatal(err)
			}
			if info.Backend != "memory" || info.Type != tt.info.Type {
				t.Fatalf("Info = %+v", info)
			}
		})
	}
}

func TestMemoryImportCopiesMaterial(t *testing.T) {
	m := signer.NewMemory()
	defer m.Close()
	material := []byte("secret")
	pass := []byte("pass")
	if err := m.Import(signer.KeyInfo{Name: "a", Type: signer.KeyHMAC}, material, pass); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, err := m.Sign(ctx, "a", signer.HMACSHA256, []byte("m"))
	if err != nil {
		t.Fatal(err)
	}
	pBefore, err := m.SignPassphrase(ctx, "a", signer.HMACSHA256)
	if err != nil {
		t.Fatal(err)
	}
	signer.Wipe(material)
	signer.Wipe(pass)
	after, _ := m.Sign(ctx, "a", signer.HMACSHA256, []byte("m"))
	pAfter, _ := m.SignPassphrase(ctx, "a", signer.HMACSHA256)
	if string(before) != string(after) || string(pBefore) != string(pAfter) {
		t.Fatal("wiping the caller's copies changed the imported key")
	}
}

func TestMemoryDuplicate(t *testing.T) {
	m := signer.NewMemory()
	defer m.Close()
	info := signer.KeyInfo{Name: "a", Type: signer.KeyHMAC}
	if err := m.Import(info, []byte("one"), nil); err != nil {
		t.Fatal(err)
	}
	want, _ := m.Sign(context.Background(), "a", signer.HMACSHA256, []byte("m"))
	if err := m.Import(info, []byte("two"), nil); !errors.Is(err, signer.ErrDuplicateKey) {
		t.Fatalf("second Import = %v, want ErrDuplicateKey", err)
	}
	got, _ := m.Sign(context.Background(), "a", signer.HMACSHA256, []byte("m"))
	if string(got) != string(want) {
		t.Fatal("a refused duplicate replaced the first key")
	}
}

func TestMemoryRemove(t *testing.T) {
	m := signer.NewMemory()
	defer m.Close()
	ctx := context.Background()
	if err := m.Import(signer.KeyInfo{Name: "a", Type: signer.KeyHMAC}, []byte("k"), nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Import(signer.KeyInfo{Name: "b", Type: signer.KeyEd25519}, make([]byte, 32), nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove("a"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := m.Sign(ctx, "a", signer.HMACSHA256, nil); !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("Sign after Remove = %v, want ErrKeyNotFound", err)
	}
	if err := m.Remove("a"); !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("second Remove = %v, want ErrKeyNotFound", err)
	}
	if _, err := m.Sign(ctx, "b", signer.Ed25519, nil); err != nil {
		t.Fatalf("other key after Remove: %v", err)
	}
	// The name can be used again.
	if err := m.Import(signer.KeyInfo{Name: "a", Type: signer.KeyHMAC}, []byte("k2"), nil); err != nil {
		t.Fatalf("Import after Remove: %v", err)
	}
	keys, err := m.Keys(ctx)
	if err != nil || len(keys) != 2 || keys[0].Name != "a" || keys[1].Name != "b" {
		t.Fatalf("Keys = %v, %v; want a, b", keys, err)
	}
}

func TestMemoryClose(t *testing.T) {
	m := signer.NewMemory()
	ctx := context.Background()
	if err := m.Import(signer.KeyInfo{Name: "a", Type: signer.KeyHMAC}, []byte("k"), []byte("p")); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := m.Sign(ctx, "a", signer.HMACSHA256, nil); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("Sign after Close = %v, want ErrClosed", err)
	}
	if _, err := m.Info(ctx, "a"); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("Info after Close = %v, want ErrClosed", err)
	}
	if _, err := m.SignPassphrase(ctx, "a", signer.HMACSHA256); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("SignPassphrase after Close = %v, want ErrClosed", err)
	}
	if _, err := m.Keys(ctx); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("Keys after Close = %v, want ErrClosed", err)
	}
	if err := m.Import(signer.KeyInfo{Name: "b", Type: signer.KeyHMAC}, []byte("k"), nil); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("Import after Close = %v, want ErrClosed", err)
	}
	if err := m.Remove("a"); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("Remove after Close = %v, want ErrClosed", err)
	}
}

// TestMemoryRemoveWhileSigning races Remove and Close against signers; run
// it with -race. Every signature is either correct or ErrKeyNotFound or
// ErrClosed.
func TestMemoryRemoveWhileSigning(t *testing.T) {
	m := signer.NewMemory()
	ctx := context.Background()
	for _, n := range []string{"h", "e"} {
		typ, material := signer.KeyHMAC, []byte("key")
		if n == "e" {
			typ, material = signer.KeyEd25519, make([]byte, 32)
		}
		if err := m.Import(signer.KeyInfo{Name: n, Type: typ}, material, nil); err != nil {
			t.Fatal(err)
		}
	}
	wantH, _ := m.Sign(ctx, "h", signer.HMACSHA256, []byte("m"))
	wantE, _ := m.Sign(ctx, "e", signer.Ed25519, []byte("m"))
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			<-start
			for range 50 {
				name, alg, want := "h", signer.HMACSHA256, wantH
				if g%2 == 1 {
					name, alg, want = "e", signer.Ed25519, wantE
				}
				got, err := m.Sign(ctx, name, alg, []byte("m"))
				switch {
				case errors.Is(err, signer.ErrKeyNotFound), errors.Is(err, signer.ErrClosed):
				case err != nil:
					errs <- err
					return
				case string(got) != string(want):
					errs <- errors.New("wrong signature while removing")
					return
				}
			}
		})
	}
	close(start)
	if err := m.Remove("h"); err != nil {
		t.Error(err)
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
