package coinbase

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

func TestClientFlow(t *testing.T) {
	for _, kt := range []signer.KeyType{signer.KeyECDSAP256, signer.KeyEd25519} {
		t.Run(string(kt), func(t *testing.T) {
			e := mustEnv(t, kt)
			ctx := context.Background()
			c := e.c

			syms, err := c.Symbols(ctx)
			if err != nil || len(syms) != 5 {
				t.Fatalf("symbols %v %v", syms, err)
			}
			q, err := c.Reference(ctx, "BTC-USD")
			if err != nil || !q.Bid.Equal(d("49999.99")) || !q.Ask.Equal(d("50000.01")) {
				t.Fatalf("reference %+v %v", q, err)
			}
			perms, err := c.Permissions(ctx)
			if err != nil || !perms.Read || !perms.Trade || perms.Transfer || perms.Withdraw {
				t.Fatalf("permissions %+v %v", perms, err)
			}

			// A resting limit order: committed as open.
			o, err := c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USD", Side: exchange.Buy, Type: exchange.Limit, Quantity: d("0.001"), Price: d("40000")})
			if err != nil {
				t.Fatal(e.seen(err))
			}
			if o.ID == "" || o.Status != exchange.StatusNew || o.TimeInForce != exchange.GTC || !o.Price.Equal(d("40000")) ||
				!strings.HasPrefix(o.ClientID, "kf-") || o.Created.IsZero() {
				t.Fatalf("placed %+v", o)
			}
			commits, _, _ := e.g.snapshot()
			// The create answer states no status: the order holds its
			// budget as of unknown outcome until it is seen closed.
			if len(commits) != 1 || len(commits[0].Orders) != 1 ||
				commits[0].Orders[0] != (exchange.OrderRef{ID: o.ID, ClientID: o.ClientID, Symbol: "BTC-USD", Unknown: true}) {
				t.Fatalf("commits %+v", commits)
			}
			// The hold is the cost and the fee at the higher rate (1.2%).
			if bal := balanceOf(t, c, "USD"); !bal.Locked.Equal(d("40.48")) || !bal.Free.Equal(d("9959.52")) {
				t.Fatalf("USD after limit order %+v", bal)
			}
			open, err := c.OpenOrders(ctx, "BTC-USD")
			if err != nil || len(open) != 1 || open[0].ID != o.ID {
				t.Fatalf("open %+v %v", open, err)
			}

			// Edit: valued as a limit order at the new price and size.
			if err := c.EditOrder(ctx, o.ID, d("41000"), d("0.002")); err != nil {
				t.Fatal(e.seen(err))
			}
			got, err := c.GetOrder(ctx, "BTC-USD", o.ID)
			if err != nil || !got.Price.Equal(d("41000")) || !got.Quantity.Equal(d("0.002")) {
				t.Fatalf("edited %+v %v", got, err)
			}
			e.g.mu.Lock()
			last := e.g.intents[len(e.g.intents)-2] // the edit, before the read back
			e.g.mu.Unlock()
			if last.Route.Name != "POST "+Prefix+"/orders/edit" || last.Orders[0].Symbol != "BTC-USD" || !last.Orders[0].Price.Equal(d("41000")) {
				t.Fatalf("edit intent %+v", last)
			}

			// Cancel: reported closed to the guard.
			cancelled, err := c.CancelOrder(ctx, "BTC-USD", o.ID)
			if err != nil || cancelled.Status != exchange.StatusCanceled {
				t.Fatalf("cancel %+v %v", cancelled, e.seen(err))
			}
			if _, _, closed := e.g.snapshot(); len(closed) != 1 || closed[0] != o.ID {
				t.Fatalf("closed %v", closed)
			}
			if _, err := c.CancelOrder(ctx, "BTC-USD", o.ID); !errors.Is(e.seen(err), exchange.ErrRejected) {
				t.Errorf("second cancel: %v", err)
			}

			// Market by quote: fills at once, read back and reported closed.
			m, err := c.PlaceOrder(ctx, exchange.Order{Symbol: "ETH-USD", Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: d("100")})
			if err != nil || m.Status != exchange.StatusFilled || m.Executed.Sign() <= 0 || m.ExecutedQuo.GreaterThan(d("100")) {
				t.Fatalf("market %+v %v", m, e.seen(err))
			}
			if _, _, closed := e.g.snapshot(); closed[len(closed)-1] != m.ID {
				t.Fatalf("market order not reported closed: %v", closed)
			}
			fills, err := c.Fills(ctx, "ETH-USD")
			if err != nil || len(fills) != 1 || fills[0].OrderID != m.ID || !fills[0].Quantity.Equal(m.Executed) || fills[0].FeeAsset != "USD" {
				t.Fatalf("fills %+v %v", fills, err)
			}
			if bal := balanceOf(t, c, "ETH"); !bal.Free.Equal(d("10").Add(m.Executed)) {
				t.Fatalf("ETH %+v", bal)
			}

			// Every body on the wire is the body the audit log hashed.
			checkWireMatchesAudit(t, e)
		})
	}
}

