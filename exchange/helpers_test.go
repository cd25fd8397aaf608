package exchange_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// testNow is the fixed time of every fixture: the guard's clock, the
// authorizer's clock and the reference quotes agree on it.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const testPolicy = `
version: 1
credentials:
  bot:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTCUSDT: {}
`

// staticPrices is a fixed reference price source.
type staticPrices map[string]exchange.Quote

func (p staticPrices) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	q, ok := p[symbol]
	if !ok {
		return exchange.Quote{}, errors.New("no ticker for " + symbol)
	}
	return q, nil
}

func btcPrices() staticPrices {
	return staticPrices{"BTCUSDT": {Symbol: "BTCUSDT",
		Bid: decimal.RequireFromString("49990"), Ask: decimal.RequireFromString("50000"), At: testNow}}
}

// canary returns a fresh random HMAC secret that tests assert never leaks.
func canary(t testing.TB) []byte {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return []byte("CANARY" + hex.EncodeToString(b))
}

// countingSigner counts the signatures its backend makes.
type countingSigner struct {
	signer.Signer
	mu    sync.Mutex
	calls int
}

func (s *countingSigner) Sign(ctx context.Context, key string, alg signer.Algorithm, msg []byte) ([]byte, error) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	return s.Signer.Sign(ctx, key, alg, msg)
}

func (s *countingSigner) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// recordingGuard wraps a guard and records how its reservations are
// settled. onCheck, when set, runs before the inner guard's Check.
type recordingGuard struct {
	exchange.Guard
	onCheck func(in *exchange.Intent)

	mu       sync.Mutex
	released []error // causes of Release calls
	commits  int
	outcomes []exchange.Outcome // of the commits
}

func (g *recordingGuard) Check(ctx context.Context, in *exchange.Intent) (exchange.Reservation, error) {
	if g.onCheck != nil {
		g.onCheck(in)
	}
	res, err := g.Guard.Check(ctx, in)
	if err != nil {
		return nil, err
	}
	return &recordingReservation{Reservation: res, g: g}, nil
}

func (g *recordingGuard) Releases() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.released)
}

type recordingReservation struct {
	exchange.Reservation
	g *recordingGuard
}

func (r *recordingReservation) Release(ctx context.Context, cause error) error {
	r.g.mu.Lock()
	r.g.released = append(r.g.released, cause)
	r.g.mu.Unlock()
	return r.Reservation.Release(ctx, cause)
}

func (r *recordingReservation) Commit(ctx context.Context, out exchange.Outcome) error {
	r.g.mu.Lock()
	r.g.commits++
	r.g.outcomes = append(r.g.outcomes, out)
	r.g.mu.Unlock()
	return r.Reservation.Commit(ctx, out)
}

// recordingAuditor keeps copies of the records appended; failOn, when set,
// makes Append fail for records with that decision.
type recordingAuditor struct {
	mu      sync.Mutex
	records []audit.Record
	failOn  string
}

var errDiskFull = errors.New("disk full")

func (a *recordingAuditor) Append(ctx context.Context, r *audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failOn != "" && r.Decision == a.failOn {
		return errDiskFull
	}
	a.records = append(a.records, *r)
	return nil
}

func (a *recordingAuditor) Records() []audit.Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]audit.Record(nil), a.records...)
}

// refusingRate is a RateLimiter that refuses every request.
type refusingRate struct {
	mu    sync.Mutex
	waits []exchange.Cost
}

func (r *refusingRate) Wait(ctx context.Context, cost exchange.Cost) error {
	r.mu.Lock()
	r.waits = append(r.waits, cost)
	r.mu.Unlock()
	return &exchange.RateLimitError{Venue: "binance", Limit: "REQUEST_WEIGHT 1m", Until: testNow.Add(time.Minute)}
}

func (r *refusingRate) Observe(exchange.Usage) {}

// fixture is an Authorizer over real peers: the Binance scheme, a memory
// signer holding a canary secret, a limits guard and an audit log in a
// temporary directory.
type fixture struct {
	secret []byte
	keys   *signer.Memory
	signer *countingSigner
	guard  *recordingGuard
	limits *limits.Guard
	log    *audit.Log
	path   string
	logBuf *syncBuffer
	auth   *exchange.Authorizer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{secret: canary(t), keys: signer.NewMemory(), logBuf: new(syncBuffer)}
	t.Cleanup(func() { _ = f.keys.Close() })
	if err := f.keys.Import(signer.KeyInfo{Name: "bot", Venue: "binance", Type: signer.KeyHMAC, APIKey: "bot-api-key"}, f.secret, nil); err != nil {
		t.Fatal(err)
	}
	f.signer = &countingSigner{Signer: f.keys}
	policy, err := limits.ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	f.limits, err = limits.NewGuard(policy, limits.NewMemoryStore(),
		limits.WithPrices("binance", btcPrices()), limits.WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	f.guard = &recordingGuard{Guard: f.limits}
	f.path = filepath.Join(t.TempDir(), "audit.jsonl")
	f.log, err = audit.Open(ctx, f.path, audit.WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.log.Close() })
	scheme, err := binance.NewScheme(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	f.auth = &exchange.Authorizer{
		Scheme: scheme,
		Signer: f.signer,
		Guard:  f.guard,
		Audit:  f.log,
		Clock:  func() time.Time { return testNow },
		Logger: slogJSON(f.logBuf),
	}
	return f
}

// records reads the audit file back.
func (f *fixture) records(t *testing.T) []audit.Record {
	t.Helper()
	if err := f.log.Sync(); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []audit.Record
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, audit.MaxLineBytes)
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyFiles(context.Background(), f.path); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	return out
}

// auditBytes returns the raw audit file.
func (f *fixture) auditBytes(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// limitOrder is a Binance LIMIT order request for the fixture's credential.
func limitOrder(price, qty string) *exchange.Request {
	return &exchange.Request{Credential: "bot", Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
		{Key: "symbol", Value: "BTCUSDT"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
		{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: qty}, {Key: "price", Value: price}}}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// slogJSON returns a logger writing JSON at every level to w.
func slogJSON(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
