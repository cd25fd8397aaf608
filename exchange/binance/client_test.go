package binance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
)

// canarySecret must never appear in logs, errors or audit records.
const canarySecret = "CANARY-9f1c2e7a-binance-secret-do-not-print"

type clientEnv struct {
	fake  *fakeBinance
	c     *Client
	g     *recorder
	a     *memAudit
	rate  *rateRecorder
	logs  *bytes.Buffer
	cfg   Config
	store *signer.Memory
}

func newClientEnv(t *testing.T, mutate func(*fakeBinance, *Config)) (*clientEnv, error) {
	t.Helper()
	store := signer.NewMemory()
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Import(signer.KeyInfo{Name: "main", Venue: Venue, APIKey: "test-api-key", Type: signer.KeyHMAC}, []byte(canarySecret), nil); err != nil {
		t.Fatal(err)
	}
	env := &clientEnv{fake: newFakeBinance(t, "test-api-key", []byte(canarySecret)), g: &recorder{}, a: &memAudit{},
		rate: &rateRecorder{}, logs: &bytes.Buffer{}, store: store}
	env.cfg = Config{
		BaseURL: env.fake.srv.URL, Credential: "main", Signer: store, Guard: env.g, Audit: env.a, Rate: env.rate,
		HTTPClient: env.fake.srv.Client(), Logger: slog.New(slog.NewTextHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RecvWindow: 5 * time.Second,
	}
	if mutate != nil {
		mutate(env.fake, &env.cfg)
	}
	c, err := New(context.Background(), env.cfg)
	env.c = c
	t.Cleanup(func() { env.assertNoCanary(t) })
	return env, err
}

func (e *clientEnv) assertNoCanary(t *testing.T) {
	t.Helper()
	if strings.Contains(e.logs.String(), canarySecret) {
		t.Error("secret in logs")
	}
	for _, r := range e.a.records() {
		if strings.Contains(fmt.Sprintf("%+v", r), canarySecret) {
			t.Error("secret in audit record")
		}
	}
}

func mustClient(t *testing.T, mutate func(*fakeBinance, *Config)) *clientEnv {
	t.Helper()
	env, err := newClientEnv(t, mutate)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestClientPlaceQueryCancel(t *testing.T) {
	env := mustClient(t, nil)
	ctx := context.Background()
	o, err := env.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: dec("0.001"), Price: dec("50000")})
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "1" || o.Status != exchange.StatusNew || o.TimeInForce != exchange.GTC || !strings.HasPrefix(o.ClientID, "kf-") ||
		!o.Price.Equal(dec("50000")) || o.Created.IsZero() {
		t.Fatalf("placed %+v", o)
	}
	commits, releases, _ := env.g.snapshot()
	if len(commits) != 1 || len(commits[0].Orders) != 1 || commits[0].Orders[0] != (exchange.OrderRef{ID: "1", ClientID: o.ClientID, Symbol: "BTCUSDT"}) ||
		!commits[0].FilledQuote.IsZero() {
		t.Fatalf("commits %+v, want the order open", commits)
	}
	got, err := env.c.GetOrder(ctx, "BTCUSDT", "1")
	if err != nil || got.Status != exchange.StatusNew || got.ClientID != o.ClientID {
		t.Fatalf("get %+v %v", got, err)
	}
	open, err := env.c.OpenOrders(ctx, "BTCUSDT")
	if err != nil || len(open) != 1 {
		t.Fatalf("open %+v %v", open, err)
	}
	cancelled, err := env.c.CancelOrder(ctx, "BTCUSDT", "1")
	if err != nil || cancelled.Status != exchange.StatusCanceled {
		t.Fatalf("cancel %+v %v", cancelled, err)
	}
	_, releases2, closed := env.g.snapshot()
	if len(closed) != 1 || closed[0] != "1" {
		t.Fatalf("closed %v", closed)
	}
	// Reads and cancels give their reservation back with no cause.
	if len(releases2) <= len(releases) || releases2[len(releases2)-1] != nil {
		t.Fatalf("releases %v", releases2)
	}
	// A market order fills at once: committed as not open.
	m, err := env.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.Market, Quantity: dec("0.001")})
	if err != nil || m.Status != exchange.StatusFilled || m.TimeInForce != "" {
		t.Fatalf("market %+v %v", m, err)
	}
	commits, _, _ = env.g.snapshot()
	if last := commits[len(commits)-1]; last.Open || !last.FilledQuote.Equal(dec("50")) {
		t.Fatalf("market commit %+v", last)
	}
	// Every signed request was audited.
	recs := env.a.records()
	if len(recs) != len(env.fake.signed()) {
		t.Fatalf("%d audit records for %d signed requests", len(recs), len(env.fake.signed()))
	}
	// Usage headers reached the rate limiter.
	var sawWeight, sawOrders bool
	for _, u := range env.rate.usage() {
		sawWeight = sawWeight || u.Used["REQUEST_WEIGHT:1m"] == 7
		sawOrders = sawOrders || u.Used["ORDERS:10s"] == 1
	}
	if !sawWeight || !sawOrders {
		t.Fatalf("usage %+v", env.rate.usage())
	}
}

