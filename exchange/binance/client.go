package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

// Config configures New.
type Config struct {
	// BaseURL is the REST endpoint; DefaultBaseURL if empty.
	BaseURL string
	// Credential names the key (in Signer) that signs the client's requests.
	Credential string
	Signer     signer.Signer
	Guard      exchange.Guard
	Audit      exchange.Auditor
	// Rate is the client-side rate guard. If nil, New builds a
	// limits.RateGuard from exchangeInfo's rateLimits, on the venue's clock.
	Rate exchange.RateLimiter
	// HTTPClient sends the requests; exchange.NewHTTPClient() if nil.
	HTTPClient *http.Client
	// Logger receives decisions and warnings; nothing is logged if nil.
	Logger *slog.Logger
	// KeyRisks is what the policy accepts of the key's permissions; New
	// refuses a key that can do more (exchange.CheckPermissions).
	KeyRisks exchange.KeyRisks
	// RecvWindow, when positive, is sent with every signed request.
	RecvWindow time.Duration
	// Prices is the reference price source the guard uses, if it was built
	// with one; the client reads references from it. If nil, the client
	// makes its own PriceFeed.
	Prices *PriceFeed
	// SkipKeyCheck skips the key permission check in New. It is meant for
	// tests against venues that do not serve apiRestrictions.
	SkipKeyCheck bool
	// Reconcile configures reconciliation (exchange.Reconciler): when the
	// Guard tracks orders (exchange.OrderLedger), New reconciles once and
	// then every Reconcile.Every until Close or until ctx is done.
	Reconcile exchange.ReconcileConfig
	// Testnet says the venue is a Binance Spot testnet (BaseURL, or
	// TestnetBaseURL when BaseURL is empty). Testnets serve no /sapi
	// routes, so New cannot check the key's permissions there: with
	// Testnet set, and only then, a check the venue answers with 404 is
	// skipped and the skip recorded in the audit log (rule
	// RuleKeyCheckSkipped). A venue that does serve the check (the
	// production venue) still has the key checked.
	Testnet bool
	// StampAt, when not zero, is the time Authorize stamps the requests
	// it signs without sending with, instead of the venue's clock
	// (exchange.Authorizer.StampAt): for tools that reproduce a documented
	// signature (keyfence request --dry-run --timestamp). It must not be
	// later than the clock. Requests the client sends are stamped on the
	// venue's clock.
	StampAt time.Time
}

// TestnetBaseURL is the Binance Spot Test Network's REST endpoint.
const TestnetBaseURL = "https://testnet.binance.vision"

// RuleKeyCheckSkipped is the audit rule of the record New appends when
// Config.Testnet skipped the key permission check.
const RuleKeyCheckSkipped = "key-check-skipped"

// Client is a guarded Binance Spot REST client. It implements
// exchange.Client. Every signed request goes through an
// exchange.Authorizer (guard, audit log, signer); public requests go
// unsigned but through the rate limiter. A Client is safe for concurrent
// use.
type Client struct {
	conn   *exchange.Conn
	offset *exchange.ClockOffset // the venue's clock, conn's
	scheme *Scheme
	auth   *exchange.Authorizer
	rate   exchange.RateLimiter
	prices *PriceFeed

	mu         sync.RWMutex
	rules      map[string]*symbolRules
	rateLimits []RateLimit

	rec *exchange.Reconciler
}

var _ exchange.Client = (*Client)(nil)

