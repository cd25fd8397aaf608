package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/awskms"
)

// backends are the signer backends the CLI reaches keys in by URI. Each is
// made on first use from the standard configuration of its service, so a
// command that touches no remote key contacts nothing.
type backends struct {
	awsConfig func(ctx context.Context) (aws.Config, error) // nil: the SDK's defaults

	mu  sync.Mutex
	aws *awskms.Backend
}

// backends returns the command's backends.
func (e *env) backends() *backends {
	e.bkOnce.Do(func() { e.bk = &backends{awsConfig: e.awsConfig} })
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

// resolve is the keystore.Resolver of the CLI's signers.
func (b *backends) resolve(ctx context.Context, uri string) (signer.Signer, string, error) {
	switch {
	case strings.HasPrefix(uri, awskms.Scheme+"://"):
		k, err := b.awsKMS(ctx)
		if err != nil {
			return nil, "", err
		}
		return k.Resolve(ctx, uri)
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
}

func schemeOf(uri string) string {
	if i := strings.Index(uri, ":"); i > 0 {
		return uri[:i]
	}
	return "unknown"
}
