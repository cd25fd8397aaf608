package coinbase

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// keyName is a CDP key name in the documented format; not a real key.
const keyName = "organizations/00000000-test-org/apiKeys/11111111-test-key"

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

// testKey is a CDP key generated for one test: its private key (the
// canary), its PEM, and a Memory signer holding it as "cb".
type testKey struct {
	priv   crypto.Signer
	pem    []byte
	store  *signer.Memory
	info   signer.KeyInfo
	canary []string // strings of the secret that must never be printed
}

func newTestKey(t testing.TB, kt signer.KeyType) *testKey {
	t.Helper()
	k := &testKey{}
	switch kt {
	case signer.KeyECDSAP256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalECPrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		k.priv = priv
		k.pem = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
		d := priv.D.FillBytes(make([]byte, 32))
		k.canary = []string{fmt.Sprintf("%x", d), base64.StdEncoding.EncodeToString(der)[8:40], priv.D.String()}
	case signer.KeyEd25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k.priv = priv
		k.pem = []byte(base64.StdEncoding.EncodeToString(priv))
		k.canary = []string{fmt.Sprintf("%x", priv.Seed()), base64.StdEncoding.EncodeToString(priv.Seed())[:40]}
	default:
		t.Fatalf("key type %s", kt)
	}
	k.store = signer.NewMemory()
	t.Cleanup(func() { _ = k.store.Close() })
	material := k.pem
	if kt == signer.KeyEd25519 {
		material = k.priv.(ed25519.PrivateKey)
	}
	if err := k.store.Import(signer.KeyInfo{Name: "cb", Venue: Venue, APIKey: keyName, Type: kt}, material, nil); err != nil {
		t.Fatal(err)
	}
	info, err := k.store.Info(context.Background(), "cb")
	if err != nil {
		t.Fatal(err)
	}
	k.info = info
	return k
}

// simKey is the key as the simulator knows it.
func (k *testKey) simKey(p exchange.Permissions) exchangetest.CoinbaseKey {
	return exchangetest.CoinbaseKey{Name: keyName, PublicKey: k.priv.Public(), Permissions: p}
}

// wireTap records the Authorization header of every request, so tests
// can check that no JWT leaks anywhere.
type wireTap struct {
	mu   sync.Mutex
	next http.RoundTripper
	jwts []string
	reqs []tapped
}

type tapped struct {
	method, path string
	body         []byte
}

func (w *wireTap) RoundTrip(r *http.Request) (*http.Response, error) {
	w.mu.Lock()
	if a := r.Header.Get("Authorization"); a != "" {
		w.jwts = append(w.jwts, strings.TrimPrefix(a, "Bearer "))
	}
	var body []byte
	if r.GetBody != nil {
		if rc, err := r.GetBody(); err == nil {
			var b bytes.Buffer
			_, _ = b.ReadFrom(rc)
			body = b.Bytes()
		}
	}
	w.reqs = append(w.reqs, tapped{r.Method, r.URL.Path, body})
	w.mu.Unlock()
	return w.next.RoundTrip(r)
}

func (w *wireTap) tokens() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.jwts...)
}

func (w *wireTap) sent() []tapped {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]tapped(nil), w.reqs...)
}

// env is a client against the simulated Coinbase.
type env struct {
	sim  *exchangetest.Coinbase
	key  *testKey
	c    *Client
	g    *recorder
	a    *memAudit
	logs *bytes.Buffer
	tap  *wireTap
	cfg  Config
	errs []error // errors seen by the test, checked for leaks
}

func newEnv(t *testing.T, kt signer.KeyType, perms exchange.Permissions, mutate func(*Config), simOpts ...exchangetest.CoinbaseOption) (*env, error) {
	t.Helper()
	e := &env{key: newTestKey(t, kt), g: &recorder{}, a: &memAudit{}, logs: &bytes.Buffer{}}
	simLogs := slog.New(slog.NewTextHandler(e.logs, nil))
	e.sim = exchangetest.NewCoinbase(append([]exchangetest.CoinbaseOption{exchangetest.WithCoinbaseLogger(simLogs)}, simOpts...)...)
	t.Cleanup(e.sim.Close)
	e.sim.AddKey(e.key.simKey(perms))
	e.tap = &wireTap{next: http.DefaultTransport.(*http.Transport).Clone()}
	e.cfg = Config{
		BaseURL: e.sim.URL(), Credential: "cb", Signer: e.key.store, Guard: e.g, Audit: e.a,
		HTTPClient: &http.Client{Transport: e.tap},
		Logger:     slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		KeyRisks:   exchange.KeyRisks{UnrestrictedIP: true},
	}
	if mutate != nil {
		mutate(&e.cfg)
	}
	c, err := New(context.Background(), e.cfg)
	e.c = c
	t.Cleanup(func() { e.assertNoLeak(t) })
	return e, err
}

func mustEnv(t *testing.T, kt signer.KeyType) *env {
	t.Helper()
	e, err := newEnv(t, kt, exchange.Permissions{Read: true, Trade: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// seen records an error for the leak check.
func (e *env) seen(err error) error {
	if err != nil {
		e.errs = append(e.errs, err)
	}
	return err
}

// assertNoLeak checks that neither the private key nor any JWT sent
// appears in the logs, the audit records or the errors the test saw.
func (e *env) assertNoLeak(t *testing.T) {
	t.Helper()
	secrets := append([]string(nil), e.key.canary...)
	for _, j := range e.tap.tokens() {
		secrets = append(secrets, j, j[strings.LastIndexByte(j, '.')+1:])
	}
	var haystack strings.Builder
	haystack.WriteString(e.logs.String())
	for _, r := range e.a.records() {
		fmt.Fprintf(&haystack, "%+v\n", r)
	}
	for _, err := range e.errs {
		fmt.Fprintf(&haystack, "%v %+v\n", err, err)
	}
	h := haystack.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(h, s) {
			t.Errorf("a secret (key material or JWT) appears in logs, audit records or errors")
			return
		}
	}
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }
