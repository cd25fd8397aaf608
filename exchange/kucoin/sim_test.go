package kucoin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/shopspring/decimal"
)

// Canary credentials: they must appear in no error, log line or audit
// record.
const (
	canarySecret     = "CANARY-SECRET-6f1d2b7c"
	canaryPassphrase = "CANARY-PASSPHRASE-93ae"
)

var traderPerms = exchange.Permissions{Read: true, Trade: true, IPRestricted: true}

type simEnv struct {
	sim   *exchangetest.KuCoin
	c     *Client
	g     *recorder
	audit *memAudit
	logs  *bytes.Buffer
}

// newSimEnv starts a simulated KuCoin with one key and connects a client.
func newSimEnv(t *testing.T, perms exchange.Permissions, risks exchange.KeyRisks, opts ...exchangetest.KuCoinOption) (*simEnv, error) {
	t.Helper()
	sim := exchangetest.NewKuCoin(append(opts, exchangetest.WithKuCoinKeys(exchangetest.KuCoinKey{
		APIKey: "sim-key", Secret: []byte(canarySecret), Passphrase: []byte(canaryPassphrase), Permissions: perms}))...)
	t.Cleanup(sim.Close)
	sg, _ := memSigner(t, "bot", "sim-key", canarySecret, canaryPassphrase)
	e := &simEnv{sim: sim, g: &recorder{}, audit: &memAudit{}, logs: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rate, err := NewPools(DefaultPoolLimits(), nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	e.c, err = New(context.Background(), Config{BaseURL: sim.URL(), Credential: "bot", Signer: sg, Guard: e.g, Audit: e.audit,
		Logger: logger, KeyRisks: risks, Rate: rate})
	return e, err
}

func mustSimEnv(t *testing.T) *simEnv {
	t.Helper()
	e, err := newSimEnv(t, traderPerms, exchange.KeyRisks{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func balance(bs []exchange.Balance, asset string) exchange.Balance {
	for _, b := range bs {
		if b.Asset == asset {
			return b
		}
	}
	return exchange.Balance{Asset: asset}
}

func TestSimFlow(t *testing.T) {
	e := mustSimEnv(t)
	ctx := context.Background()

	syms, err := e.c.Symbols(ctx)
	if err != nil || len(syms) != 4 || syms[0].Symbol != "BTC-USDT" {
		t.Fatalf("symbols %v, %v", syms, err)
	}
	q, err := e.c.Reference(ctx, "BTC-USDT")
	if err != nil || !q.Bid.LessThan(q.Ask) || q.Mid().IntPart() != 50000 {
		t.Fatalf("reference %+v, %v", q, err)
	}

	// A limit buy below the market rests, and its quote is locked.
	o, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit,
		Price: d("49000"), Quantity: d("0.01")})
	if err != nil || o.Status != exchange.StatusNew || o.ID == "" || o.ClientID == "" {
		t.Fatalf("limit order %+v, %v", o, err)
	}
	commits, _, _ := e.g.snapshot()
	if len(commits) != 1 || len(commits[0].Orders) != 1 || commits[0].Orders[0] != (exchange.OrderRef{ID: o.ID, ClientID: o.ClientID, Symbol: "BTC-USDT"}) {
		t.Fatalf("commits %+v, want the order open", commits)
	}
	bals, err := e.c.Balances(ctx)
	// The hold is the cost and the fee (0.1%).
	if err != nil || !balance(bals, "USDT").Locked.Equal(d("490.49")) {
		t.Fatalf("balances %v, %v", bals, err)
	}
	open, err := e.c.OpenOrders(ctx, "BTC-USDT")
	if err != nil || len(open) != 1 || open[0].ID != o.ID || open[0].Status != exchange.StatusNew {
		t.Fatalf("open orders %+v, %v", open, err)
	}
	got, err := e.c.GetOrderByClientID(ctx, "BTC-USDT", o.ClientID)
	if err != nil || got.ID != o.ID {
		t.Fatalf("by client id %+v, %v", got, err)
	}

	// Cancel: the order is closed, reported to the guard, funds unlocked.
	c, err := e.c.CancelOrder(ctx, "BTC-USDT", o.ID)
	if err != nil || c.Status != exchange.StatusCanceled {
		t.Fatalf("cancel %+v, %v", c, err)
	}
	if _, _, closed := e.g.snapshot(); len(closed) == 0 || closed[len(closed)-1] != o.ID {
		t.Fatalf("closed %v", closed)
	}
	if b := balance(e.sim.Balances("sim-key"), "USDT"); !b.Locked.IsZero() || !b.Free.Equal(d("10000")) {
		t.Fatalf("after cancel %+v", b)
	}
	if _, err := e.c.CancelOrder(ctx, "BTC-USDT", o.ID); !errors.Is(err, exchange.ErrNotFound) {
		t.Fatalf("second cancel: %v", err)
	}

	// A market buy by funds fills at once.
	m, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: d("100")})
	if err != nil || m.Status != exchange.StatusFilled || !m.Executed.IsPositive() {
		t.Fatalf("market by funds %+v, %v", m, err)
	}
	commits, _, _ = e.g.snapshot()
	if last := commits[len(commits)-1]; last.Open || !last.FilledQuote.IsPositive() {
		t.Fatalf("market commit %+v", last)
	}
	fills, err := e.c.Fills(ctx, "BTC-USDT")
	if err != nil || len(fills) != 1 || fills[0].OrderID != m.ID || fills[0].Side != exchange.Buy {
		t.Fatalf("fills %+v, %v", fills, err)
	}
	if b := balance(e.sim.Balances("sim-key"), "BTC"); !b.Free.GreaterThan(d("1")) {
		t.Fatalf("BTC after the buy %+v", b)
	}

	// A limit sell above the market rests and fills when the price
	// crosses it.
	s, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "ETH-USDT", Side: exchange.Sell, Type: exchange.Limit,
		Price: d("3100"), Quantity: d("1")})
	if err != nil || s.Status != exchange.StatusNew {
		t.Fatalf("sell %+v, %v", s, err)
	}
	e.sim.SetPrice("ETH-USDT", d("3200"))
	s2, err := e.c.GetOrder(ctx, "ETH-USDT", s.ID)
	if err != nil || s2.Status != exchange.StatusFilled || !s2.ExecutedQuo.Equal(d("3100")) {
		t.Fatalf("filled sell %+v, %v", s2, err)
	}
}

