package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
}

// Client is a guarded Binance Spot REST client. It implements
// exchange.Client. Every signed request goes through an
// exchange.Authorizer (guard, audit log, signer); public requests go
// unsigned but through the rate limiter. A Client is safe for concurrent
// use.
type Client struct {
	base       string
	credential string
	http       *http.Client
	scheme     *Scheme
	auth       *exchange.Authorizer
	rate       exchange.RateLimiter
	prices     *PriceFeed
	logger     *slog.Logger
	settle     exchange.Settler
	offset     atomic.Int64 // server time minus local time, ns

	mu         sync.RWMutex
	rules      map[string]*symbolRules
	rateLimits []RateLimit
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
	c := &Client{
		base:       strings.TrimRight(cfg.BaseURL, "/"),
		credential: cfg.Credential,
		http:       cfg.HTTPClient,
		scheme:     scheme,
		rate:       cfg.Rate,
		prices:     cfg.Prices,
		logger:     cfg.Logger,
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.http == nil {
		c.http = exchange.NewHTTPClient()
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.settle = exchange.Settler{Venue: Venue, Credential: c.credential, Guard: cfg.Guard, Logger: c.logger}
	if err := c.SyncTime(ctx); err != nil {
		return nil, err
	}
	if err := c.LoadExchangeInfo(ctx); err != nil {
		return nil, err
	}
	if c.rate == nil {
		rg, err := newRateGuard(c.RateLimits(), c.now, c.logger)
		if err != nil {
			return nil, err
		}
		c.rate = rg
	}
	if c.prices == nil {
		c.prices = NewPriceFeed(PriceFeedConfig{BaseURL: c.base, HTTPClient: c.http, Clock: time.Now})
	}
	c.prices.useRate(c.rate)
	c.auth = &exchange.Authorizer{
		Scheme: scheme, Signer: cfg.Signer, Guard: cfg.Guard, Audit: cfg.Audit,
		Rate: c.rate, Clock: c.now, Logger: cfg.Logger,
	}
	if !cfg.SkipKeyCheck {
		p, err := c.Permissions(ctx)
		if err != nil {
			return nil, fmt.Errorf("binance: checking the key's permissions: %w", err)
		}
		if err := exchange.CheckPermissions(Venue, p, cfg.KeyRisks); err != nil {
			return nil, err
		}
	}
	return c, nil
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

// now is the venue's clock as the client knows it.
func (c *Client) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Offset returns the server-time offset measured by SyncTime: server time
// minus local time.
func (c *Client) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// Venue returns "binance".
func (c *Client) Venue() string { return Venue }

// Scheme returns the client's scheme, with the symbol table loaded.
func (c *Client) Scheme() *Scheme { return c.scheme }

// SyncTime measures the offset of the server's clock (GET /api/v3/time)
// against the local clock, taking the middle of the round trip.
func (c *Client) SyncTime(ctx context.Context) error {
	t0 := time.Now()
	resp, err := c.public(ctx, &exchange.Request{Method: http.MethodGet, Path: "/api/v3/time"})
	if err != nil {
		return fmt.Errorf("binance: server time: %w", err)
	}
	t1 := time.Now()
	var st struct {
		ServerTime int64 `json:"serverTime"`
	}
	if err := json.Unmarshal(resp.Body, &st); err != nil || st.ServerTime <= 0 {
		return fmt.Errorf("binance: server time: unreadable answer")
	}
	mid := t0.Add(t1.Sub(t0) / 2)
	c.offset.Store(int64(time.UnixMilli(st.ServerTime).Sub(mid)))
	return nil
}

// LoadExchangeInfo (re)loads symbols, filters and rate limits
// (GET /api/v3/exchangeInfo) and installs the symbol table in the scheme.
func (c *Client) LoadExchangeInfo(ctx context.Context) error {
	resp, err := c.public(ctx, &exchange.Request{Method: http.MethodGet, Path: "/api/v3/exchangeInfo"})
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
	r, err := c.own(req)
	if err != nil {
		return nil, err
	}
	return c.auth.Authorize(ctx, r)
}

// Do sends any request of the route table. Public routes go unsigned
// through the rate limiter; others through the Authorizer, and the
// reservation is settled from the answer. A non-2xx answer returns the
// response and an *exchange.APIError.
func (c *Client) Do(ctx context.Context, req *exchange.Request) (*exchange.Response, error) {
	r, err := c.own(req)
	if err != nil {
		return nil, err
	}
	route, err := c.scheme.Classify(r)
	if err != nil {
		return nil, err
	}
	if !route.Signed {
		return c.public(ctx, r)
	}
	resp, _, err := c.signed(ctx, r)
	return resp, err
}

// own returns a copy of req for the client's credential.
func (c *Client) own(req *exchange.Request) (*exchange.Request, error) {
	return exchange.OwnRequest(Venue, c.credential, req)
}

// public sends an unsigned request of a public route through the rate
// limiter. Before New has a limiter (time, exchangeInfo), it sends directly.
func (c *Client) public(ctx context.Context, req *exchange.Request) (*exchange.Response, error) {
	route, err := c.scheme.Classify(req)
	if err != nil {
		return nil, err
	}
	if route.Signed {
		return nil, fmt.Errorf("binance: %s is signed; send it through Do", route.Name)
	}
	if c.rate != nil {
		if err := c.rate.Wait(ctx, route.Cost); err != nil {
			return nil, err
		}
	}
	w := &exchange.Wire{Method: req.Method, Path: req.Path, Query: req.Params.Encode(), Header: req.Header.Clone(), Body: req.Body}
	resp, err := exchange.Do(ctx, c.http, c.base, w)
	if err != nil {
		return nil, err
	}
	c.observe(resp)
	if resp.Status/100 != 2 {
		return resp, apiError(resp.Status, resp.Header, resp.Body)
	}
	return resp, nil
}

func (c *Client) observe(resp *exchange.Response) {
	if c.rate != nil {
		c.rate.Observe(usage(c.now(), resp.Status, resp.Header))
	}
}

// signed authorizes, sends and settles a signed request. It returns the
// answer and the intent the guard saw.
func (c *Client) signed(ctx context.Context, req *exchange.Request) (*exchange.Response, exchange.Intent, error) {
	a, err := c.auth.Authorize(ctx, req)
	if err != nil {
		return nil, exchange.Intent{}, err
	}
	settleCtx := context.WithoutCancel(ctx)
	resp, err := exchange.Do(ctx, c.http, c.base, a.Wire)
	if err != nil {
		if errors.Is(err, exchange.ErrOutcomeUnknown) && a.Intent.Class() == exchange.ClassTrade && !a.Intent.Test {
			// The venue may have acted: the budget stays reserved.
			return nil, a.Intent, unknownOutcome(a.Intent, err)
		}
		c.settle.Release(settleCtx, a, err)
		return nil, a.Intent, err
	}
	c.observe(resp)
	if resp.Status/100 == 2 {
		c.commit(settleCtx, a, resp.Body)
		return resp, a.Intent, nil
	}
	apiErr := apiError(resp.Status, resp.Header, resp.Body)
	trade := a.Intent.Class() == exchange.ClassTrade && !a.Intent.Test
	switch {
	case trade && errors.Is(apiErr, exchange.ErrOutcomeUnknown):
		return resp, a.Intent, unknownOutcome(a.Intent, apiErr)
	case trade && apiErr.Code == "-2021" && partialNewOrder(resp.Body) != nil:
		// cancelReplace: the cancel failed but the new order was placed.
		c.settle.Commit(settleCtx, a, outcomeOf(partialNewOrder(resp.Body)))
		return resp, a.Intent, apiErr
	}
	c.settle.Release(settleCtx, a, apiErr)
	return resp, a.Intent, apiErr
}

func (c *Client) commit(ctx context.Context, a *exchange.Authorized, body []byte) {
	if a.Intent.Class() != exchange.ClassTrade || a.Intent.Test {
		// Nothing was created: reads, cancels and venue dry runs give the
		// budget back. Orders a cancel closed are reported to the guard.
		c.settle.Release(ctx, a, nil)
		if a.Intent.Class() == exchange.ClassCancel {
			c.closedIn(ctx, body)
		}
		return
	}
	var ans orderAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "binance: accepted order answer unreadable; budget kept reserved",
			slog.String("route", a.Intent.Route.Name))
		return
	}
	c.settle.Commit(ctx, a, outcomeOf(ans.orders()))
}

func unknownOutcome(in exchange.Intent, cause error) error {
	var ids []string
	for _, o := range in.Orders {
		if o.ClientID != "" {
			ids = append(ids, o.ClientID)
		}
	}
	which := ""
	if len(ids) > 0 {
		which = " (client order id " + strings.Join(ids, ", ") + ")"
	}
	return fmt.Errorf("%w: binance %s%s: %w; the order may have been placed: look it up (GetOrder, OpenOrders) before placing it again",
		exchange.ErrOutcomeUnknown, in.Route.Name, which, cause)
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
			c.settle.Closed(ctx, j.order())
		}
	}
}
