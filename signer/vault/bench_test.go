package vault

import (
	"bytes"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

var benchMsg = []byte("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00100000&price=50000.00&recvWindow=5000&timestamp=1700000000000")

// BenchmarkSign signs an order-sized message with HMAC-SHA256 through the
// memory signer (the baseline) and the Vault fake over loopback HTTP, and
// reports the Vault requests per signature.
func BenchmarkSign(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		m := signer.NewMemory()
		defer m.Close()
		if err := m.Import(signer.KeyInfo{Name: "k", Type: signer.KeyHMAC}, bytes.Repeat([]byte{7}, 32), nil); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Sign(b.Context(), "k", signer.HMACSHA256, benchMsg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fake", func(b *testing.B) {
		srv := fakeVault(b)
		v := newBackend(b, srv)
		if _, err := v.Import(b.Context(), newKeyURI(), signer.KeyInfo{Name: "k", Type: signer.KeyHMAC}, bytes.Repeat([]byte{7}, 32), nil); err != nil {
			b.Fatal(err)
		}
		before := srv.Total()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := v.Sign(b.Context(), "k", signer.HMACSHA256, benchMsg); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(srv.Total()-before)/float64(b.N), "vault-requests/op")
	})
}