func balanceOf(t *testing.T, c *Client, asset string) exchange.Balance {
	t.Helper()
	bs, err := c.Balances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Asset == asset {
			return b
		}
	}
	return exchange.Balance{Asset: asset}
}

// checkWireMatchesAudit checks that each POST body sent is covered by an
// allowed audit record's payload hash.
func checkWireMatchesAudit(t *testing.T, e *env) {
	t.Helper()
	hashes := map[audit.Digest]bool{}
	for _, r := range e.a.records() {
		hashes[r.PayloadSHA256] = true
	}
	n := 0
	for _, s := range e.tap.sent() {
		if s.method != http.MethodPost {
			continue
		}
		n++
		sum := sha256.Sum256(append([]byte(s.method+" "+s.path+"\n"), s.body...))
		if !hashes[sum] {
			t.Errorf("%s %s sent a body no audit record covers: %s", s.method, s.path, s.body)
		}
	}
	if n == 0 {
		t.Error("no POST seen")
	}
}

func TestClientKeyHygiene(t *testing.T) {
	_, err := newEnv(t, signer.KeyECDSAP256, exchange.Permissions{Read: true, Trade: true, Transfer: true}, nil)
	if !errors.Is(err, exchange.ErrKeyTooPowerful) || !strings.Contains(err.Error(), "transfers") || !strings.Contains(err.Error(), "withdrawals") {
		t.Errorf("key with can_transfer: %v", err)
	}
	_, err = newEnv(t, signer.KeyECDSAP256, exchange.Permissions{Read: true, Trade: true}, func(c *Config) { c.KeyRisks = exchange.KeyRisks{} })
	if !errors.Is(err, exchange.ErrKeyTooPowerful) || !strings.Contains(err.Error(), "IP") {
		t.Errorf("IP restriction unknown: %v", err)
	}
	_, err = newEnv(t, signer.KeyECDSAP256, exchange.Permissions{Read: true, Trade: true, Transfer: true},
		func(c *Config) { c.KeyRisks = exchange.KeyRisks{UnrestrictedIP: true, Transfer: true, Withdraw: true} })
	if err != nil {
		t.Errorf("accepted risks: %v", err)
	}
}

func TestClientUnknownKeyIsSignatureError(t *testing.T) {
	e := &env{key: newTestKey(t, signer.KeyECDSAP256)}
	sim := exchangetest.NewCoinbase()
	t.Cleanup(sim.Close)
	_, err := New(context.Background(), Config{BaseURL: sim.URL(), Credential: "cb", Signer: e.key.store, Guard: &recorder{}, Audit: &memAudit{},
		KeyRisks: exchange.KeyRisks{UnrestrictedIP: true}})
	var api *exchange.APIError
	if !errors.Is(err, exchange.ErrSignature) || !errors.As(err, &api) || api.Status != 401 {
		t.Errorf("unknown key: %v", err)
	}
	if f := sim.AuthFailures(); len(f) != 1 || f[0] != "unknown kid" {
		t.Errorf("simulator saw %v", f)
	}
}

func TestClientOrderRefusedInside200(t *testing.T) {
	e := mustEnv(t, signer.KeyECDSAP256)
	if err := e.sim.SetBalance(keyName, "USD", d("1")); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.PlaceOrder(context.Background(), exchange.Order{Symbol: "BTC-USD", Side: exchange.Buy, Type: exchange.Limit, Quantity: d("0.001"), Price: d("40000")})
	var api *exchange.APIError
	if !errors.Is(e.seen(err), exchange.ErrRejected) || !errors.As(err, &api) || api.Code != "INSUFFICIENT_FUND" || api.Status != 200 {
		t.Fatalf("err %v", err)
	}
	_, releases, _ := e.g.snapshot()
	if !errors.As(releases[len(releases)-1], &api) {
		t.Errorf("refused order released without the venue's error: %v", releases)
	}
	// A post-only order that would cross is refused by the venue too.
	_, err = e.c.PlaceOrder(context.Background(), exchange.Order{Symbol: "ETH-BTC", Side: exchange.Buy, Type: exchange.LimitMaker, Quantity: d("1"), Price: d("0.07")})
	if !errors.As(e.seen(err), &api) || api.Code != "INVALID_LIMIT_PRICE_POST_ONLY" {
		t.Errorf("crossing post-only: %v", err)
	}
	if n := e.sim.OrdersPlaced(); n != 0 {
		t.Errorf("%d orders reached the engine", n)
	}
}

