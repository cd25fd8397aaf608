package signer

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// ECDSADERToRaw converts an ASN.1 DER ECDSA signature into the fixed-size
// r||s form JOSE uses, each half left-padded to size bytes.
func ECDSADERToRaw(der []byte, size int) ([]byte, error) {
	var r, s []byte
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, fmt.Errorf("signer: malformed DER ECDSA signature")
	}
	r, s = trimZero(r), trimZero(s)
	if len(r) > size || len(s) > size {
		return nil, fmt.Errorf("signer: ECDSA signature component longer than %d bytes", size)
	}
	out := make([]byte, 2*size)
	copy(out[size-len(r):size], r)
	copy(out[2*size-len(s):], s)
	return out, nil
}

// ECDSARawToDER converts a JOSE r||s ECDSA signature into ASN.1 DER.
func ECDSARawToDER(raw []byte) ([]byte, error) {
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, fmt.Errorf("signer: raw ECDSA signature has odd or zero length %d", len(raw))
	}
	n := len(raw) / 2
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addInt(b, raw[:n])
		addInt(b, raw[n:])
	})
	return b.Bytes()
}

func addInt(b *cryptobyte.Builder, v []byte) {
	v = trimZero(v)
	b.AddASN1(asn1.INTEGER, func(b *cryptobyte.Builder) {
		if len(v) == 0 || v[0]&0x80 != 0 {
			b.AddUint8(0)
		}
		b.AddBytes(v)
	})
}

func trimZero(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}
