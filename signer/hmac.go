package signer

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"errors"
	"hash"
	"sync"
)

// macKey is an HMAC key (RFC 2104) reduced to the two hash states it
// determines: the state after absorbing key XOR ipad and the state after
// absorbing key XOR opad. Signing restores a pooled hash to one state, then
// the other, so it costs no key schedule and no allocation but the result;
// hmac.New recomputes both pads on every call. The states let anyone compute
// MACs, so they are wiped on close, but unlike the pads that crypto/hmac
// keeps they do not contain the key: once a macKey is built, the key bytes
// themselves need not stay in memory.
type macKey struct {
	size         int    // output size in bytes
	inner, outer []byte // marshaled hash states
	pool         sync.Pool
}

// macState is a pooled hash with its unmarshaler resolved once.
type macState struct {
	h hash.Hash
	u encoding.BinaryUnmarshaler
}

func newMACKey(newHash func() hash.Hash, key []byte) (*macKey, error) {
	h := newHash()
	bs := h.BlockSize()
	if len(key) > bs {
		h.Write(key)
		key = h.Sum(nil)
		defer Wipe(key)
		h.Reset()
	}
	pad := make([]byte, bs)
	defer Wipe(pad)
	state := func(x byte) ([]byte, error) {
		copy(pad, key)
		clear(pad[len(key):])
		for i := range pad {
			pad[i] ^= x
		}
		h.Reset()
		h.Write(pad)
		m, ok := h.(encoding.BinaryMarshaler)
		if !ok {
			return nil, errors.New("signer: hash state cannot be saved")
		}
		return m.MarshalBinary()
	}
	inner, err := state(0x36)
	if err != nil {
		return nil, err
	}
	outer, err := state(0x5c)
	if err != nil {
		Wipe(inner)
		return nil, err
	}
	h.Reset()
	k := &macKey{size: h.Size(), inner: inner, outer: outer}
	k.pool.New = func() any {
		h := newHash()
		u, _ := h.(encoding.BinaryUnmarshaler)
		return &macState{h: h, u: u}
	}
	return k, nil
}

// appendSum appends the MAC of msg to dst.
func (k *macKey) appendSum(dst, msg []byte) ([]byte, error) {
	st := k.pool.Get().(*macState)
	defer func() {
		st.h.Reset() // no keyed state stays in the pool
		k.pool.Put(st)
	}()
	if st.u == nil || st.u.UnmarshalBinary(k.inner) != nil {
		return dst, errors.New("signer: hash state cannot be restored")
	}
	st.h.Write(msg)
	if dst == nil {
		dst = make([]byte, 0, k.size)
	}
	// The inner digest goes where the MAC will be; Write consumes it
	// before the outer Sum overwrites it.
	n := len(dst)
	inner := st.h.Sum(dst)
	if st.u.UnmarshalBinary(k.outer) != nil {
		Wipe(inner[n:]) // the inner digest is no output
		return dst, errors.New("signer: hash state cannot be restored")
	}
	st.h.Write(inner[n:])
	return st.h.Sum(inner[:n]), nil
}

// wipe zeroes the saved states. Callers make sure no sum is in progress.
func (k *macKey) wipe() {
	Wipe(k.inner)
	Wipe(k.outer)
	k.inner, k.outer = nil, nil
}

// hmacKeys holds the keyed states of one HMAC secret for each algorithm.
type hmacKeys struct {
	sha256, sha512 *macKey
}

func newHMACKeys(secret []byte) (*hmacKeys, error) {
	a, err := newMACKey(sha256.New, secret)
	if err != nil {
		return nil, err
	}
	b, err := newMACKey(sha512.New, secret)
	if err != nil {
		a.wipe()
		return nil, err
	}
	return &hmacKeys{sha256: a, sha512: b}, nil
}

func (h *hmacKeys) appendSign(dst []byte, alg Algorithm, msg []byte) ([]byte, error) {
	switch alg {
	case HMACSHA256:
		return h.sha256.appendSum(dst, msg)
	case HMACSHA512:
		return h.sha512.appendSum(dst, msg)
	}
	return dst, ErrWrongAlgorithm
}

func (h *hmacKeys) wipe() {
	h.sha256.wipe()
	h.sha512.wipe()
}
