package exchange_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// recordingRate is a RateLimiter that records what it is asked; before
// each Wait it notes how many requests the venue had received.
type recordingRate struct {
	hits *atomic.Int64 // the venue's request count

	mu         sync.Mutex
	waits      []exchange.Cost
	hitsAtWait []int64
	observed   []exchange.Usage
}

func (r *recordingRate) Wait(ctx context.Context, cost exchange.Cost) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits = append(r.waits, cost)
	r.hitsAtWait = append(r.hitsAtWait, r.hits.Load())
	return nil
}

func (r *recordingRate) Observe(u exchange.Usage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observed = append(r.observed, u)
}

// testVenue is a venue whose answers carry their status in the path: a
// handler answers each path with the status and body set for it, and its
// usage header X-Used.
type testVenue struct {
	srv  *httptest.Server
	hits atomic.Int64

	mu      sync.Mutex
	answers map[string]testAnswer
}

type testAnswer struct {
	status int
	body   string
}

func newTestVenue(t *testing.T) *testVenue {
	t.Helper()
	v := &testVenue{answers: make(map[string]testAnswer)}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := v.hits.Add(1)
		v.mu.Lock()
		a, ok := v.answers[r.Method+" "+r.URL.Path]
		v.mu.Unlock()
		if !ok {
			a = testAnswer{status: http.StatusNotFound, body: `{"code":"404","msg":"no route"}`}
		}
		if a.status == 0 { // drop the connection: the outcome is unknown
			hj, _ := w.(http.Hijacker)
			conn, _, err := hj.Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		w.Header().Set("X-Used", strconv.FormatInt(n, 10))
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *testVenue) answer(route string, status int, body string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.answers[route] = testAnswer{status: status, body: body}
}

// testAPIError is the test venue's error mapping: a non-2xx answer
// becomes an APIError whose Code is the body's "code"; a 5xx is of unknown
// outcome, others refusals.
func testAPIError(resp *exchange.Response) ([]byte, *exchange.APIError) {
	if resp.Status/100 == 2 {
		return resp.Body, nil
	}
	e := &exchange.APIError{Venue: "testvenue", Status: resp.Status, Msg: string(resp.Body), Kind: exchange.ErrRejected}
	if i := strings.Index(string(resp.Body), `"code":"`); i >= 0 {
		rest := string(resp.Body)[i+len(`"code":"`):]
		e.Code = rest[:strings.IndexByte(rest, '"')]
	}
	if resp.Status/100 == 5 {
		e.Kind = exchange.ErrOutcomeUnknown
	}
	return nil, e
}

func testUsage(_ *exchange.Request, at time.Time, resp *exchange.Response) exchange.Usage {
	n, _ := strconv.Atoi(resp.Header.Get("X-Used"))
	return exchange.Usage{At: at, Status: resp.Status, Used: map[string]int{"REQUEST_WEIGHT:1m": n}}
}

// connEnv is a Conn to a test venue over the fixture's Authorizer (Binance
// scheme, limits guard, audit log).
type connEnv struct {
	venue    *testVenue
	rate     *recordingRate
	fixture  *fixture
	conn     *exchange.Conn
	accepted atomic.Int64 // calls of the Accepted hook
	closed   atomic.Int64 // calls of the Closed hook
}

func newConnEnv(t *testing.T, edit func(*exchange.ConnConfig)) *connEnv {
	t.Helper()
	e := &connEnv{venue: newTestVenue(t), fixture: newFixture(t)}
	e.rate = &recordingRate{hits: &e.venue.hits}
	e.fixture.auth.Rate = e.rate
	cfg := exchange.ConnConfig{
		Venue: "binance", Credential: "bot", BaseURL: e.venue.srv.URL + "/",
		Guard: e.fixture.guard, Scheme: e.fixture.auth.Scheme,
		Answer:     testAPIError,
		Rate:       func(*exchange.Request) exchange.RateLimiter { return e.rate },
		Usage:      testUsage,
		Authorizer: func(*exchange.Request) *exchange.Authorizer { return e.fixture.auth },
		Accepted: func(ctx context.Context, a *exchange.Authorized, _ *exchange.Response, _ []byte) error {
			e.accepted.Add(1)
			return a.Reservation.Commit(ctx, exchange.Outcome{OrderIDs: []string{"1"}, Open: true})
		},
		Closed: func(context.Context, *exchange.Authorized, []byte) { e.closed.Add(1) },
	}
	if edit != nil {
		edit(&cfg)
	}
	var err error
	e.conn, err = exchange.NewConn(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// settled returns the causes of the releases and the number of commits.
func (e *connEnv) settled() ([]error, int) {
	g := e.fixture.guard
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]error(nil), g.released...), g.commits
}

func clientOrder(id string) *exchange.Request {
	r := limitOrder("50000", "0.01")
	r.Params = append(r.Params, exchange.Param{Key: "newClientOrderId", Value: id})
	return r
}

func TestNewConnRequiresTheVenueHooks(t *testing.T) {
	f := newFixture(t)
	full := exchange.ConnConfig{Venue: "v", Credential: "bot", Scheme: f.auth.Scheme, Answer: testAPIError}
	if _, err := exchange.NewConn(full); err != nil {
		t.Fatalf("complete config refused: %v", err)
	}
	for name, edit := range map[string]func(*exchange.ConnConfig){
		"no venue":      func(c *exchange.ConnConfig) { c.Venue = "" },
		"no credential": func(c *exchange.ConnConfig) { c.Credential = "" },
		"no scheme":     func(c *exchange.ConnConfig) { c.Scheme = nil },
		"no answer":     func(c *exchange.ConnConfig) { c.Answer = nil },
		"rate, no usage": func(c *exchange.ConnConfig) {
			c.Rate = func(*exchange.Request) exchange.RateLimiter { return nil }
		},
	} {
		cfg := full
		edit(&cfg)
		if _, err := exchange.NewConn(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConnDefaults(t *testing.T) {
	f := newFixture(t)
	c, err := exchange.NewConn(exchange.ConnConfig{Venue: "v", Credential: "bot", Scheme: f.auth.Scheme,
		Answer: testAPIError, DefaultBaseURL: "https://venue.example/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "https://venue.example" || c.HTTPClient() == nil || c.Logger() == nil || c.Credential() != "bot" {
		t.Fatalf("defaults: base %q, http %v, logger %v", c.BaseURL(), c.HTTPClient(), c.Logger())
	}
	if s := c.Settler(); s.Venue != "v" || s.Credential != "bot" {
		t.Fatalf("settler %+v", s)
	}
}

func TestConnPublicWaitsThenSends(t *testing.T) {
	e := newConnEnv(t, nil)
	e.venue.answer("GET /api/v3/ticker/bookTicker", http.StatusOK, `{"symbol":"BTCUSDT"}`)
	req := &exchange.Request{Method: http.MethodGet, Path: "/api/v3/ticker/bookTicker",
		Params: exchange.Params{{Key: "symbol", Value: "BTCUSDT"}}}
	route, err := e.fixture.auth.Scheme.Classify(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, payload, err := e.conn.Public(context.Background(), req)
	if err != nil || resp.Status != http.StatusOK || string(payload) != `{"symbol":"BTCUSDT"}` {
		t.Fatalf("public: %v, %v, %q", resp, err, payload)
	}
	e.rate.mu.Lock()
	defer e.rate.mu.Unlock()
	if len(e.rate.waits) != 1 || e.rate.waits[0] != route.Cost || e.rate.hitsAtWait[0] != 0 {
		t.Fatalf("waits %v (venue hits at wait %v), want one of %v before sending", e.rate.waits, e.rate.hitsAtWait, route.Cost)
	}
	if len(e.rate.observed) != 1 || e.rate.observed[0].Used["REQUEST_WEIGHT:1m"] != 1 {
		t.Fatalf("observed %+v, want the venue's usage", e.rate.observed)
	}
}

func TestConnPublicMapsRefusalsToTheVenueError(t *testing.T) {
	e := newConnEnv(t, nil)
	e.venue.answer("GET /api/v3/ticker/bookTicker", http.StatusBadRequest, `{"code":"-1121","msg":"Invalid symbol."}`)
	resp, _, err := e.conn.Public(context.Background(), &exchange.Request{Method: http.MethodGet, Path: "/api/v3/ticker/bookTicker",
		Params: exchange.Params{{Key: "symbol", Value: "NOPE"}}})
	var apiErr *exchange.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "-1121" || resp == nil || resp.Status != http.StatusBadRequest {
		t.Fatalf("err %v, resp %v", err, resp)
	}
}

func TestConnPublicRefusesSignedRoutes(t *testing.T) {
	e := newConnEnv(t, func(c *exchange.ConnConfig) { c.SignedName = "authenticated" })
	_, _, err := e.conn.Public(context.Background(), &exchange.Request{Method: http.MethodGet, Path: "/api/v3/account"})
	if err == nil || !strings.Contains(err.Error(), "is authenticated; send it through Do") || e.venue.hits.Load() != 0 {
		t.Fatalf("err %v, venue hits %d", err, e.venue.hits.Load())
	}
}

func TestConnPublicQueryHook(t *testing.T) {
	e := newConnEnv(t, func(c *exchange.ConnConfig) {
		c.Query = func(exchange.Params) (string, error) { return "", errors.New("bad parameter") }
	})
	_, _, err := e.conn.Public(context.Background(), &exchange.Request{Method: http.MethodGet, Path: "/api/v3/ticker/bookTicker",
		Params: exchange.Params{{Key: "symbol", Value: "BTCUSDT"}}})
	if !errors.Is(err, exchange.ErrMalformedRequest) || e.venue.hits.Load() != 0 {
		t.Fatalf("err %v, venue hits %d", err, e.venue.hits.Load())
	}
}

func TestConnSignedCommitsAnAcceptedOrder(t *testing.T) {
	e := newConnEnv(t, nil)
	e.venue.answer("POST /api/v3/order", http.StatusOK, `{"orderId":1}`)
	resp, payload, err := e.conn.Signed(context.Background(), limitOrder("50000", "0.01"))
	if err != nil || resp.Status != http.StatusOK || string(payload) != `{"orderId":1}` {
		t.Fatalf("signed: %v, %v", resp, err)
	}
	released, commits := e.settled()
	if commits != 1 || len(released) != 0 || e.accepted.Load() != 1 || e.closed.Load() != 0 {
		t.Fatalf("commits %d, releases %v, accepted %d, closed %d", commits, released, e.accepted.Load(), e.closed.Load())
	}
	e.rate.mu.Lock()
	defer e.rate.mu.Unlock()
	if len(e.rate.observed) != 1 {
		t.Fatalf("observed %+v, want the venue's usage", e.rate.observed)
	}
}

func TestConnSignedReleasesWhatCreatesNothing(t *testing.T) {
	e := newConnEnv(t, nil)
	e.venue.answer("GET /api/v3/account", http.StatusOK, `{}`)
	if _, _, err := e.conn.Do(context.Background(), &exchange.Request{Method: http.MethodGet, Path: "/api/v3/account"}); err != nil {
		t.Fatal(err)
	}
	released, commits := e.settled()
	if commits != 0 || len(released) != 1 || released[0] != nil || e.accepted.Load() != 0 || e.closed.Load() != 1 {
		t.Fatalf("commits %d, releases %v, accepted %d, closed %d", commits, released, e.accepted.Load(), e.closed.Load())
	}
}

func TestConnSignedReleasesARefusalWithTheVenueError(t *testing.T) {
	e := newConnEnv(t, nil)
	e.venue.answer("POST /api/v3/order", http.StatusBadRequest, `{"code":"-2010","msg":"insufficient balance"}`)
	resp, _, err := e.conn.Signed(context.Background(), limitOrder("50000", "0.01"))
	var apiErr *exchange.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "-2010" || !errors.Is(err, exchange.ErrRejected) || resp == nil {
		t.Fatalf("err %v", err)
	}
	released, commits := e.settled()
	if commits != 0 || len(released) != 1 || !errors.As(released[0], &apiErr) || apiErr.Code != "-2010" {
		t.Fatalf("commits %d, releases %v: want one release with the venue's error", commits, released)
	}
}

func TestConnSignedRefusedHookSettles(t *testing.T) {
	var refused atomic.Int64
	e := newConnEnv(t, func(c *exchange.ConnConfig) {
		c.Refused = func(ctx context.Context, a *exchange.Authorized, _ *exchange.Response, err *exchange.APIError) bool {
			refused.Add(1)
			return err.Code == "-2021" && a.Reservation.Commit(ctx, exchange.Outcome{OrderIDs: []string{"2"}}) == nil
		}
	})
	e.venue.answer("POST /api/v3/order", http.StatusBadRequest, `{"code":"-2021","msg":"cancel failed, order placed"}`)
	if _, _, err := e.conn.Signed(context.Background(), limitOrder("50000", "0.01")); err == nil {
		t.Fatal("refusal returned no error")
	}
	released, commits := e.settled()
	if refused.Load() != 1 || commits != 1 || len(released) != 0 {
		t.Fatalf("refused %d, commits %d, releases %v", refused.Load(), commits, released)
	}
}

func TestConnSignedKeepsTheBudgetWhenTheOutcomeIsUnknown(t *testing.T) {
	for name, status := range map[string]int{"5xx": http.StatusServiceUnavailable, "dropped connection": 0} {
		t.Run(name, func(t *testing.T) {
			e := newConnEnv(t, func(c *exchange.ConnConfig) {
				c.ClientIDName, c.LookUp = "clientOid", "GetOrderByClientID"
			})
			e.venue.answer("POST /api/v3/order", status, `{"code":"-1001","msg":"internal error"}`)
			_, _, err := e.conn.Signed(context.Background(), clientOrder("my-order-7"))
			if !errors.Is(err, exchange.ErrOutcomeUnknown) {
				t.Fatalf("err %v, want ErrOutcomeUnknown", err)
			}
			for _, want := range []string{"binance POST /api/v3/order", "(clientOid my-order-7)", "look it up (GetOrderByClientID)"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			// The budget stays reserved: the order is committed as of
			// unknown outcome, tracked by its client order id.
			released, commits := e.settled()
			if commits != 1 || len(released) != 0 {
				t.Fatalf("commits %d, releases %v: the budget must stay reserved", commits, released)
			}
			g := e.fixture.guard
			g.mu.Lock()
			out := g.outcomes[0]
			g.mu.Unlock()
			want := []exchange.OrderRef{{ClientID: "my-order-7", Symbol: "BTCUSDT", Unknown: true}}
			if !reflect.DeepEqual(out.Orders, want) || out.Open || !out.FilledQuote.IsZero() {
				t.Fatalf("committed %+v, want the order of unknown outcome %+v", out, want)
			}
		})
	}
}

func TestConnSignedReleasesAReadOfUnknownOutcome(t *testing.T) {
	e := newConnEnv(t, nil)
	e.venue.answer("GET /api/v3/account", http.StatusServiceUnavailable, `{"code":"-1001"}`)
	if _, _, err := e.conn.Signed(context.Background(), &exchange.Request{Credential: "bot", Method: http.MethodGet, Path: "/api/v3/account"}); err == nil {
		t.Fatal("5xx returned no error")
	}
	if released, _ := e.settled(); len(released) != 1 {
		t.Fatalf("releases %v: a read creates nothing, its budget goes back", released)
	}
}

func TestConnDoRefusesAnotherCredential(t *testing.T) {
	e := newConnEnv(t, nil)
	_, _, err := e.conn.Do(context.Background(), &exchange.Request{Credential: "other", Method: http.MethodGet, Path: "/api/v3/account"})
	if err == nil || e.venue.hits.Load() != 0 {
		t.Fatalf("err %v, venue hits %d", err, e.venue.hits.Load())
	}
	if _, err := e.conn.Authorize(context.Background(), &exchange.Request{Credential: "other", Method: http.MethodGet, Path: "/api/v3/account"}); err == nil {
		t.Fatal("Authorize accepted another credential")
	}
}

func TestConnSignedNeedsAnAuthorizer(t *testing.T) {
	e := newConnEnv(t, func(c *exchange.ConnConfig) { c.Authorizer = nil })
	if _, _, err := e.conn.Signed(context.Background(), limitOrder("50000", "0.01")); err == nil || e.venue.hits.Load() != 0 {
		t.Fatalf("err %v, venue hits %d", err, e.venue.hits.Load())
	}
}

func TestConnClockOffset(t *testing.T) {
	e := newConnEnv(t, nil)
	const ahead = time.Hour
	if err := e.conn.Clock().Sync(context.Background(), func(context.Context) (time.Time, error) {
		return time.Now().Add(ahead), nil
	}); err != nil {
		t.Fatal(err)
	}
	if off := e.conn.Clock().Load(); off < ahead-time.Minute || off > ahead+time.Minute {
		t.Fatalf("offset %s, want about %s", off, ahead)
	}
	if d := time.Until(e.conn.Clock().Now()); d < ahead-time.Minute {
		t.Fatalf("venue clock %s ahead, want about %s", d, ahead)
	}
	// The usage reported from an answer is stamped on the venue's clock.
	e.venue.answer("GET /api/v3/ticker/bookTicker", http.StatusOK, `{}`)
	if _, _, err := e.conn.Public(context.Background(), &exchange.Request{Method: http.MethodGet, Path: "/api/v3/ticker/bookTicker",
		Params: exchange.Params{{Key: "symbol", Value: "BTCUSDT"}}}); err != nil {
		t.Fatal(err)
	}
	e.rate.mu.Lock()
	at := e.rate.observed[0].At
	e.rate.mu.Unlock()
	if d := time.Until(at); d < ahead-time.Minute {
		t.Fatalf("usage stamped %s ahead, want about %s", d, ahead)
	}
	// A failed reading leaves the offset as it was.
	if err := e.conn.Clock().Sync(context.Background(), func(context.Context) (time.Time, error) {
		return time.Time{}, errors.New("venue down")
	}); err == nil || e.conn.Clock().Load() < ahead-time.Minute {
		t.Fatalf("failed sync: err %v, offset %s", err, e.conn.Clock().Load())
	}
	e.conn.Clock().Store(0)
	if d := time.Until(e.conn.Clock().Now()); d > time.Minute {
		t.Fatalf("offset 0: venue clock %s ahead", d)
	}
}

func TestConnNewAuthorizerStampsOnTheVenueClock(t *testing.T) {
	e := newConnEnv(t, func(c *exchange.ConnConfig) {
		c.Signer, c.Audit = newFixture(t).signer, &recordingAuditor{}
	})
	rate := &recordingRate{hits: &e.venue.hits}
	a := e.conn.NewAuthorizer(rate)
	if a.Scheme == nil || a.Signer == nil || a.Guard == nil || a.Audit == nil || a.Rate != rate || a.Logger == nil {
		t.Fatalf("authorizer %+v", a)
	}
	e.conn.Clock().Store(time.Hour)
	if a.Clock != nil || a.Offset == nil || a.Offset() != time.Hour {
		t.Fatalf("authorizer: want the local clock and the venue's offset of 1h")
	}
}

func TestConnCheckKey(t *testing.T) {
	e := newConnEnv(t, nil)
	ctx := context.Background()
	safe := func(context.Context) (exchange.Permissions, error) {
		return exchange.Permissions{Read: true, Trade: true, IPRestricted: true}, nil
	}
	if err := e.conn.CheckKey(ctx, safe, exchange.KeyRisks{}); err != nil {
		t.Fatalf("trade-only restricted key refused: %v", err)
	}
	withdraws := func(context.Context) (exchange.Permissions, error) {
		return exchange.Permissions{Read: true, Trade: true, Withdraw: true, IPRestricted: true}, nil
	}
	if err := e.conn.CheckKey(ctx, withdraws, exchange.KeyRisks{}); !errors.Is(err, exchange.ErrKeyTooPowerful) {
		t.Fatalf("withdrawing key: %v", err)
	}
	down := errors.New("venue down")
	unreadable := func(context.Context) (exchange.Permissions, error) { return exchange.Permissions{}, down }
	if err := e.conn.CheckKey(ctx, unreadable, exchange.KeyRisks{}); !errors.Is(err, down) ||
		!strings.HasPrefix(err.Error(), "binance: checking the key's permissions: ") {
		t.Fatalf("unreadable permissions: %v", err)
	}
}

func TestStatusAnswer(t *testing.T) {
	answer := exchange.StatusAnswer(func(status int, _ http.Header, body []byte) *exchange.APIError {
		return &exchange.APIError{Venue: "testvenue", Status: status, Msg: string(body)}
	})
	if payload, err := answer(&exchange.Response{Status: http.StatusCreated, Body: []byte("ok")}); err != nil || string(payload) != "ok" {
		t.Fatalf("2xx: %q, %v", payload, err)
	}
	if payload, err := answer(&exchange.Response{Status: http.StatusTeapot, Body: []byte("no")}); err == nil || err.Status != http.StatusTeapot || payload != nil {
		t.Fatalf("418: %q, %v", payload, err)
	}
}
