package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/awskms"
	"github.com/keyfence/keyfence/signer/vault"
)

// backends are the signer backends the CLI reaches keys in by URI. Each is
// made on first use from the standard configuration of its service, so a
// command that touches no remote key contacts nothing.
type backends struct {
	awsConfig func(ctx context.Context) (aws.Config, error) // nil: the SDK's defaults

	getenv  func(string) string
	readPIN func() ([]byte, error) // the PKCS#11 user PIN

	mu    sync.Mutex
	aws   *awskms.Backend
	vault *vault.Backend
	p11   tokens
}

// signer returns ks's signer, with entries that point at a key in an HSM,
// AWS KMS or Vault resolved through the command's backends. Every command
// that signs with a venue key or the audit key uses it, so that a key is
// usable wherever it lives.
func (e *env) signer(ks *keystore.Keystore) *keystore.Signer {
	return ks.Signer(keystore.WithResolver(e.backends().resolve))
}

// backends returns the command's backends.
func (e *env) backends() *backends {
	e.bkOnce.Do(func() {
		e.bk = &backends{awsConfig: e.awsConfig, getenv: e.getenv, readPIN: func() ([]byte, error) {
			if p := e.getenv("KEYFENCE_PKCS11_PIN"); p != "" {
				return []byte(p), nil
			}
			if e.isTerminal() {
				return e.readPassword("Token PIN: ")
			}
			return nil, errors.New("no PKCS#11 user PIN: set KEYFENCE_PKCS11_PIN or run in a terminal")
		}}
	})
	return e.bk
}

// awsKMS returns the AWS KMS backend.
func (b *backends) awsKMS(ctx context.Context) (*awskms.Backend, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.aws != nil {
		return b.aws, nil
	}
	var opts []awskms.Option
	if b.awsConfig != nil {
		cfg, err := b.awsConfig(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, awskms.WithConfig(cfg))
	}
	k, err := awskms.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	b.aws = k
	return k, nil
}

// vaultTransit returns the Vault Transit backend, configured from
// VAULT_ADDR, VAULT_TOKEN (or VAULT_ROLE_ID and VAULT_SECRET_ID) and
// VAULT_NAMESPACE.
func (b *backends) vaultTransit(ctx context.Context) (*vault.Backend, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.vault != nil {
		return b.vault, nil
	}
	v, err := vault.New(ctx, vault.ConfigFromEnv(b.getenv))
	if err != nil {
		return nil, err
	}
	b.vault = v
	return v, nil
}

// resolve is the keystore.Resolver of the CLI's signers.
func (b *backends) resolve(ctx context.Context, uri string) (signer.Signer, string, error) {
	switch {
	case strings.HasPrefix(uri, awskms.Scheme+"://"):
		k, err := b.awsKMS(ctx)
		if err != nil {
			return nil, "", err
		}
		return k.Resolve(ctx, uri)
	case strings.HasPrefix(uri, vault.Scheme+"://"):
		v, err := b.vaultTransit(ctx)
		if err != nil {
			return nil, "", err
		}
		return v.Resolve(ctx, uri)
	case strings.HasPrefix(uri, "pkcs11:"):
		return b.resolvePKCS11(ctx, uri)
	}
	return nil, "", fmt.Errorf("no backend in this build signs with %s keys", schemeOf(uri))
}

// resolveWrapper is the keystore.WrapperResolver of the CLI.
func (b *backends) resolveWrapper(ctx context.Context, uri string) (keystore.KeyWrapper, error) {
	switch {
	case strings.HasPrefix(uri, awskms.Scheme+"://"):
		k, err := b.awsKMS(ctx)
		if err != nil {
			return nil, err
		}
		return k.ResolveWrapper(ctx, uri)
	case strings.HasPrefix(uri, vault.Scheme+"://"):
		v, err := b.vaultTransit(ctx)
		if err != nil {
			return nil, err
		}
		return v.ResolveWrapper(ctx, uri)
	}
	return nil, fmt.Errorf("no backend in this build wraps keystores with %s keys", schemeOf(uri))
}

func (b *backends) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.aws != nil {
		_ = b.aws.Close()
		b.aws = nil
	}
	if b.vault != nil {
		_ = b.vault.Close()
		b.vault = nil
	}
	b.closePKCS11()
}

func schemeOf(uri string) string {
	if i := strings.Index(uri, ":"); i > 0 {
		return uri[:i]
	}
	return "unknown"
}
