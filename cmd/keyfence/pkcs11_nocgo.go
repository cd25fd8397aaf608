//go:build !cgo

package main

import (
	"context"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/pkcs11"
)

// tokens is empty in a build without cgo: the PKCS#11 backend needs it.
type tokens map[string]struct{}

func (b *backends) registerPKCS11(context.Context, string, signer.KeyInfo) (signer.Signer, string, string, error) {
	return nil, "", "", pkcs11.ErrNoCgo
}

func (b *backends) importPKCS11(context.Context, string, signer.KeyInfo, []byte) (signer.Signer, string, string, error) {
	return nil, "", "", pkcs11.ErrNoCgo
}

func (b *backends) resolvePKCS11(context.Context, string) (signer.Signer, string, error) {
	return nil, "", pkcs11.ErrNoCgo
}

func (b *backends) closePKCS11() {}
