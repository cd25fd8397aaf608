package signertest_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/signer"
	"github.com/keyfence/keyfence/signer/signertest"
)

// mutantEnv selects the broken backend TestMutant runs the suite against.
const mutantEnv = "SIGNERTEST_MUTANT"

// mutant is a Memory with one deliberate defect, to check that the suite
// notices it.
type mutant struct {
	*signer.Memory
	mode    string
	secrets map[string][]byte
	mu      sync.Mutex
	buf     []byte
}

func (m *mutant) Sign(ctx context.Context, key string, alg signer.Algorithm, msg []byte) ([]byte, error) {
	if m.mode == "ignore-ctx" {
		ctx = context.Background()
	}
	sig, err := m.Memory.Sign(ctx, key, alg, msg)
	switch {
	case m.mode == "leak" && err != nil:
		return nil, fmt.Errorf("%w (key bytes %x)", err, m.secrets[key])
	case m.mode == "bad-mac" && err == nil && alg == signer.HMACSHA512:
		sig[len(sig)-1] ^= 1
	case m.mode == "alias" && err == nil:
		m.mu.Lock()
		defer m.mu.Unlock()
		m.buf = append(m.buf[:0], sig...)
		return m.buf, nil
	}
	return sig, err
}

func (m *mutant) Info(ctx context.Context, key string) (signer.KeyInfo, error) {
	info, err := m.Memory.Info(ctx, key)
	if m.mode == "no-public" {
		info.Public = nil
	}
	return info, err
}

func mutantHarness(mode string) signertest.Harness {
	return signertest.HarnessFunc(func(_ context.Context, t *testing.T, keys []signertest.Key) (signer.Signer, func(), error) {
		m := &mutant{Memory: signer.NewMemory(), mode: mode, secrets: map[string][]byte{}}
		for _, k := range keys {
			if err := m.Import(k.Info, k.Material, k.Passphrase); err != nil {
				return nil, nil, err
			}
			if mode == "leak" {
				m.secrets[k.Info.Name] = k.Material
			}
		}
		return m, func() { m.Close() }, nil
	})
}

// TestMutant runs the suite against the backend named by SIGNERTEST_MUTANT;
// TestSuiteCatchesMutants runs it in a child process and expects failures.
func TestMutant(t *testing.T) {
	mode := os.Getenv(mutantEnv)
	if mode == "" {
		t.Skip("run by TestSuiteCatchesMutants")
	}
	signertest.Run(t, mutantHarness(mode))
}

func TestSuiteCatchesMutants(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in child processes")
	}
	tests := []struct {
		mode string
		fail []string // subtests that must fail
	}{
		{"none", nil},
		{"leak", []string{"TestMutant/Canary"}},
		{"ignore-ctx", []string{"TestMutant/Errors/Canceled", "TestMutant/Errors/DeadlineExceeded"}},
		{"bad-mac", []string{"TestMutant/RFC4231/case1/SHA512", "TestMutant/Venues/kraken/add-order", "TestMutant/Concurrent/HMAC"}},
		{"alias", []string{"TestMutant/RFC4231/case1/SHA256", "TestMutant/Venues/binance/rest"}},
		{"no-public", []string{"TestMutant/RFC8032/TEST1/seed", "TestMutant/ECDSA/Public", "TestMutant/RSA", "TestMutant/Info"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMutant$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), mutantEnv+"="+tt.mode)
			out, err := cmd.CombinedOutput()
			text := string(out)
			if tt.fail == nil {
				if err != nil {
					t.Fatalf("the suite fails against an intact Memory: %v\n%s", err, text)
				}
				return
			}
			if err == nil {
				t.Fatalf("the suite passes against the %q mutant", tt.mode)
			}
			for _, name := range tt.fail {
				if !strings.Contains(text, "--- FAIL: "+name+" ") {
					t.Errorf("the suite did not fail %s against the %q mutant", name, tt.mode)
				}
			}
			// The suite itself must not print the canary it planted.
			for _, form := range []string{"keyfence-canary-", hex.EncodeToString([]byte("keyfence-canary-"))} {
				if strings.Contains(text, form) {
					t.Errorf("the suite's output shows a canary secret")
				}
			}
		})
	}
}