func TestClientFiltersBeforeSigning(t *testing.T) {
	e := mustEnv(t, signer.KeyECDSAP256)
	before := len(e.a.records())
	for _, tc := range []struct {
		o      exchange.Order
		filter string
	}{
		{exchange.Order{Symbol: "BTC-USD", Side: exchange.Buy, Type: exchange.Limit, Quantity: d("0.001"), Price: d("40000.001")}, "price_increment"},
		{exchange.Order{Symbol: "THIN-USD", Side: exchange.Buy, Type: exchange.Limit, Quantity: d("100.5"), Price: d("0.05")}, "base_increment"},
		{exchange.Order{Symbol: "LIMIT-USD", Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: d("10")}, "limit_only"},
		{exchange.Order{Symbol: "BTC-USD", Side: exchange.Sell, Type: exchange.Market, Quantity: d("0.00001")}, "quote_min_size"},
	} {
		_, err := e.c.PlaceOrder(context.Background(), tc.o)
		var fe *exchange.FilterError
		if !errors.As(e.seen(err), &fe) || fe.Filter != tc.filter {
			t.Errorf("%v: %v, want %s", tc.o, err, tc.filter)
		}
	}
	for _, r := range e.a.records()[before:] {
		if r.Class == string(exchange.ClassTrade) {
			t.Errorf("an order breaking a filter reached the audit log: %+v", r)
		}
	}
}

func TestClientOutcomeUnknown(t *testing.T) {
	e := mustEnv(t, signer.KeyECDSAP256)
	e.sim.FailNextAfterExecuting(http.StatusInternalServerError)
	commits0, releases0, _ := e.g.snapshot()
	o, err := e.c.PlaceOrder(context.Background(), exchange.Order{Symbol: "BTC-USD", Side: exchange.Buy, Type: exchange.Limit, Quantity: d("0.001"), Price: d("40000"), ClientID: "kf-lost"})
	if !errors.Is(e.seen(err), exchange.ErrOutcomeUnknown) || errors.Is(err, exchange.ErrRejected) || o.Status != exchange.StatusUnknown || !strings.Contains(err.Error(), "kf-lost") {
		t.Fatalf("%+v %v", o, err)
	}
	// Committed as of unknown outcome (its budget held), never released.
	commits, releases, _ := e.g.snapshot()
	if len(commits) != len(commits0)+1 || len(releases) != len(releases0) ||
		!reflect.DeepEqual(commits[len(commits)-1].Orders, []exchange.OrderRef{{ClientID: "kf-lost", Symbol: "BTC-USD", Unknown: true}}) {
		t.Errorf("the reservation of an order of unknown outcome was settled: commits %+v", commits[len(commits0):])
	}
	open, err := e.c.OpenOrders(context.Background(), "BTC-USD")
	if err != nil || len(open) != 1 || open[0].ClientID != "kf-lost" {
		t.Errorf("the order is at the venue: %+v %v", open, err)
	}
}

// stubRate is a RateLimiter that never waits and records what it observed.
type stubRate struct {
	mu  sync.Mutex
	obs []exchange.Usage
}

func (s *stubRate) Wait(context.Context, exchange.Cost) error { return nil }
func (s *stubRate) Observe(u exchange.Usage) {
	s.mu.Lock()
	s.obs = append(s.obs, u)
	s.mu.Unlock()
}

func TestClientRateLimited(t *testing.T) {
	start := time.Now()
	rate := &stubRate{}
	e, err := newEnv(t, signer.KeyECDSAP256, exchange.Permissions{Read: true, Trade: true}, func(c *Config) { c.Rate = rate },
		exchangetest.WithCoinbaseRateLimits(100, 100), exchangetest.WithCoinbaseClock(func() time.Time { return start }))
	if err != nil {
		t.Fatal(err)
	}
	var rl error
	for range 200 {
		if _, err := e.c.Balances(context.Background()); err != nil {
			rl = e.seen(err)
			break
		}
	}
	var api *exchange.APIError
	if !errors.Is(rl, exchange.ErrRateLimited) || !errors.As(rl, &api) || api.Status != 429 || api.RetryAfter < time.Second {
		t.Fatalf("err %v", rl)
	}
	rate.mu.Lock()
	defer rate.mu.Unlock()
	lastOK, last := rate.obs[len(rate.obs)-2], rate.obs[len(rate.obs)-1]
	if last.Status != 429 || last.RetryAfter < time.Second || lastOK.Used["PRIVATE:1s"] != 100 {
		t.Errorf("observed %+v then %+v", lastOK, last)
	}
	if e.sim.Count429() != 1 {
		t.Errorf("429s %d", e.sim.Count429())
	}
}

