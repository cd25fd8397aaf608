//go:build cgo

package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// PKCS#11 3.0 identifiers that github.com/miekg/pkcs11 v1.1.2 does not name.
const (
	ckkECEdwards           = 0x00000040 // CKK_EC_EDWARDS
	ckmECEdwardsKeyPairGen = 0x00001055 // CKM_EC_EDWARDS_KEY_PAIR_GEN
	ckmEdDSA               = 0x00001057 // CKM_EDDSA
)

// DER encodings of the CKA_EC_PARAMS this backend writes and accepts.
var (
	oidP256    = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07} // prime256v1
	oidEd25519 = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}                               // id-Ed25519
	strEd25519 = append([]byte{0x13, 0x0c}, "edwards25519"...)                      // PrintableString form
)

func classOf(t ObjectType) uint {
	switch t {
	case TypeSecretKey:
		return pkcs11.CKO_SECRET_KEY
	case TypePrivate:
		return pkcs11.CKO_PRIVATE_KEY
	case TypePublic:
		return pkcs11.CKO_PUBLIC_KEY
	}
	return ^uint(0)
}

func typeOf(class uint) ObjectType {
	switch class {
	case pkcs11.CKO_SECRET_KEY:
		return TypeSecretKey
	case pkcs11.CKO_PRIVATE_KEY:
		return TypePrivate
	case pkcs11.CKO_PUBLIC_KEY:
		return TypePublic
	}
	return ""
}

// findObjects returns the handles of the objects of class that carry label
// (if not empty) and id (if not nil).
func (b *Backend) findObjects(s pkcs11.SessionHandle, class uint, label string, id []byte) ([]pkcs11.ObjectHandle, error) {
	tmpl := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, class)}
	if label != "" {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
	}
	if id != nil {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	}
	p11 := b.mod.ctx
	if err := p11.FindObjectsInit(s, tmpl); err != nil {
		return nil, fmt.Errorf("pkcs11: find objects: %w", err)
	}
	var all []pkcs11.ObjectHandle
	for {
		hs, _, err := p11.FindObjects(s, 64)
		if err != nil {
			_ = p11.FindObjectsFinal(s)
			return nil, fmt.Errorf("pkcs11: find objects: %w", err)
		}
		if len(hs) == 0 {
			break
		}
		all = append(all, hs...)
	}
	if err := p11.FindObjectsFinal(s); err != nil {
		return nil, fmt.Errorf("pkcs11: find objects: %w", err)
	}
	return all, nil
}

// locate finds the one signing key object that u names: a secret key or a
// private key with u.Object as label (and u.ID as id, if set).
func (b *Backend) locate(s pkcs11.SessionHandle, u *URI) (pkcs11.ObjectHandle, uint, error) {
	classes := []uint{pkcs11.CKO_SECRET_KEY, pkcs11.CKO_PRIVATE_KEY}
	switch u.Type {
	case "":
	case TypeSecretKey, TypePrivate:
		classes = []uint{classOf(u.Type)}
	default:
		return 0, 0, fmt.Errorf("%w: a key URI has type=secret-key or type=private", signer.ErrInvalidKey)
	}
	var (
		found []pkcs11.ObjectHandle
		class uint
	)
	for _, c := range classes {
		hs, err := b.findObjects(s, c, u.Object, u.ID)
		if err != nil {
			return 0, 0, err
		}
		if len(hs) > 0 {
			class = c
		}
		found = append(found, hs...)
	}
	switch len(found) {
	case 0:
		return 0, 0, signer.ErrKeyNotFound
	case 1:
		return found[0], class, nil
	}
	return 0, 0, fmt.Errorf("%w: %d key objects match; give the URI an id= or type= to tell them apart", signer.ErrInvalidKey, len(found))
}

// attrs reads attributes of an object. Attributes the token does not have
// or will not reveal come back with a nil value.
func (b *Backend) attrs(s pkcs11.SessionHandle, h pkcs11.ObjectHandle, types ...uint) (map[uint][]byte, error) {
	out := make(map[uint][]byte, len(types))
	// Read one at a time: a token fails the whole call for one sensitive
	// or absent attribute.
	for _, t := range types {
		a, err := b.mod.ctx.GetAttributeValue(s, h, []*pkcs11.Attribute{pkcs11.NewAttribute(t, nil)})
		switch {
		case err == nil && len(a) == 1:
			out[t] = a[0].Value
		case rv(err) == pkcs11.CKR_ATTRIBUTE_TYPE_INVALID, rv(err) == pkcs11.CKR_ATTRIBUTE_SENSITIVE:
		default:
			return nil, fmt.Errorf("pkcs11: read attribute 0x%x: %w", t, err)
		}
	}
	return out, nil
}

// ulong decodes a CK_ULONG attribute value (native byte order and size).
func ulong(v []byte) (uint, bool) {
	var x uint64
	switch len(v) {
	case 4:
		x = uint64(binary.NativeEndian.Uint32(v))
	case 8:
		x = binary.NativeEndian.Uint64(v)
	default:
		return 0, false
	}
	return uint(x), true
}