func TestClientReads(t *testing.T) {
	env := mustClient(t, nil)
	ctx := context.Background()
	bals, err := env.c.Balances(ctx)
	if err != nil || len(bals) != 2 || bals[0].Asset != "BTC" || !bals[0].Total().Equal(dec("2")) {
		t.Fatalf("balances %+v %v", bals, err)
	}
	fills, err := env.c.Fills(ctx, "BTCUSDT")
	if err != nil || len(fills) != 1 || fills[0].Side != exchange.Buy || fills[0].OrderID != "100234" || !fills[0].Price.Equal(dec("4.000001")) {
		t.Fatalf("fills %+v %v", fills, err)
	}
	syms, err := env.c.Symbols(ctx)
	if err != nil || len(syms) != 3 || syms[0].Symbol != "BTCUSDT" {
		t.Fatalf("symbols %+v %v", syms, err)
	}
	q, err := env.c.Reference(ctx, "BTCUSDT")
	if err != nil || !q.Mid().Equal(dec("50000")) {
		t.Fatalf("reference %+v %v", q, err)
	}
	p, err := env.c.Permissions(ctx)
	if err != nil || !p.Trade || !p.IPRestricted || p.Withdraw {
		t.Fatalf("permissions %+v %v", p, err)
	}
	if _, err := env.c.GetOrder(ctx, "BTCUSDT", "999"); !errors.Is(err, exchange.ErrNotFound) {
		t.Fatalf("missing order: %v", err)
	}
}

// A 5xx on an order leaves the budget reserved and says to look the order
// up; it is never reported as a failed order.
func TestClientOutcomeUnknown(t *testing.T) {
	env := mustClient(t, nil)
	env.fake.setOrderFail(func(w http.ResponseWriter) bool {
		fail(w, 503, -1000, "An unknown error occurred while processing the request.")
		return true
	})
	_, before, _ := env.g.snapshot()
	o, err := env.c.PlaceOrder(context.Background(), exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: dec("0.001"), Price: dec("50000"), ClientID: "my-order-1"})
	if !errors.Is(err, exchange.ErrOutcomeUnknown) || errors.Is(err, exchange.ErrRejected) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "look it up") || !strings.Contains(err.Error(), "my-order-1") {
		t.Fatalf("message does not say how to recover: %v", err)
	}
	if o.Status != exchange.StatusUnknown || o.ClientID != "my-order-1" {
		t.Fatalf("order %+v", o)
	}
	// Committed as of unknown outcome: the budget stays reserved until the
	// order is looked up.
	commits, after, _ := env.g.snapshot()
	if len(commits) != 1 || len(after) != len(before) ||
		!reflect.DeepEqual(commits[0].Orders, []exchange.OrderRef{{ClientID: "my-order-1", Symbol: "BTCUSDT", Unknown: true}}) {
		t.Fatalf("reservation settled: commits %+v releases %v", commits, after)
	}
}