func TestSimSettlement(t *testing.T) {
	e := mustSimEnv(t)
	ctx := context.Background()
	// The venue refuses (HTTP 200, code 200004): the reservation is
	// released with the APIError.
	_, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit,
		Price: d("49000"), Quantity: d("10")})
	var ae *exchange.APIError
	if !errors.As(err, &ae) || ae.Code != "200004" || ae.Status != 200 || !errors.Is(err, exchange.ErrRejected) {
		t.Fatalf("insufficient balance: %v", err)
	}
	_, releases, _ := e.g.snapshot()
	if len(releases) == 0 || !errors.As(releases[len(releases)-1], &ae) {
		t.Fatalf("releases %v", releases)
	}

	// A lost answer after execution: committed as of unknown outcome,
	// tracked by its clientOid; not released.
	commits, releases, _ := e.g.snapshot()
	e.sim.FailNextAfterExecuting(503)
	o, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit,
		Price: d("49000"), Quantity: d("0.01")})
	if !errors.Is(err, exchange.ErrOutcomeUnknown) || o.Status != exchange.StatusUnknown || o.ClientID == "" {
		t.Fatalf("lost answer %+v, %v", o, err)
	}
	c2, r2, _ := e.g.snapshot()
	if len(c2) != len(commits)+1 || len(r2) != len(releases) ||
		!reflect.DeepEqual(c2[len(c2)-1].Orders, []exchange.OrderRef{{ClientID: o.ClientID, Symbol: "BTC-USDT", Unknown: true}}) {
		t.Fatalf("settled an unknown outcome: commits %+v, %d releases", c2[len(commits):], len(r2)-len(releases))
	}
	found, err := e.c.GetOrderByClientID(ctx, "BTC-USDT", o.ClientID)
	if err != nil || found.Status != exchange.StatusNew {
		t.Fatalf("look-up after the lost answer %+v, %v", found, err)
	}

	// A 5xx before the matching engine: still unknown to the client, and
	// the venue placed nothing.
	placed := e.sim.OrdersPlaced()
	e.sim.FailNext(502)
	if _, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit,
		Price: d("49000"), Quantity: d("0.01")}); !errors.Is(err, exchange.ErrOutcomeUnknown) || e.sim.OrdersPlaced() != placed {
		t.Fatalf("5xx: %v, %d orders placed", err, e.sim.OrdersPlaced()-placed)
	}
	// A dropped connection after execution is unknown too.
	e.sim.FailNextAfterExecuting(0)
	if _, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit,
		Price: d("49000"), Quantity: d("0.01")}); !errors.Is(err, exchange.ErrOutcomeUnknown) || e.sim.OrdersPlaced() != placed+1 {
		t.Fatalf("dropped connection: %v", err)
	}

	// Filters refuse before anything is signed.
	before := len(e.audit.records())
	_, err = e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit,
		Price: d("49000.05"), Quantity: d("0.01")})
	if !errors.Is(err, exchange.ErrFilter) || len(e.audit.records()) != before {
		t.Fatalf("filter: %v", err)
	}

	// Refused classes never reach the venue: the guard sees them first;
	// routes outside the table are not signed at all.
	e.g.mu.Lock()
	e.g.deny = errors.New("class withdraw refused")
	e.g.mu.Unlock()
	_, err = e.c.Do(ctx, &exchange.Request{Method: "POST", Path: "/api/v1/withdrawals",
		Body: []byte(`{"currency":"USDT","address":"x","amount":"1"}`)})
	if err == nil || len(e.sim.Withdrawals()) != 0 {
		t.Fatalf("withdrawal: %v, %v", err, e.sim.Withdrawals())
	}
	if _, err := e.c.Do(ctx, &exchange.Request{Method: "POST", Path: "/api/v1/margin/order", Body: []byte(`{}`)}); !errors.Is(err, exchange.ErrUnknownEndpoint) {
		t.Fatalf("unknown route: %v", err)
	}
}

