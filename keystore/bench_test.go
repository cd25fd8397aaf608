package keystore

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

const benchEntries = 100_000

// benchDir holds the keystores the benchmarks share within one test
// binary run; TestMain removes it.
var benchDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "keystore-bench-") })

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := benchDir(); err == nil {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// benchFile builds, once per process, a keystore of n entries of type t
// sealed with kdf, in one write.
func benchFile(b *testing.B, name string, n int, t signer.KeyType, kdf KDFParams) string {
	b.Helper()
	dir, err := benchDir()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	ctx := context.Background()
	ks, err := Create(ctx, path, testPass, WithKDFParams(kdf))
	if err != nil {
		b.Fatal(err)
	}
	defer ks.Close()
	err = ks.Update(ctx, func(tx *Tx) error {
		for i := range n {
			seed := make([]byte, 32)
			copy(seed, fmt.Sprintf("bench-secret-%08d", i))
			var material []byte
			if t == signer.KeyHMAC {
				material = []byte(hex.EncodeToString(seed)) // 64 characters, like a venue secret
			} else {
				material = seed // an Ed25519 seed
			}
			e := Entry{Name: fmt.Sprintf("bench-%06d", i), Venue: "binance",
				APIKey: fmt.Sprintf("%064d", i), Type: t}
			if err := tx.Add(e, material, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkKeystoreOpen100k opens a keystore of 100,000 entries with the
// default Argon2id parameters and makes its Signer, and reports the heap
// the open keystore holds per entry.
func BenchmarkKeystoreOpen100k(b *testing.B) {
	path := benchFile(b, "hmac-100k-default.json", benchEntries, signer.KeyHMAC, DefaultKDFParams())
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ks, err := Open(ctx, path, testPass)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc) / benchEntries
	if len(ks.Entries()) != benchEntries {
		b.Fatal("wrong number of entries")
	}
	ks.Close()

	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		ks, err := Open(ctx, path, testPass)
		if err != nil {
			b.Fatal(err)
		}
		_ = ks.Signer()
		ks.Close()
	}
	b.ReportMetric(perEntry, "heap-B/entry")
	b.ReportMetric(float64(fi.Size())/benchEntries, "file-B/entry")
}

// BenchmarkFirstSign measures the first signature with a key: decrypting
// its entry, importing it and signing. Each iteration uses a key not used
// before.
func BenchmarkFirstSign(b *testing.B) {
	cases := []struct {
		name string
		file string
		n    int
		typ  signer.KeyType
		alg  signer.Algorithm
		kdf  KDFParams
	}{
		{"hmac", "hmac-100k-default.json", benchEntries, signer.KeyHMAC, signer.HMACSHA256, DefaultKDFParams()},
		{"ed25519", "ed25519-20k.json", 20_000, signer.KeyEd25519, signer.Ed25519, testKDF},
	}
	msg := []byte("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timestamp=1499827319559")
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			path := benchFile(b, c.file, c.n, c.typ, c.kdf)
			ctx := context.Background()
			var ks *Keystore
			var s *Signer
			next := c.n
			for b.Loop() {
				if next == c.n {
					b.StopTimer()
					if ks != nil {
						ks.Close()
					}
					var err error
					if ks, err = Open(ctx, path, testPass); err != nil {
						b.Fatal(err)
					}
					s, next = ks.Signer(), 0
					b.StartTimer()
				}
				if _, err := s.Sign(ctx, fmt.Sprintf("bench-%06d", next), c.alg, msg); err != nil {
					b.Fatal(err)
				}
				next++
			}
			ks.Close()
		})
	}
}

// BenchmarkSign measures later signatures with a key already unsealed,
// for comparison with BenchmarkFirstSign.
func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	ks, _ := newStore(b, testKDF)
	seed := make([]byte, 32)
	if err := ks.Add(ctx, hmacEntry("h"), []byte(hex.EncodeToString(seed)), nil); err != nil {
		b.Fatal(err)
	}
	if err := ks.Add(ctx, Entry{Name: "e", Venue: "binance", APIKey: "k", Type: signer.KeyEd25519}, ed25519.NewKeyFromSeed(seed).Seed(), nil); err != nil {
		b.Fatal(err)
	}
	s := ks.Signer()
	msg := []byte("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timestamp=1499827319559")
	for _, c := range []struct {
		key string
		alg signer.Algorithm
	}{{"h", signer.HMACSHA256}, {"e", signer.Ed25519}} {
		b.Run(string(c.alg), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Sign(ctx, c.key, c.alg, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