// A lost answer (connection dropped after the request was sent) is also an
// unknown outcome.
func TestClientLostAnswer(t *testing.T) {
	env := mustClient(t, nil)
	env.fake.setOrderFail(func(w http.ResponseWriter) bool {
		hj, ok := w.(http.Hijacker)
		if !ok {
			return false
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return true
	})
	_, err := env.c.PlaceOrder(context.Background(), exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: dec("0.001"), Price: dec("50000")})
	if !errors.Is(err, exchange.ErrOutcomeUnknown) {
		t.Fatalf("err = %v", err)
	}
	commits, releases, _ := env.g.snapshot()
	for _, r := range releases {
		if r != nil {
			t.Fatalf("released with %v", r)
		}
	}
	if len(commits) != 1 || len(commits[0].Orders) != 1 || !commits[0].Orders[0].Unknown || commits[0].Orders[0].ClientID == "" {
		t.Fatalf("commits %+v, want the order of unknown outcome", commits)
	}
}

// A venue refusal releases the reservation with the API error as cause.
func TestClientRefusalReleases(t *testing.T) {
	env := mustClient(t, nil)
	env.fake.setOrderFail(func(w http.ResponseWriter) bool {
		fail(w, 400, -2010, "Account has insufficient balance for requested action.")
		return true
	})
	_, err := env.c.PlaceOrder(context.Background(), exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: dec("0.001"), Price: dec("50000")})
	var ae *exchange.APIError
	if !errors.As(err, &ae) || ae.Code != "-2010" || !errors.Is(err, exchange.ErrRejected) {
		t.Fatalf("err = %v", err)
	}
	_, releases, _ := env.g.snapshot()
	if last := releases[len(releases)-1]; !errors.As(last, &ae) || ae.Code != "-2010" {
		t.Fatalf("release cause %v", last)
	}
}

func TestClientRateLimitedReportsRetryAfter(t *testing.T) {
	env := mustClient(t, nil)
	env.fake.setOrderFail(func(w http.ResponseWriter) bool {
		w.Header().Set("Retry-After", "30")
		fail(w, 429, -1003, "Too many requests; current limit of IP is 6000 request weight per 1 MINUTE.")
		return true
	})
	_, err := env.c.PlaceOrder(context.Background(), exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: dec("0.001"), Price: dec("50000")})
	if !errors.Is(err, exchange.ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	us := env.rate.usage()
	if last := us[len(us)-1]; last.Status != 429 || last.RetryAfter != 30*time.Second {
		t.Fatalf("usage %+v", last)
	}
}

// Filters are checked before anything is signed or sent.
func TestClientFilterBeforeSigning(t *testing.T) {
	env := mustClient(t, nil)
	n := len(env.a.records())
	_, err := env.c.PlaceOrder(context.Background(), exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: dec("0.001"), Price: dec("50000.005")})
	var fe *exchange.FilterError
	if !errors.As(err, &fe) || fe.Filter != "PRICE_FILTER tickSize" {
		t.Fatalf("err = %v", err)
	}
	if len(env.a.records()) != n {
		t.Fatal("a filtered order reached the audit log")
	}
	for _, o := range []exchange.Order{
		{Symbol: "NOPE", Side: exchange.Buy, Type: exchange.Limit, Quantity: dec("1"), Price: dec("1")},
		{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.StopLoss, Quantity: dec("1")},
		{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Market, TimeInForce: exchange.GTC, Quantity: dec("1")},
	} {
		if _, err := env.c.PlaceOrder(context.Background(), o); !errors.Is(err, exchange.ErrMalformedRequest) {
			t.Errorf("%v: %v", o, err)
		}
	}
}