// A batch commits the orders the venue placed, one intent order per
// element.
func TestSimMulti(t *testing.T) {
	e := mustSimEnv(t)
	body := `{"orderList":[{"clientOid":"a1","symbol":"BTC-USDT","side":"buy","type":"limit","price":"49000","size":"0.01"},` +
		`{"clientOid":"a2","symbol":"BTC-USDT","side":"buy","type":"limit","price":"49000","size":"100"}]}`
	resp, err := e.c.Do(context.Background(), &exchange.Request{Method: "POST", Path: "/api/v1/hf/orders/multi", Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data []struct {
			Success bool `json:"success"`
		} `json:"data"`
	}
	if json.Unmarshal(resp.Body, &env) != nil || len(env.Data) != 2 || !env.Data[0].Success || env.Data[1].Success {
		t.Fatalf("batch answer %s", resp.Body)
	}
	// The asynchronous batch states no status: the placed order holds
	// its budget as of unknown outcome; the refused one is not tracked.
	commits, _, _ := e.g.snapshot()
	if len(commits) != 1 || len(commits[0].Orders) != 1 || commits[0].Orders[0].ClientID != "a1" || !commits[0].Orders[0].Unknown {
		t.Fatalf("commits %+v", commits)
	}
	if n := len(e.g.intents); n == 0 || len(e.g.intents[n-1].Orders) != 2 {
		t.Fatalf("intents %+v", e.g.intents)
	}
}

func TestSimKeyHygiene(t *testing.T) {
	tests := []struct {
		name  string
		perms exchange.Permissions
		risks exchange.KeyRisks
		ok    bool
	}{
		{"trader", traderPerms, exchange.KeyRisks{}, true},
		{"withdrawal", exchange.Permissions{Read: true, Trade: true, Withdraw: true, IPRestricted: true}, exchange.KeyRisks{}, false},
		{"no ip whitelist", exchange.Permissions{Read: true, Trade: true}, exchange.KeyRisks{}, false},
		{"no ip whitelist accepted", exchange.Permissions{Read: true, Trade: true}, exchange.KeyRisks{UnrestrictedIP: true}, true},
		{"transfer", exchange.Permissions{Read: true, Trade: true, Transfer: true, IPRestricted: true}, exchange.KeyRisks{}, false},
		{"futures", exchange.Permissions{Read: true, Trade: true, IPRestricted: true, Other: []string{"Futures"}}, exchange.KeyRisks{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newSimEnv(t, tc.perms, tc.risks)
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, exchange.ErrKeyTooPowerful)) {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

// The client follows the venue's clock and its pool headers.
func TestSimClockAndRate(t *testing.T) {
	skew := 30 * time.Second
	e, err := newSimEnv(t, traderPerms, exchange.KeyRisks{},
		exchangetest.WithKuCoinClock(func() time.Time { return time.Now().Add(skew) }))
	if err != nil {
		t.Fatal(err)
	}
	if off := e.c.Offset(); off < skew-2*time.Second || off > skew+2*time.Second {
		t.Fatalf("offset %v, want about %v", off, skew)
	}
	if _, err := e.c.Balances(context.Background()); err != nil {
		t.Fatalf("signed request on the venue's clock: %v", err)
	}
	// A small Spot pool: the venue answers 429000 and the client says so.
	e2, err := newSimEnv(t, traderPerms, exchange.KeyRisks{},
		exchangetest.WithKuCoinPoolLimits(exchangetest.KuCoinPoolLimits{Spot: 3}))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e2.c.Do(context.Background(), &exchange.Request{Method: "GET", Path: "/api/v1/hf/orders/active", Params: params("symbol", "BTC-USDT")})
	if err != nil || resp.Header.Get("gw-ratelimit-remaining") != "1" {
		t.Fatalf("first spot request: %v %v", resp, err)
	}
	_, err = e2.c.Do(context.Background(), &exchange.Request{Method: "GET", Path: "/api/v1/hf/fills", Params: params("symbol", "BTC-USDT")})
	var ae *exchange.APIError
	if !errors.As(err, &ae) || ae.Code != "429000" || ae.RetryAfter <= 0 || !errors.Is(err, exchange.ErrRateLimited) {
		t.Fatalf("over the pool: %v", err)
	}
}

// Neither the secret, nor the passphrase, nor the passphrase's HMAC (which
// stands in for it) appears in errors, logs or audit records.
func TestSimCanary(t *testing.T) {
	e := mustSimEnv(t)
	ctx := context.Background()
	var errs []error
	_, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit, Price: d("49000"), Quantity: d("0.01")})
	errs = append(errs, err)
	_, err = e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit, Price: d("49000"), Quantity: d("100")})
	errs = append(errs, err)
	e.sim.AddKey(exchangetest.KuCoinKey{APIKey: "sim-key", Secret: []byte("other"), Passphrase: []byte(canaryPassphrase), Permissions: traderPerms})
	_, err = e.c.Balances(ctx)
	errs = append(errs, err)
	if !errors.Is(err, exchange.ErrPermission) {
		t.Fatalf("rotated key: %v", err)
	}
	mac := base64.StdEncoding.EncodeToString(hmacSHA256([]byte(canarySecret), []byte(canaryPassphrase)))
	var all strings.Builder
	for _, err := range errs {
		fmt.Fprintf(&all, "%v\n%+v\n", err, err)
	}
	all.WriteString(e.logs.String())
	for _, r := range e.audit.records() {
		b, _ := json.Marshal(r)
		all.Write(b)
	}
	if len(e.audit.records()) < 3 {
		t.Fatalf("only %d audit records", len(e.audit.records()))
	}
	for _, canary := range []string{canarySecret, canaryPassphrase, mac} {
		if strings.Contains(all.String(), canary) {
			t.Fatalf("a credential leaked into errors, logs or audit records")
		}
	}
}

// The body the venue checked is the body that was signed and audited.
func TestSimBodySentIsBodySigned(t *testing.T) {
	e := mustSimEnv(t)
	body := `{"clientOid":"x1","symbol":"ETH-USDT","side":"buy","type":"limit","price":"2900","size":"0.1"}`
	a, err := e.c.Authorize(context.Background(), &exchange.Request{Method: "POST", Path: "/api/v1/hf/orders", Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Wire.Body) != body {
		t.Fatalf("wire body %s", a.Wire.Body)
	}
	resp, err := exchange.Do(context.Background(), http.DefaultClient, e.sim.URL(), a.Wire)
	if err != nil || resp.Status != 200 || !bytes.Contains(resp.Body, []byte(`"200000"`)) {
		t.Fatalf("venue answer %v %s", err, resp.Body)
	}
	_ = a.Reservation.Release(context.Background(), nil)
	orders := e.sim.Orders("sim-key")
	if len(orders) != 1 || orders[0].ClientID != "x1" || !orders[0].Price.Equal(decimal.RequireFromString("2900")) {
		t.Fatalf("venue orders %+v", orders)
	}
}
