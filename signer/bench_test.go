package signer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

// benchPayload returns a Binance order query string of exactly 150 bytes,
// the message every HMAC benchmark signs.
func benchPayload() []byte {
	q := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.00150000&price=64250.12000000" +
		"&newClientOrderId=kf-7f3a9c21&recvWindow=5000&timestamp=1732456789123"
	q += strings.Repeat("0", max(0, 150-len(q)))
	return []byte(q[:150])
}

// benchSecret is a 64-character secret shaped like a Binance one; it is
// made up for the benchmark.
const benchSecret = "bench0secret0not0a0real0key0000bench0secret0not0a0real0key00000"

// BenchmarkHMACBaseline is what common exchange clients do per request:
// key a new HMAC, write the payload, sum.
func BenchmarkHMACBaseline(b *testing.B) {
	key, msg := []byte(benchSecret), benchPayload()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		mac := hmac.New(sha256.New, key)
		mac.Write(msg)
		_ = mac.Sum(nil)
	}
}

func benchMemory(b *testing.B) *signer.Memory {
	b.Helper()
	m := signer.NewMemory()
	b.Cleanup(func() { m.Close() })
	if err := m.Import(signer.KeyInfo{Name: "binance", Venue: "binance", Type: signer.KeyHMAC}, []byte(benchSecret), nil); err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkMemorySign signs the baseline's payload through Memory.
func BenchmarkMemorySign(b *testing.B) {
	m, msg, ctx := benchMemory(b), benchPayload(), context.Background()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Sign(ctx, "binance", signer.HMACSHA256, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemorySignHMACSHA512(b *testing.B) {
	m, msg, ctx := benchMemory(b), benchPayload(), context.Background()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Sign(ctx, "binance", signer.HMACSHA512, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemorySignParallel(b *testing.B) {
	m, msg, ctx := benchMemory(b), benchPayload(), context.Background()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Sign(ctx, "binance", signer.HMACSHA256, msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkMemorySignEd25519(b *testing.B) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	benchAsymmetric(b, signer.KeyEd25519, priv.Seed(), signer.Ed25519)
}

func BenchmarkMemorySignES256(b *testing.B) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		b.Fatal(err)
	}
	benchAsymmetric(b, signer.KeyECDSAP256, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), signer.ES256)
}

func benchAsymmetric(b *testing.B, typ signer.KeyType, material []byte, alg signer.Algorithm) {
	m, msg, ctx := signer.NewMemory(), benchPayload(), context.Background()
	b.Cleanup(func() { m.Close() })
	if err := m.Import(signer.KeyInfo{Name: "k", Type: typ}, material, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Sign(ctx, "k", alg, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchPayload(t *testing.T) {
	if p := benchPayload(); len(p) != 150 || !strings.HasPrefix(string(p), "symbol=BTCUSDT&") {
		t.Fatalf("payload has %d bytes: %q", len(p), p)
	}
}