// The hygiene check refuses a key that can withdraw, unless the policy
// accepts it.
func TestClientRefusesTooPowerfulKey(t *testing.T) {
	powerful := func(f *fakeBinance, _ *Config) {
		f.perms = `{"ipRestrict":false,"enableReading":true,"enableSpotAndMarginTrading":true,"enableWithdrawals":true,"enableInternalTransfer":false,"permitsUniversalTransfer":false}`
	}
	_, err := newClientEnv(t, powerful)
	if !errors.Is(err, exchange.ErrKeyTooPowerful) || !strings.Contains(err.Error(), "withdrawals are enabled") || !strings.Contains(err.Error(), "no IP restriction") {
		t.Fatalf("err = %v", err)
	}
	_, err = newClientEnv(t, func(f *fakeBinance, c *Config) {
		powerful(f, c)
		c.KeyRisks = exchange.KeyRisks{Withdraw: true, UnrestrictedIP: true}
	})
	if err != nil {
		t.Fatalf("accepted risks: %v", err)
	}
	_, err = newClientEnv(t, func(f *fakeBinance, c *Config) {
		powerful(f, c)
		c.SkipKeyCheck = true
	})
	if err != nil {
		t.Fatalf("skipped check: %v", err)
	}
}

// The server's clock runs 30 s ahead: timestamps use the measured offset,
// so the venue accepts them.
func TestClientClockOffset(t *testing.T) {
	env := mustClient(t, func(f *fakeBinance, _ *Config) { f.offset = 30 * time.Second })
	if off := env.c.Offset(); off < 29*time.Second || off > 31*time.Second {
		t.Fatalf("offset %s", off)
	}
	if _, err := env.c.Balances(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Without the offset the venue refuses the timestamp: ErrClock.
	env.c.offset.Store(0)
	if _, err := env.c.Balances(context.Background()); !errors.Is(err, exchange.ErrClock) {
		t.Fatalf("err = %v", err)
	}
}

func TestClientDoAndAuthorize(t *testing.T) {
	env := mustClient(t, nil)
	ctx := context.Background()
	resp, err := env.c.Do(ctx, &exchange.Request{Method: "GET", Path: "/api/v3/ticker/bookTicker", Params: params("symbol", "ETHBTC")})
	if err != nil || !strings.Contains(string(resp.Body), "ETHBTC") {
		t.Fatalf("public %v", err)
	}
	if _, err := env.c.Do(ctx, &exchange.Request{Method: "POST", Path: "/sapi/v1/convert/acceptQuote"}); !errors.Is(err, exchange.ErrUnknownEndpoint) {
		t.Fatalf("unknown route: %v", err)
	}
	if _, err := env.c.Do(ctx, &exchange.Request{Credential: "other", Method: "GET", Path: "/api/v3/account"}); err == nil {
		t.Fatal("request for another credential accepted")
	}
	sent := len(env.fake.signed())
	a, err := env.c.Authorize(ctx, &exchange.Request{Method: "POST", Path: "/api/v3/order",
		Params: params("symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.001", "price", "50000")})
	if err != nil {
		t.Fatal(err)
	}
	if len(env.fake.signed()) != sent || !strings.Contains(a.Wire.Query, "&signature=") || a.Wire.Header.Get(APIKeyHeader) != "test-api-key" {
		t.Fatalf("dry run %+v", a.Wire)
	}
	if err := a.Reservation.Release(ctx, nil); err != nil {
		t.Fatal(err)
	}
	resp, err = env.c.Do(ctx, &exchange.Request{Method: "GET", Path: "/api/v3/account"})
	if err != nil || resp.Status != 200 {
		t.Fatalf("signed Do %v", err)
	}
}

// Every order a cancel closes is reported to the guard, including through
// Do (DELETE /api/v3/openOrders answers with a list).
func TestClientCancelAllReportsClosed(t *testing.T) {
	env := mustClient(t, nil)
	ctx := context.Background()
	for range 2 {
		if _, err := env.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
			Quantity: dec("0.001"), Price: dec("50000")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.c.Do(ctx, &exchange.Request{Method: "DELETE", Path: "/api/v3/openOrders", Params: params("symbol", "BTCUSDT")}); err != nil {
		t.Fatal(err)
	}
	_, _, closed := env.g.snapshot()
	sort.Strings(closed)
	if strings.Join(closed, ",") != "1,2,70,71" {
		t.Fatalf("closed %v", closed)
	}
}
