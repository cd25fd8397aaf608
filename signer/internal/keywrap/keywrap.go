// Package keywrap is AES Key Wrap with Padding (RFC 5649) and the
// RSA-OAEP-SHA256-around-AES-KWP envelope that AWS KMS
// (RSA_AES_KEY_WRAP_SHA_256) and Vault Transit imports take: an ephemeral
// AES-256 key encrypted with RSA-OAEP-SHA256 under the service's wrapping
// key, followed by the key material wrapped with KWP under that AES key.
package keywrap

import (
	"crypto/aes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// ErrUnwrap: the ciphertext does not unwrap under the key (wrong key,
// damaged or truncated input).
var ErrUnwrap = errors.New("keywrap: the wrapped key does not unwrap")

// aiv is the alternative initial value's constant half (RFC 5649 section 3).
const aiv = 0xA65959A6

// Wrap wraps plaintext (1 to 2^32-1 bytes) under kek (16, 24 or 32 bytes).
func Wrap(kek, plaintext []byte) ([]byte, error) {
	if len(plaintext) == 0 || uint64(len(plaintext)) > 1<<32-1 {
		return nil, errors.New("keywrap: plaintext must be 1 to 2^32-1 bytes")
	}
	c, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := (len(plaintext) + 7) / 8
	out := make([]byte, 8+8*n)
	binary.BigEndian.PutUint32(out[0:4], aiv)
	binary.BigEndian.PutUint32(out[4:8], uint32(len(plaintext)))
	copy(out[8:], plaintext)
	if n == 1 {
		c.Encrypt(out, out)
		return out, nil
	}
	var b [16]byte
	for j := 0; j < 6; j++ {
		for i := 1; i <= n; i++ {
			copy(b[:8], out[:8])
			copy(b[8:], out[8*i:8*i+8])
			c.Encrypt(b[:], b[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(out[:8], binary.BigEndian.Uint64(b[:8])^t)
			copy(out[8*i:8*i+8], b[8:])
		}
	}
	clear(b[:])
	return out, nil
}

// Unwrap reverses Wrap and checks the integrity value and the padding.
func Unwrap(kek, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < 16 || len(ciphertext)%8 != 0 {
		return nil, ErrUnwrap
	}
	c, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	n := len(ciphertext)/8 - 1
	buf := make([]byte, len(ciphertext))
	copy(buf, ciphertext)
	if n == 1 {
		c.Decrypt(buf, buf)
	} else {
		var b [16]byte
		for j := 5; j >= 0; j-- {
			for i := n; i >= 1; i-- {
				t := uint64(n*j + i)
				binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(buf[:8])^t)
				copy(b[8:], buf[8*i:8*i+8])
				c.Decrypt(b[:], b[:])
				copy(buf[:8], b[:8])
				copy(buf[8*i:8*i+8], b[8:])
			}
		}
		clear(b[:])
	}
	mli := int(binary.BigEndian.Uint32(buf[4:8]))
	ok := subtle.ConstantTimeCompare(buf[0:4], []byte{0xA6, 0x59, 0x59, 0xA6}) == 1
	if !ok || mli <= 8*(n-1) || mli > 8*n {
		clear(buf)
		return nil, ErrUnwrap
	}
	for _, p := range buf[8+mli:] {
		if p != 0 {
			clear(buf)
			return nil, ErrUnwrap
		}
	}
	out := make([]byte, mli)
	copy(out, buf[8:8+mli])
	clear(buf)
	return out, nil
}

// Envelope wraps material for import under the service's RSA wrapping
// key: RSA-OAEP-SHA256(aesKey) || KWP(aesKey, material), with a fresh
// AES-256 key that is wiped before Envelope returns.
func Envelope(pub *rsa.PublicKey, material []byte) ([]byte, error) {
	k := make([]byte, 32)
	defer clear(k)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	ek, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, k, nil)
	if err != nil {
		return nil, err
	}
	w, err := Wrap(k, material)
	if err != nil {
		return nil, err
	}
	return append(ek, w...), nil
}

// OpenEnvelope reverses Envelope with the RSA private wrapping key.
func OpenEnvelope(priv *rsa.PrivateKey, env []byte) ([]byte, error) {
	n := priv.Size()
	if len(env) <= n {
		return nil, ErrUnwrap
	}
	k, err := rsa.DecryptOAEP(sha256.New(), nil, priv, env[:n], nil)
	if err != nil {
		return nil, ErrUnwrap
	}
	defer clear(k)
	return Unwrap(k, env[n:])
}
