package signer_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/keyfence/keyfence/signer"
)

func TestECDSADERToRawRoundTrip(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("m"))
	for i := range 64 {
		der, err := ecdsa.SignASN1(rand.Reader, k, d[:])
		if err != nil {
			t.Fatal(err)
		}
		raw, err := signer.ECDSADERToRaw(der, 32)
		if err != nil {
			t.Fatalf("%d: ECDSADERToRaw: %v", i, err)
		}
		if len(raw) != 64 {
			t.Fatalf("raw length %d", len(raw))
		}
		back, err := signer.ECDSARawToDER(raw)
		if err != nil {
			t.Fatalf("ECDSARawToDER: %v", err)
		}
		if !bytes.Equal(back, der) {
			t.Fatalf("round trip changed the DER:\n%x\n%x", der, back)
		}
		if !ecdsa.VerifyASN1(&k.PublicKey, d[:], back) {
			t.Fatal("converted signature does not verify")
		}
	}
}

func TestECDSAConversionEdges(t *testing.T) {
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		der  string
		size int
		raw  string // "" when the DER must be refused
	}{
		{"small", "3006020101020102", 2, "00010002"},
		{"high bit", "3008020200ff020200fe", 2, "00ff00fe"},
		{"full", "300a02030080ff02037fffff", 3, "0080ff7fffff"},
		{"zero", "3006020100020100", 1, "0000"},
		{"truncated", "30080203010000", 2, ""},
		{"component too big", "3008020301020302010a", 2, ""},
		{"negative", "30060201ff020101", 2, ""},
		{"trailing data", "300602010102010100", 2, ""},
		{"extra element", "3009020101020101020101", 2, ""},
		{"not a sequence", "3106020101020101", 2, ""},
		{"empty", "", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der := h(tt.der)
			raw, err := signer.ECDSADERToRaw(der, tt.size)
			if tt.raw == "" {
				if err == nil {
					t.Fatalf("accepted %x as %x", der, raw)
				}
				return
			}
			if err != nil {
				t.Fatalf("ECDSADERToRaw: %v", err)
			}
			if !bytes.Equal(raw, h(tt.raw)) {
				t.Fatalf("raw = %x, want %s", raw, tt.raw)
			}
			back, err := signer.ECDSARawToDER(raw)
			if err != nil || !bytes.Equal(back, der) {
				t.Fatalf("ECDSARawToDER = %x, %v; want %x", back, err, der)
			}
		})
	}
	for _, raw := range [][]byte{nil, {1}, {1, 2, 3}} {
		if _, err := signer.ECDSARawToDER(raw); err == nil {
			t.Errorf("ECDSARawToDER accepted %d bytes", len(raw))
		}
	}
}

func FuzzECDSADERToRaw(f *testing.F) {
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, uint8(32))
	f.Add([]byte{0x30, 0x08, 0x02, 0x02, 0x00, 0xff, 0x02, 0x02, 0x00, 0xfe}, uint8(2))
	f.Add([]byte{}, uint8(32))
	f.Fuzz(func(t *testing.T, der []byte, size uint8) {
		n := int(size%66) + 1
		raw, err := signer.ECDSADERToRaw(der, n)
		if err != nil {
			return
		}
		if len(raw) != 2*n {
			t.Fatalf("raw has %d bytes, want %d", len(raw), 2*n)
		}
		back, err := signer.ECDSARawToDER(raw)
		if err != nil {
			t.Fatalf("ECDSARawToDER of accepted raw: %v", err)
		}
		again, err := signer.ECDSADERToRaw(back, n)
		if err != nil || !bytes.Equal(again, raw) {
			t.Fatalf("raw -> DER -> raw changed: %x -> %x (%v)", raw, again, err)
		}
	})
}

func FuzzECDSARawToDER(f *testing.F) {
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Add(make([]byte, 64))
	f.Add([]byte{0, 1, 0x80, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		der, err := signer.ECDSARawToDER(raw)
		if len(raw) == 0 || len(raw)%2 != 0 {
			if err == nil {
				t.Fatal("accepted a raw signature of odd or zero length")
			}
			return
		}
		if err != nil {
			t.Fatalf("ECDSARawToDER: %v", err)
		}
		back, err := signer.ECDSADERToRaw(der, len(raw)/2)
		if err != nil || !bytes.Equal(back, raw) {
			t.Fatalf("raw -> DER -> raw: %x -> %x (%v)", raw, back, err)
		}
	})
}