// New connects to Binance: it measures the server-time offset, loads
// exchangeInfo (symbols, filters, rate limits) and checks the key's
// permissions, refusing a key that can withdraw, transfer or be used from
// any address unless cfg.KeyRisks accepts it (errors.Is
// exchange.ErrKeyTooPowerful).
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Credential == "" || cfg.Signer == nil || cfg.Guard == nil || cfg.Audit == nil {
		return nil, errors.New("binance: Config needs a Credential, a Signer, a Guard and an Audit log")
	}
	scheme, err := NewScheme(cfg.RecvWindow)
	if err != nil {
		return nil, err
	}
	if cfg.Testnet && cfg.BaseURL == "" {
		cfg.BaseURL = TestnetBaseURL
	}
	c := &Client{scheme: scheme, rate: cfg.Rate, prices: cfg.Prices}
	c.conn, err = exchange.NewConn(exchange.ConnConfig{
		Venue: Venue, Credential: cfg.Credential, BaseURL: cfg.BaseURL, DefaultBaseURL: DefaultBaseURL,
		HTTPClient: cfg.HTTPClient, Logger: cfg.Logger, Scheme: scheme, Signer: cfg.Signer, Guard: cfg.Guard, Audit: cfg.Audit,
		StampAt: cfg.StampAt,
		Answer:  exchange.StatusAnswer(apiError),
		// Until New builds the limiter from exchangeInfo, the server time and
		// exchangeInfo are read without waiting.
		Rate: func(*exchange.Request) exchange.RateLimiter { return c.rate },
		Usage: func(_ *exchange.Request, at time.Time, resp *exchange.Response) exchange.Usage {
			return usage(at, resp.Status, resp.Header)
		},
		Authorizer: func(*exchange.Request) *exchange.Authorizer { return c.auth },
		Accepted:   c.accepted,
		Refused:    c.refused,
		Closed:     c.closed,
		ClientIDs:  clientIDs,
	})
	if err != nil {
		return nil, err
	}
	c.offset = c.conn.Clock()
	if err := c.SyncTime(ctx); err != nil {
		return nil, err
	}
	if err := c.LoadExchangeInfo(ctx); err != nil {
		return nil, err
	}
	if c.rate == nil {
		rg, err := newRateGuard(c.RateLimits(), c.offset.Now, c.conn.Logger())
		if err != nil {
			return nil, err
		}
		c.rate = rg
	}
	if c.prices == nil {
		c.prices = NewPriceFeed(PriceFeedConfig{BaseURL: c.conn.BaseURL(), HTTPClient: c.conn.HTTPClient(), Clock: time.Now})
	}
	c.prices.useRate(c.rate)
	c.auth = c.conn.NewAuthorizer(c.rate)
	switch {
	case cfg.Testnet:
		// The check still runs: only a venue that does not serve it (no
		// /sapi, HTTP 404) lets Testnet skip it, so that Testnet set
		// against the production venue checks the key all the same.
		err := c.conn.CheckKey(ctx, c.Permissions, cfg.KeyRisks)
		var apiErr *exchange.APIError
		switch {
		case err == nil:
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
			if err := c.recordSkippedKeyCheck(ctx, cfg.Audit); err != nil {
				return nil, err
			}
		default:
			return nil, err
		}
	case !cfg.SkipKeyCheck:
		if err := c.conn.CheckKey(ctx, c.Permissions, cfg.KeyRisks); err != nil {
			return nil, err
		}
	}
	c.rec = c.conn.Reconciler(venueOrders{c}, cfg.Reconcile)
	if _, tracks := cfg.Guard.(exchange.OrderLedger); tracks && cfg.Reconcile.Enabled() {
		if _, err := c.rec.Start(ctx); err != nil {
			c.conn.Logger().LogAttrs(ctx, slog.LevelError, "binance: reconciliation at start", slog.String("error", err.Error()))
		}
	}
	return c, nil
}

// Reconcile settles the orders the guard holds open or of unknown outcome
// from the venue's truth and reports foreign orders (exchange.Reconciler).
func (c *Client) Reconcile(ctx context.Context) (exchange.ReconcileReport, error) {
	return c.rec.Reconcile(ctx)
}

// Close stops the background reconciliation.
func (c *Client) Close() error {
	c.rec.Stop()
	return nil
}

// recordSkippedKeyCheck appends the audit record of a key permission
// check that Config.Testnet skipped. New fails when it cannot: an
// unchecked key must not go unrecorded.
func (c *Client) recordSkippedKeyCheck(ctx context.Context, log exchange.Auditor) error {
	rec := &audit.Record{
		Time:       time.Now(),
		Credential: c.conn.Credential(),
		Venue:      Venue,
		Class:      string(exchange.ClassKeys),
		Route:      "GET /sapi/v1/account/apiRestrictions",
		Decision:   audit.Allow,
		Rule:       RuleKeyCheckSkipped,
		Reason:     "Config.Testnet and the venue answered 404: a testnet serves no /sapi, so the key's permissions were not checked",
	}
	if err := log.Append(ctx, rec); err != nil {
		return fmt.Errorf("binance: recording the skipped key check: %w", err)
	}
	c.conn.Logger().Warn("binance: testnet: the key's permissions were not checked", slog.String("credential", rec.Credential))
	return nil
}

