package kucoin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// KuCoin SDK test inputs (VENUES.md 2.6 and 2.9).
const (
	docSecret     = "test_api_secret"
	docPassphrase = "test_passphrase"
	docAPIKey     = "test_api_key"
	docTS         = 1234567890000
)

// recorder is an allow-all guard that records what it saw and how each
// reservation was settled.
type recorder struct {
	mu       sync.Mutex
	intents  []exchange.Intent
	commits  []exchange.Outcome
	releases []error
	closed   []string
	deny     error
}

func (g *recorder) Check(_ context.Context, in *exchange.Intent) (exchange.Reservation, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deny != nil {
		return nil, g.deny
	}
	g.intents = append(g.intents, *in)
	return &recRes{g: g}, nil
}

func (g *recorder) PolicyHash(string) audit.Digest { return audit.Digest{0: 0x90, 31: 0x11} }

func (g *recorder) OrderClosed(_ context.Context, _, id string, _ decimal.Decimal) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = append(g.closed, id)
	return nil
}

func (g *recorder) snapshot() (commits []exchange.Outcome, releases []error, closed []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]exchange.Outcome(nil), g.commits...), append([]error(nil), g.releases...), append([]string(nil), g.closed...)
}

type recRes struct {
	g    *recorder
	once sync.Once
}

func (r *recRes) Commit(_ context.Context, out exchange.Outcome) error {
	r.once.Do(func() {
		r.g.mu.Lock()
		r.g.commits = append(r.g.commits, out)
		r.g.mu.Unlock()
	})
	return nil
}

func (r *recRes) Release(_ context.Context, cause error) error {
	r.once.Do(func() {
		r.g.mu.Lock()
		r.g.releases = append(r.g.releases, cause)
		r.g.mu.Unlock()
	})
	return nil
}

// memAudit keeps records in memory.
type memAudit struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (a *memAudit) Append(_ context.Context, r *audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, *r)
	return nil
}

func (a *memAudit) records() []audit.Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]audit.Record(nil), a.recs...)
}

// memSigner returns a Memory signer holding one KuCoin key as name.
func memSigner(t testing.TB, name, apiKey, secret, passphrase string) (*signer.Memory, signer.KeyInfo) {
	t.Helper()
	m := signer.NewMemory()
	t.Cleanup(func() { _ = m.Close() })
	var pass []byte
	if passphrase != "" {
		pass = []byte(passphrase)
	}
	if err := m.Import(signer.KeyInfo{Name: name, Venue: Venue, APIKey: apiKey, Type: signer.KeyHMAC}, []byte(secret), pass); err != nil {
		t.Fatal(err)
	}
	info, err := m.Info(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return m, info
}

func mustScheme(t testing.TB, version string) *Scheme {
	t.Helper()
	s, err := NewScheme(version)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func params(kv ...string) exchange.Params {
	p := make(exchange.Params, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		p = append(p, exchange.Param{Key: kv[i], Value: kv[i+1]})
	}
	return p
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
