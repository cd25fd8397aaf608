package binance

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// Documentation vector (VENUES.md 2.1); published by Binance.
const (
	docAPIKey = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
	docSecret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
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

// hmacSigner returns a Memory signer holding the documentation key as
// "doc".
func hmacSigner(t testing.TB) (*signer.Memory, signer.KeyInfo) {
	t.Helper()
	m := signer.NewMemory()
	t.Cleanup(func() { _ = m.Close() })
	info := signer.KeyInfo{Name: "doc", Venue: Venue, APIKey: docAPIKey, Type: signer.KeyHMAC}
	if err := m.Import(info, []byte(docSecret), nil); err != nil {
		t.Fatal(err)
	}
	got, err := m.Info(context.Background(), "doc")
	if err != nil {
		t.Fatal(err)
	}
	return m, got
}

// asymSigner returns a Memory signer holding a fresh key of type kt as
// "asym".
func asymSigner(t testing.TB, kt signer.KeyType) (*signer.Memory, signer.KeyInfo) {
	t.Helper()
	var priv any
	switch kt {
	case signer.KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	case signer.KeyRSA:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	m := signer.NewMemory()
	t.Cleanup(func() { _ = m.Close() })
	if err := m.Import(signer.KeyInfo{Name: "asym", Venue: Venue, APIKey: "asym-api-key", Type: kt}, pemBytes, nil); err != nil {
		t.Fatal(err)
	}
	info, err := m.Info(context.Background(), "asym")
	if err != nil {
		t.Fatal(err)
	}
	return m, info
}

func mustScheme(t testing.TB, rw int64) *Scheme {
	t.Helper()
	s, err := NewScheme(msDuration(rw))
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

func rawJSON(t testing.TB, s string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}
