//go:build cgo

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/pkcs11"
)

// tokens are the PKCS#11 tokens opened by this command, by module, label
// and serial.
type tokens map[string]*pkcs11.Backend

// pkcs11Token opens (once) the token a PKCS#11 URI names, with the PIN
// from KEYFENCE_PKCS11_PIN or a prompt.
func (b *backends) pkcs11Token(ctx context.Context, u *pkcs11.URI) (*pkcs11.Backend, error) {
	if u.ModulePath == "" || u.Token == "" {
		return nil, errors.New("the PKCS#11 URI must name the token and the library: pkcs11:token=LABEL;object=NAME?module-path=/path/to/lib.so")
	}
	id := u.ModulePath + "\x00" + u.Token + "\x00" + u.Serial
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.p11[id]; t != nil {
		return t, nil
	}
	pin, err := b.readPIN()
	if err != nil {
		return nil, err
	}
	sec := signer.NewSecret(pin)
	signer.Wipe(pin)
	defer sec.Close()
	t, err := pkcs11.OpenURI(ctx, u, sec)
	if err != nil {
		return nil, err
	}
	if b.p11 == nil {
		b.p11 = tokens{}
	}
	b.p11[id] = t
	return t, nil
}

// registerPKCS11 registers the object uri names under its label and
// returns the backend, that label and the URI to record.
func (b *backends) registerPKCS11(ctx context.Context, uri string, info signer.KeyInfo) (signer.Signer, string, string, error) {
	u, err := pkcs11.ParseURI(uri)
	if err != nil {
		return nil, "", "", err
	}
	t, err := b.pkcs11Token(ctx, u)
	if err != nil {
		return nil, "", "", err
	}
	if u.Object == "" {
		return nil, "", "", errors.New("the PKCS#11 URI names no object: add ;object=LABEL")
	}
	info.Name = u.Object
	if err := t.Register(ctx, info, u); err != nil && !errors.Is(err, signer.ErrDuplicateKey) {
		return nil, "", "", err
	}
	return t, u.Object, u.String(), nil
}

// importPKCS11 imports material into the token as a sensitive,
// non-extractable object labelled with the URI's object (or info.Name),
// checked by the backend's self-test, and returns the backend, the label
// and the object's full URI.
func (b *backends) importPKCS11(ctx context.Context, uri string, info signer.KeyInfo, material []byte) (signer.Signer, string, string, error) {
	u, err := pkcs11.ParseURI(uri)
	if err != nil {
		return nil, "", "", err
	}
	t, err := b.pkcs11Token(ctx, u)
	if err != nil {
		return nil, "", "", err
	}
	if u.Object != "" {
		info.Name = u.Object
	}
	var require []signer.Algorithm
	if info.Type == signer.KeyHMAC {
		require = []signer.Algorithm{signer.HMACSHA256}
	}
	imp, err := t.Import(ctx, info, material, nil, require...)
	if err != nil {
		return nil, "", "", err
	}
	out := *imp.URI
	out.ModulePath = u.ModulePath
	return t, info.Name, out.String(), nil
}

// resolvePKCS11 is the keystore.Resolver for pkcs11: URIs.
func (b *backends) resolvePKCS11(ctx context.Context, uri string) (signer.Signer, string, error) {
	s, name, _, err := b.registerPKCS11(ctx, uri, signer.KeyInfo{})
	if err != nil {
		return nil, "", fmt.Errorf("the PKCS#11 key: %w", err)
	}
	return s, name, nil
}

func (b *backends) closePKCS11() {
	for id, t := range b.p11 {
		_ = t.Close()
		delete(b.p11, id)
	}
}