func newRateGuard(rls []RateLimit, now func() time.Time, logger *slog.Logger) (*limits.RateGuard, error) {
	var ls []limits.RateLimit
	for _, rl := range rls {
		var counts limits.RateCounts
		switch rl.Type {
		case "REQUEST_WEIGHT":
			counts = limits.RateWeight
		case "ORDERS":
			counts = limits.RateOrders
		case "RAW_REQUESTS":
			counts = limits.RateRequests
		default:
			logger.Warn("binance: unknown rate limit type in exchangeInfo; not enforced locally", slog.String("type", rl.Type))
			continue
		}
		ls = append(ls, limits.RateLimit{Name: rl.Type, Interval: rl.Interval, Limit: rl.Limit, Counts: counts})
	}
	if len(ls) == 0 {
		return nil, errors.New("binance: exchangeInfo lists no rate limits; pass Config.Rate")
	}
	rg, err := limits.NewRateGuard(Venue, ls, limits.RateClock(now), limits.RateLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("binance: rate guard from exchangeInfo: %w", err)
	}
	return rg, nil
}

// Offset returns the server-time offset measured by SyncTime: server time
// minus local time.
func (c *Client) Offset() time.Duration { return c.offset.Load() }

// Venue returns "binance".
func (c *Client) Venue() string { return Venue }

// Scheme returns the client's scheme, with the symbol table loaded.
func (c *Client) Scheme() *Scheme { return c.scheme }

// SyncTime measures the offset of the server's clock (GET /api/v3/time)
// against the local clock, taking the middle of the round trip.
func (c *Client) SyncTime(ctx context.Context) error {
	return c.offset.Sync(ctx, func(ctx context.Context) (time.Time, error) {
		resp, _, err := c.conn.Public(ctx, &exchange.Request{Method: http.MethodGet, Path: "/api/v3/time"})
		if err != nil {
			return time.Time{}, fmt.Errorf("binance: server time: %w", err)
		}
		var st struct {
			ServerTime int64 `json:"serverTime"`
		}
		if err := json.Unmarshal(resp.Body, &st); err != nil || st.ServerTime <= 0 {
			return time.Time{}, fmt.Errorf("binance: server time: unreadable answer")
		}
		return time.UnixMilli(st.ServerTime), nil
	})
}

// LoadExchangeInfo (re)loads symbols, filters and rate limits
// (GET /api/v3/exchangeInfo) and installs the symbol table in the scheme.
func (c *Client) LoadExchangeInfo(ctx context.Context) error {
	resp, _, err := c.conn.Public(ctx, &exchange.Request{Method: http.MethodGet, Path: "/api/v3/exchangeInfo"})
	if err != nil {
		return fmt.Errorf("binance: exchangeInfo: %w", err)
	}
	rules, rls, err := parseExchangeInfo(resp.Body)
	if err != nil {
		return err
	}
	infos := make([]exchange.SymbolInfo, 0, len(rules))
	for _, r := range rules {
		infos = append(infos, r.info)
	}
	c.scheme.SetSymbols(infos)
	c.mu.Lock()
	c.rules, c.rateLimits = rules, rls
	c.mu.Unlock()
	return nil
}

// RateLimits returns exchangeInfo's rate limits.
func (c *Client) RateLimits() []RateLimit {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]RateLimit(nil), c.rateLimits...)
}

func (c *Client) rule(symbol string) (*symbolRules, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.rules[symbol]
	return r, ok
}

// Symbols returns the symbols of exchangeInfo, sorted.
func (c *Client) Symbols(ctx context.Context) ([]exchange.SymbolInfo, error) {
	c.mu.RLock()
	out := make([]exchange.SymbolInfo, 0, len(c.rules))
	for _, r := range c.rules {
		out = append(out, r.info)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Symbol < out[j].Symbol })
	return out, nil
}