// TestGuardRefusesTransfers: with keyfence's guard, transfer and send
// routes are refused before signing, and the simulator, which would
// execute them, never sees them.
func TestGuardRefusesTransfers(t *testing.T) {
	nd := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(d(s)) }
	pol := &limits.Policy{Version: 1, Credentials: map[string]*limits.CredentialPolicy{"cb": {
		Venue: Venue, OrderTypes: []exchange.OrderType{exchange.Limit, exchange.Market}, MaxOpenOrders: 10, PriceBand: nd("0.05"),
		AcceptKeyRisks: exchange.KeyRisks{UnrestrictedIP: true},
		Quotes:         map[string]limits.Caps{"USD": {MaxOrderNotional: nd("1000"), MaxDailyNotional: nd("10000")}},
		Symbols:        map[string]limits.SymbolPolicy{"BTC-USD": {}},
	}}}
	prices := NewPriceFeed(PriceFeedConfig{})
	g, err := limits.NewGuard(pol, limits.NewMemoryStore(), limits.WithPrices(Venue, prices))
	if err != nil {
		t.Fatal(err)
	}
	e, err := newEnv(t, signer.KeyECDSAP256, exchange.Permissions{Read: true, Trade: true, Transfer: true}, func(c *Config) {
		c.Guard, c.Prices = g, prices
		c.KeyRisks = exchange.KeyRisks{UnrestrictedIP: true, Transfer: true, Withdraw: true}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, req := range []*exchange.Request{
		{Method: "POST", Path: Prefix + "/portfolios/move_funds", Body: []byte(`{"funds":{"value":"100","currency":"USD"},"source_portfolio_uuid":"a","target_portfolio_uuid":"b"}`)},
		{Method: "POST", Path: "/v2/accounts/" + "x" + "/transactions", Body: []byte(`{"type":"send","to":"addr","amount":"0.5","currency":"BTC"}`)},
	} {
		if _, err := e.c.Do(ctx, req); !errors.Is(e.seen(err), limits.ErrDenied) {
			t.Errorf("%s %s: %v, want denied", req.Method, req.Path, err)
		}
	}
	// Orders still go through the real guard, valued at the venue's best
	// bid and ask; one above the cap is refused.
	if _, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USD", Side: exchange.Buy, Type: exchange.Limit, Quantity: d("0.001"), Price: d("49000")}); err != nil {
		t.Fatal(e.seen(err))
	}
	if _, err := e.c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USD", Side: exchange.Buy, Type: exchange.Limit, Quantity: d("0.1"), Price: d("49000")}); !errors.Is(e.seen(err), limits.ErrDenied) {
		t.Errorf("order above the cap: %v", err)
	}
	if tr := e.sim.Transfers(); len(tr) != 0 {
		t.Fatalf("funds moved: %+v", tr)
	}
	for _, s := range e.tap.sent() {
		if strings.Contains(s.path, "move_funds") || strings.HasPrefix(s.path, "/v2/") {
			t.Errorf("%s reached the venue", s.path)
		}
	}

	// The same requests through an allow-all guard do move funds at the
	// simulator: the refusal above is keyfence's doing.
	open, err := newEnv(t, signer.KeyECDSAP256, exchange.Permissions{Read: true, Trade: true, Transfer: true},
		func(c *Config) { c.KeyRisks = exchange.KeyRisks{UnrestrictedIP: true, Transfer: true, Withdraw: true} })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open.c.Do(ctx, &exchange.Request{Method: "POST", Path: Prefix + "/portfolios/move_funds",
		Body: []byte(`{"funds":{"value":"100","currency":"USD"},"source_portfolio_uuid":"a","target_portfolio_uuid":"b"}`)}); err != nil {
		t.Fatal(open.seen(err))
	}
	if tr := open.sim.Transfers(); len(tr) != 1 || !tr[0].Amount.Equal(d("100")) {
		t.Errorf("transfers %+v", tr)
	}
}

func TestClientRefusesForeignCredential(t *testing.T) {
	e := mustEnv(t, signer.KeyECDSAP256)
	if _, err := e.c.Do(context.Background(), &exchange.Request{Credential: "other", Method: "GET", Path: Prefix + "/accounts"}); err == nil {
		t.Error("request for another credential accepted")
	}
	if _, err := e.c.Do(context.Background(), &exchange.Request{Method: "GET", Path: Prefix + "/unknown"}); !errors.Is(err, exchange.ErrUnknownEndpoint) {
		t.Errorf("unknown endpoint: %v", err)
	}
}
