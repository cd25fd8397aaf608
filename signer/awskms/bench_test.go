package awskms

import (
	"bytes"
	"sync/atomic"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

// benchMsg is the size of a Binance order's query string.
var benchMsg = []byte("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00100000&price=50000.00&recvWindow=5000&timestamp=1700000000000")

// BenchmarkSign signs an order-sized message with HMAC-SHA256 through the
// memory signer (the baseline), local-kms and the KMS fake, and reports
// the KMS requests per signature.
func BenchmarkSign(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		m := signer.NewMemory()
		defer m.Close()
		if err := m.Import(signer.KeyInfo{Name: "k", Type: signer.KeyHMAC}, bytes.Repeat([]byte{7}, 32), nil); err != nil {
			b.Fatal(err)
		}
		benchSign(b, m, "k", nil)
	})
	b.Run("local-kms", func(b *testing.B) {
		k, calls := localKMS(b)
		s := loadSeed(b)
		d, name, err := k.Resolve(b.Context(), uri(localKMSRegion, s.hmacID))
		if err != nil {
			b.Fatal(err)
		}
		benchSign(b, d, name, calls)
	})
	b.Run("fake", func(b *testing.B) {
		k, fake := fakeKMS(b)
		if _, err := k.Import(b.Context(), fakeRegion, signer.KeyInfo{Name: "k", Type: signer.KeyHMAC}, bytes.Repeat([]byte{7}, 32), nil); err != nil {
			b.Fatal(err)
		}
		before := fake.Total()
		benchSign(b, k, "k", nil)
		b.ReportMetric(float64(fake.Total()-before)/float64(b.N), "kms-calls/op")
	})
}

func benchSign(b *testing.B, s signer.Signer, name string, calls *atomic.Int64) {
	ctx := b.Context()
	var before int64
	if calls != nil {
		before = calls.Load()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Sign(ctx, name, signer.HMACSHA256, benchMsg); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if calls != nil {
		b.ReportMetric(float64(calls.Load()-before)/float64(b.N), "kms-calls/op")
	}
}
