package keystore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/signertest"
)

// TestConformance runs the signer conformance suite against keys sealed in
// a keystore file, written, closed and opened again.
func TestConformance(t *testing.T) {
	signertest.Run(t, signertest.HarnessFunc(func(ctx context.Context, t *testing.T, keys []signertest.Key) (signer.Signer, func(), error) {
		path := filepath.Join(t.TempDir(), "keys.json")
		ks, err := Create(ctx, path, testPass, WithKDFParams(testKDF))
		if err != nil {
			return nil, nil, err
		}
		err = ks.Update(ctx, func(tx *Tx) error {
			for _, k := range keys {
				e := Entry{Name: k.Info.Name, Venue: k.Info.Venue, APIKey: k.Info.APIKey, Type: k.Info.Type}
				if err := tx.Add(e, k.Material, k.Passphrase); err != nil {
					return err
				}
				signer.Wipe(k.Material)
				signer.Wipe(k.Passphrase)
			}
			return nil
		})
		ks.Close()
		if err != nil {
			return nil, nil, err
		}
		ks, err = Open(ctx, path, testPass)
		if err != nil {
			return nil, nil, err
		}
		return ks.Signer(), func() { ks.Close() }, nil
	}))
}

// TestConformanceHSMReference runs the suite against keys the keystore
// only references: each is an object of a stand-in HSM (a signer.Memory)
// that the Signer reaches through its Resolver. API passphrases are sealed
// in the keystore and signed by the HSM key.
func TestConformanceHSMReference(t *testing.T) {
	signertest.Run(t, signertest.HarnessFunc(func(ctx context.Context, t *testing.T, keys []signertest.Key) (signer.Signer, func(), error) {
		hsm := signer.NewMemory()
		path := filepath.Join(t.TempDir(), "keys.json")
		ks, err := Create(ctx, path, testPass, WithKDFParams(testKDF))
		if err != nil {
			return nil, nil, err
		}
		err = ks.Update(ctx, func(tx *Tx) error {
			for _, k := range keys {
				obj := "obj-" + k.Info.Name
				if err := hsm.Import(signer.KeyInfo{Name: obj, Venue: k.Info.Venue, APIKey: k.Info.APIKey, Type: k.Info.Type}, k.Material, nil); err != nil {
					return err
				}
				uri := "pkcs11:token=test;object=" + strings.ReplaceAll(obj, " ", "%20")
				e := Entry{Name: k.Info.Name, Venue: k.Info.Venue, APIKey: k.Info.APIKey, Type: k.Info.Type, URI: uri}
				if err := tx.AddReference(e, k.Passphrase); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			ks.Close()
			hsm.Close()
			return nil, nil, err
		}
		resolve := func(_ context.Context, uri string) (signer.Signer, string, error) {
			obj, ok := strings.CutPrefix(uri, "pkcs11:token=test;object=")
			if !ok {
				return nil, "", fmt.Errorf("unknown token in %s", uri)
			}
			return hsm, strings.ReplaceAll(obj, "%20", " "), nil
		}
		return ks.Signer(WithResolver(resolve)), func() { ks.Close(); hsm.Close() }, nil
	}))
}