// keyType maps the token's key type to a keyfence key type.
func keyType(class uint, ckk uint, params []byte) (signer.KeyType, error) {
	switch {
	case class == pkcs11.CKO_SECRET_KEY && ckk == pkcs11.CKK_GENERIC_SECRET:
		return signer.KeyHMAC, nil
	case class == pkcs11.CKO_SECRET_KEY && (ckk == pkcs11.CKK_SHA256_HMAC || ckk == pkcs11.CKK_SHA512_HMAC):
		return signer.KeyHMAC, nil
	case class != pkcs11.CKO_SECRET_KEY && ckk == ckkECEdwards:
		if bytes.Equal(params, oidEd25519) || bytes.Equal(params, strEd25519) {
			return signer.KeyEd25519, nil
		}
		return "", fmt.Errorf("%w: an Edwards-curve key that is not Ed25519", ErrUnsupportedKey)
	case class != pkcs11.CKO_SECRET_KEY && ckk == pkcs11.CKK_EC:
		if bytes.Equal(params, oidP256) {
			return signer.KeyECDSAP256, nil
		}
		return "", fmt.Errorf("%w: an EC key that is not on P-256", ErrUnsupportedKey)
	case class != pkcs11.CKO_SECRET_KEY && ckk == pkcs11.CKK_RSA:
		return signer.KeyRSA, nil
	}
	return "", fmt.Errorf("%w: key type 0x%x", ErrUnsupportedKey, ckk)
}

// describe reads what the token knows of a key object: its type, label,
// id and, for a private key, the public key from the matching public key
// object (same CKA_ID, or the same label when the id is empty).
func (b *Backend) describe(s pkcs11.SessionHandle, h pkcs11.ObjectHandle, class uint) (t signer.KeyType, label string, id []byte, pub crypto.PublicKey, err error) {
	a, err := b.attrs(s, h, pkcs11.CKA_KEY_TYPE, pkcs11.CKA_LABEL, pkcs11.CKA_ID, pkcs11.CKA_EC_PARAMS, pkcs11.CKA_SIGN)
	if err != nil {
		return "", "", nil, nil, err
	}
	ckk, ok := ulong(a[pkcs11.CKA_KEY_TYPE])
	if !ok {
		return "", "", nil, nil, fmt.Errorf("%w: the token reports no key type", ErrUnsupportedKey)
	}
	if t, err = keyType(class, ckk, a[pkcs11.CKA_EC_PARAMS]); err != nil {
		return "", "", nil, nil, err
	}
	if v := a[pkcs11.CKA_SIGN]; len(v) != 1 || v[0] == 0 {
		return "", "", nil, nil, fmt.Errorf("%w: the object does not allow signing (CKA_SIGN is false)", ErrUnsupportedKey)
	}
	label, id = string(a[pkcs11.CKA_LABEL]), a[pkcs11.CKA_ID]
	if class != pkcs11.CKO_PRIVATE_KEY {
		return t, label, id, nil, nil
	}
	pub, err = b.publicKey(s, t, h, label, id)
	return t, label, id, pub, err
}

func (b *Backend) publicKey(s pkcs11.SessionHandle, t signer.KeyType, priv pkcs11.ObjectHandle, label string, id []byte) (crypto.PublicKey, error) {
	var hs []pkcs11.ObjectHandle
	var err error
	if len(id) > 0 {
		hs, err = b.findObjects(s, pkcs11.CKO_PUBLIC_KEY, "", id)
	} else {
		hs, err = b.findObjects(s, pkcs11.CKO_PUBLIC_KEY, label, nil)
	}
	if err != nil {
		return nil, err
	}
	src := priv // an RSA private key object carries its modulus and exponent
	if len(hs) == 1 {
		src = hs[0]
	} else if t != signer.KeyRSA {
		return nil, fmt.Errorf("%w: found %d public key objects for this key; expected one with the same CKA_ID", ErrUnsupportedKey, len(hs))
	}
	switch t {
	case signer.KeyRSA:
		a, err := b.attrs(s, src, pkcs11.CKA_MODULUS, pkcs11.CKA_PUBLIC_EXPONENT)
		if err != nil {
			return nil, err
		}
		n, e := new(big.Int).SetBytes(a[pkcs11.CKA_MODULUS]), new(big.Int).SetBytes(a[pkcs11.CKA_PUBLIC_EXPONENT])
		if n.Sign() == 0 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, fmt.Errorf("%w: the token holds no usable RSA public key", ErrUnsupportedKey)
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
	case signer.KeyEd25519, signer.KeyECDSAP256:
		a, err := b.attrs(s, src, pkcs11.CKA_EC_POINT)
		if err != nil {
			return nil, err
		}
		return decodePoint(t, a[pkcs11.CKA_EC_POINT])
	}
	return nil, fmt.Errorf("%w: no public key for a %s key", ErrUnsupportedKey, t)
}

// decodePoint decodes CKA_EC_POINT: a DER OCTET STRING holding the point
// (the form PKCS#11 specifies) or, as some tokens return, the bare point.
func decodePoint(t signer.KeyType, v []byte) (crypto.PublicKey, error) {
	in := cryptobyte.String(v)
	var inner cryptobyte.String
	if in.ReadASN1(&inner, cbasn1.OCTET_STRING) && in.Empty() {
		v = inner
	}
	switch t {
	case signer.KeyEd25519:
		if len(v) == ed25519.PublicKeySize {
			return ed25519.PublicKey(bytes.Clone(v)), nil
		}
	case signer.KeyECDSAP256:
		if pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), v); err == nil {
			return pub, nil
		}
	}
	return nil, fmt.Errorf("%w: the token's CKA_EC_POINT is not a %s public key", ErrUnsupportedKey, t)
}

// encodePoint encodes a public point as the DER OCTET STRING of CKA_EC_POINT.
func encodePoint(point []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1OctetString(point)
	out, _ := b.Bytes()
	return out
}
