package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/signertest"
)

// TestRealVaultConformance runs the conformance suite against a real Vault
// or OpenBao when VAULT_ADDR is set (opt-in): VAULT_TOKEN or AppRole
// credentials as ConfigFromEnv reads them, and a Transit engine at
// KEYFENCE_VAULT_TRANSIT_MOUNT ("transit" if unset). It imports keys
// named keyfence-test-<time>-<n>, which stay in the mount (Transit
// deletes only keys configured with deletion_allowed).
func TestRealVaultConformance(t *testing.T) {
	if os.Getenv("VAULT_ADDR") == "" {
		t.Skip("a real Vault is opt-in: set VAULT_ADDR and VAULT_TOKEN (a Transit engine mounted at KEYFENCE_VAULT_TRANSIT_MOUNT, default transit)")
	}
	mount := os.Getenv("KEYFENCE_VAULT_TRANSIT_MOUNT")
	if mount == "" {
		mount = "transit"
	}
	prefix := fmt.Sprintf("keyfence-test-%d", time.Now().Unix())
	n := 0
	signertest.Run(t, signertest.HarnessFunc(func(ctx context.Context, t *testing.T, keys []signertest.Key) (signer.Signer, func(), error) {
		b, err := New(ctx, ConfigFromEnv(nil))
		if err != nil {
			return nil, nil, err
		}
		for _, k := range keys {
			n++
			_, err := b.Import(ctx, fmt.Sprintf("vault://%s/%s-%d", mount, prefix, n), k.Info, k.Material, k.Passphrase)
			if errors.Is(err, ErrUnsupportedKey) {
				b.Close()
				return nil, nil, signertest.Unsupported(k.Info.Name, err.Error())
			}
			if err != nil {
				b.Close()
				return nil, nil, err
			}
		}
		return b, func() { _ = b.Close() }, nil
	}))
}
