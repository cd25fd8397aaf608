package pkcs11

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ObjectType is the "type" attribute of a PKCS#11 URI: the class of the
// object the URI names.
type ObjectType string

// The object types of RFC 7512. A keyfence key is a secret key (HMAC) or a
// private key (Ed25519, ECDSA, RSA).
const (
	TypePrivate   ObjectType = "private"
	TypeSecretKey ObjectType = "secret-key"
	TypePublic    ObjectType = "public"
	TypeCert      ObjectType = "cert"
	TypeData      ObjectType = "data"
)

// URI is a PKCS#11 URI (RFC 7512) naming a token and an object on it, such as
//
//	pkcs11:token=keyfence;object=binance-main;type=secret-key?module-path=/usr/lib/softhsm/libsofthsm2.so
//
// Token selects the token by its label (and, if set, Manufacturer, Model and
// Serial); Object is the object's CKA_LABEL and ID its CKA_ID. A URI never
// holds a PIN: ParseURI refuses pin-value, and PINSource is kept only as the
// reference it is (a file name or command the caller resolves).
type URI struct {
	Token        string
	Manufacturer string
	Model        string
	Serial       string
	Object       string
	ID           []byte
	Type         ObjectType

	ModulePath string // query attribute module-path: the library to load
	ModuleName string // query attribute module-name
	PINSource  string // query attribute pin-source: where the caller finds the PIN
}

// ErrURI is wrapped by every error ParseURI returns.
var ErrURI = errors.New("pkcs11: invalid PKCS#11 URI")

// ErrPINInURI is returned for a URI that carries a PIN (pin-value). Keep the
// PIN out of the URI and pass it to Open as a *signer.Secret.
var ErrPINInURI = errors.New("pkcs11: the URI carries a PIN (pin-value); remove it and pass the PIN separately")

const scheme = "pkcs11:"

// ParseURI parses a PKCS#11 URI. It accepts the path attributes token,
// manufacturer, model, serial, object, id and type and the query attributes
// module-path, module-name and pin-source; any other attribute, a repeated
// attribute, a malformed percent-encoding or a pin-value is an error. Errors
// name attributes, never their values.
func ParseURI(s string) (*URI, error) {
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return nil, fmt.Errorf("%w: it must start with %q", ErrURI, scheme)
	}
	rest := s[len(scheme):]
	path, query, hasQuery := strings.Cut(rest, "?")
	u := &URI{}
	seen := make(map[string]bool)
	if path != "" {
		for attr := range strings.SplitSeq(path, ";") {
			if err := u.setAttr(attr, false, seen); err != nil {
				return nil, err
			}
		}
	}
	if hasQuery && query != "" {
		for attr := range strings.SplitSeq(query, "&") {
			if err := u.setAttr(attr, true, seen); err != nil {
				return nil, err
			}
		}
	}
	return u, nil
}

func (u *URI) setAttr(attr string, query bool, seen map[string]bool) error {
	name, raw, ok := strings.Cut(attr, "=")
	if !ok || name == "" {
		return fmt.Errorf("%w: each attribute must be name=value", ErrURI)
	}
	if !validName(name) {
		return fmt.Errorf("%w: malformed attribute name", ErrURI)
	}
	if query && name == "pin-value" {
		return ErrPINInURI
	}
	if seen[name] {
		return fmt.Errorf("%w: attribute %q appears twice", ErrURI, name)
	}
	seen[name] = true
	val, err := unescape(raw, query)
	if err != nil {
		return fmt.Errorf("%w: attribute %q: %v", ErrURI, name, err)
	}
	text := func(dst *string) error {
		if !utf8.Valid(val) {
			return fmt.Errorf("%w: attribute %q is not UTF-8", ErrURI, name)
		}
		*dst = string(val)
		return nil
	}
	if query {
		switch name {
		case "module-path":
			return text(&u.ModulePath)
		case "module-name":
			return text(&u.ModuleName)
		case "pin-source":
			return text(&u.PINSource)
		}
		return fmt.Errorf("%w: query attribute %q is not supported", ErrURI, name)
	}
	switch name {
	case "token":
		return text(&u.Token)
	case "manufacturer":
		return text(&u.Manufacturer)
	case "model":
		return text(&u.Model)
	case "serial":
		return text(&u.Serial)
	case "object":
		return text(&u.Object)
	case "id":
		u.ID = val
		if u.ID == nil {
			u.ID = []byte{}
		}
		return nil
	case "type":
		switch t := ObjectType(val); t {
		case TypePrivate, TypeSecretKey, TypePublic, TypeCert, TypeData:
			u.Type = t
			return nil
		}
		return fmt.Errorf("%w: type must be private, secret-key, public, cert or data", ErrURI)
	}
	return fmt.Errorf("%w: path attribute %q is not supported", ErrURI, name)
}

// validName reports whether s is an attribute name: letters, digits and '-'.
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// String formats the URI, percent-encoding every value as RFC 7512 requires
// and every byte of the id. The result parses back to an equal URI.
func (u *URI) String() string {
	var b strings.Builder
	b.WriteString(scheme)
	sep := ""
	add := func(name, v string, set bool) {
		if !set {
			return
		}
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(escape(v, false))
		sep = ";"
	}
	add("token", u.Token, u.Token != "")
	add("manufacturer", u.Manufacturer, u.Manufacturer != "")
	add("model", u.Model, u.Model != "")
	add("serial", u.Serial, u.Serial != "")
	add("object", u.Object, u.Object != "")
	if u.ID != nil {
		b.WriteString(sep)
		b.WriteString("id=")
		for _, c := range u.ID {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
		sep = ";"
	}
	add("type", string(u.Type), u.Type != "")
	sep = "?"
	qadd := func(name, v string) {
		if v == "" {
			return
		}
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(escape(v, true))
		sep = "&"
	}
	qadd("module-name", u.ModuleName)
	qadd("module-path", u.ModulePath)
	qadd("pin-source", u.PINSource)
	return b.String()
}

const hexDigits = "0123456789ABCDEF"

// allowed reports whether c may appear unencoded in a value: pk11-pchar in
// the path, pk11-qchar in the query (RFC 7512 section 2.3).
func allowed(c byte, query bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', // unreserved
		':', '[', ']', '@', '!', '$', '\'', '(', ')', '*', '+', ',', '=': // pk11-res-avail
		return true
	case '/', '?', '|': // pk11-res-avail-ex, query only
		return query
	}
	return false
}

func escape(s string, query bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if allowed(c, query) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func unescape(s string, query bool) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return nil, errors.New("truncated percent-encoding")
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, errors.New("malformed percent-encoding")
			}
			out = append(out, hi<<4|lo)
			i += 2
			continue
		}
		if !allowed(c, query) {
			return nil, errors.New("character must be percent-encoded")
		}
		out = append(out, c)
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
