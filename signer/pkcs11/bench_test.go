//go:build cgo

package pkcs11

import (
	"bytes"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

// Signatures per second on SoftHSM2, one at a time and from parallel
// goroutines (GOMAXPROCS of them, over the default session pool).

var benchMsg = []byte("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559")

func benchBackend(b *testing.B, typ signer.KeyType) *Backend {
	b.Helper()
	be := newBackend(b)
	material := bytes.Repeat([]byte{0x42}, 64)
	if typ == signer.KeyEd25519 {
		material = material[:32]
	}
	if _, err := be.Import(b.Context(), signer.KeyInfo{Name: "k", Type: typ}, material, nil); err != nil {
		b.Fatal(err)
	}
	return be
}

func benchSign(b *testing.B, typ signer.KeyType, alg signer.Algorithm) {
	be := benchBackend(b, typ)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := be.Sign(ctx, "k", alg, benchMsg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}

func benchSignParallel(b *testing.B, typ signer.KeyType, alg signer.Algorithm) {
	be := benchBackend(b, typ)
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := be.Sign(ctx, "k", alg, benchMsg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}

func BenchmarkSignHMACSHA256(b *testing.B) { benchSign(b, signer.KeyHMAC, signer.HMACSHA256) }
func BenchmarkSignHMACSHA256Parallel(b *testing.B) {
	benchSignParallel(b, signer.KeyHMAC, signer.HMACSHA256)
}
func BenchmarkSignEd25519(b *testing.B) { benchSign(b, signer.KeyEd25519, signer.Ed25519) }
func BenchmarkSignEd25519Parallel(b *testing.B) {
	benchSignParallel(b, signer.KeyEd25519, signer.Ed25519)
}
