package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// plainByte is the definition plainLen implements: the bytes encoding/json
// copies as they are with HTML escaping on.
func plainByte(b byte) bool {
	return b >= 0x20 && b < 0x80 && !strings.ContainsRune(`"\<>&`, rune(b))
}

func slowPlainLen(s string) int {
	i := 0
	for i < len(s) && plainByte(s[i]) {
		i++
	}
	return i
}

// TestPlainLen puts every byte value at every position of strings of
// every length up to 40, on plain backgrounds and after a byte with the
// high bit set, and compares plainLen with the byte-by-byte definition.
func TestPlainLen(t *testing.T) {
	backgrounds := []byte{'a', ' ', '~', 0x7f, '='}
	for n := 0; n <= 40; n++ {
		for _, bg := range backgrounds {
			base := []byte(strings.Repeat(string(bg), n))
			for p := 0; p < n; p++ {
				for v := range 256 {
					s := append([]byte(nil), base...)
					s[p] = byte(v)
					checkPlainLen(t, string(s))
					if p+1 < n {
						// A second byte to escape after the first, and
						// a byte with the high bit set before it.
						s[p+1] = '"'
						checkPlainLen(t, string(s))
						s[p+1] = bg
						s[p], s[p+1] = 0xc3, byte(v)
						checkPlainLen(t, string(s))
					}
				}
			}
			checkPlainLen(t, string(base))
		}
	}
	for _, s := range oddStrings {
		checkPlainLen(t, s)
		checkPlainLen(t, strings.Repeat("0123456789abcdef", 4)+s)
	}
}

func checkPlainLen(t *testing.T, s string) {
	t.Helper()
	if got, want := plainLen(s), slowPlainLen(s); got != want {
		t.Fatalf("plainLen(%q) = %d, want %d", s, got, want)
	}
}

// TestPlainMask checks plainMask on every byte value in every position
// of a word of plain bytes.
func TestPlainMask(t *testing.T) {
	for v := range 256 {
		for i := range 8 {
			w := uint64(0x6161616161616161)&^(0xff<<(8*i)) | uint64(v)<<(8*i)
			m := plainMask(w)
			if plainByte(byte(v)) != (m == allPlain) {
				t.Fatalf("plainMask(%#x) = %#x: byte %#x at %d", w, m, v, i)
			}
			if m != allPlain && firstNotPlain(m) != i {
				t.Fatalf("firstNotPlain(plainMask(%#x)) = %d, want %d", w, firstNotPlain(m), i)
			}
		}
	}
}

// TestHexSum holds hexSum to hex.Encode on sums with every byte value in
// every position.
func TestHexSum(t *testing.T) {
	for v := range 256 {
		for i := range sha256.Size {
			var sum [sha256.Size]byte
			for j := range sum {
				sum[j] = byte(v*7 + j*31)
			}
			sum[i] = byte(v)
			var got [2 * sha256.Size]byte
			hexSum(&got, &sum)
			if want := hex.EncodeToString(sum[:]); string(got[:]) != want {
				t.Fatalf("hexSum(%x) = %s", sum, got)
			}
		}
	}
}

// TestRoughPlainMask checks that roughPlainMask never passes a byte
// below 0x80 that plainMask does not, in every position of a word.
func TestRoughPlainMask(t *testing.T) {
	for v := range 0x80 {
		for i := range 8 {
			w := uint64(0x6161616161616161)&^(0xff<<(8*i)) | uint64(v)<<(8*i)
			if !plainByte(byte(v)) && roughPlainMask(w)&allPlain == allPlain {
				t.Fatalf("roughPlainMask(%#x) passes byte %#x at %d", w, v, i)
			}
		}
	}
}