// Reference returns the book ticker of a symbol through the price feed.
func (c *Client) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	return c.prices.Reference(ctx, symbol)
}

// Authorize runs a request through the guard, the audit log and the signer
// and returns it signed, without sending it (a dry run). The returned
// Reservation is held: Release it if the request is not sent, or settle it
// from the venue's answer.
func (c *Client) Authorize(ctx context.Context, req *exchange.Request) (*exchange.Authorized, error) {
	return c.conn.Authorize(ctx, req)
}

// Do sends any request of the route table. Public routes go unsigned
// through the rate limiter; others through the Authorizer, and the
// reservation is settled from the answer. A non-2xx answer returns the
// response and an *exchange.APIError.
func (c *Client) Do(ctx context.Context, req *exchange.Request) (*exchange.Response, error) {
	resp, _, err := c.conn.Do(ctx, req)
	return resp, err
}

// accepted commits an accepted order answer order by order (outcomeOf):
// what the answer does not state stays reserved. An amend creates no
// order: its reservation is settled at once, and the amended order keeps
// its own.
func (c *Client) accepted(ctx context.Context, a *exchange.Authorized, _ *exchange.Response, body []byte) error {
	var ans orderAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		c.conn.Logger().LogAttrs(ctx, slog.LevelWarn, "binance: accepted order answer unreadable; budget kept reserved",
			slog.String("route", a.Intent.Route.Name))
		c.conn.Settler().Commit(ctx, a, a.Intent.UnknownOutcome())
		return nil
	}
	if ans.CancelResponse != nil {
		c.closedOrder(ctx, ans.CancelResponse)
	}
	if ans.AmendedOrder != nil {
		c.conn.Settler().Commit(ctx, a, exchange.Outcome{})
		c.closedOrder(ctx, ans.AmendedOrder)
		return nil
	}
	c.conn.Settler().Commit(ctx, a, outcomeOf(&a.Intent, ans.orders()))
	return nil
}

// refused settles a cancelReplace refusal in which the venue acted: the
// new order of a -2021 (cancel failed) is committed; the cancelled order
// of a -2022 (new order failed) is reported closed and the reservation
// released.
func (c *Client) refused(ctx context.Context, a *exchange.Authorized, resp *exchange.Response, apiErr *exchange.APIError) bool {
	if apiErr.Code != "-2021" && apiErr.Code != "-2022" {
		return false
	}
	placed, cancelled := partialAnswer(resp.Body)
	if cancelled != nil {
		c.closedOrder(ctx, cancelled)
	}
	if apiErr.Code != "-2021" || placed == nil {
		return false
	}
	c.conn.Settler().Commit(ctx, a, outcomeOf(&a.Intent, placed))
	return true
}

// closed reports the orders an accepted cancel closed.
func (c *Client) closed(ctx context.Context, a *exchange.Authorized, body []byte) {
	if a.Intent.Class() == exchange.ClassCancel {
		c.closedIn(ctx, body)
	}
}

// closedIn reports the orders a cancel answer lists as closed: one order
// (DELETE /api/v3/order), an order list's reports (DELETE
// /api/v3/orderList) or an array of both (DELETE /api/v3/openOrders).
func (c *Client) closedIn(ctx context.Context, body []byte) {
	var answers []orderAnswer
	if err := json.Unmarshal(body, &answers); err != nil {
		var one orderAnswer
		if json.Unmarshal(body, &one) != nil {
			return
		}
		answers = []orderAnswer{one}
	}
	for i := range answers {
		for _, j := range answers[i].orders() {
			c.closedOrder(ctx, &j)
		}
	}
}

// closedOrder reports an order a cancel's answer lists, when the answer
// states its status and, if it is closed, its fill; other orders are left
// for a look-up or reconciliation.
func (c *Client) closedOrder(ctx context.Context, j *orderJSON) {
	if o := j.order(); o.Status.Open() || j.closedKnown() {
		c.conn.Settler().Closed(ctx, o)
	}
}
