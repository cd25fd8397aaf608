package coinbase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

// DefaultRateLimit is the private request limit per second the client's
// own rate guard enforces when Config.Rate is nil.
const DefaultRateLimit = 30

// Config configures New.
type Config struct {
	// BaseURL is the REST endpoint; DefaultBaseURL if empty. Its host is
	// bound into every JWT.
	BaseURL string
	// Credential names the key (in Signer) that signs the client's
	// requests. Its KeyInfo.APIKey is the CDP key name
	// (organizations/{org}/apiKeys/{id}); its type is ecdsa or ed25519.
	Credential string
	Signer     signer.Signer
	Guard      exchange.Guard
	Audit      exchange.Auditor
	// Rate is the client-side rate guard. If nil, New builds a
	// limits.RateGuard of RateLimit requests per second on the venue's
	// clock.
	Rate exchange.RateLimiter
	// RateLimit is the requests per second of the default rate guard;
	// DefaultRateLimit if zero.
	RateLimit int
	// HTTPClient sends the requests; exchange.NewHTTPClient() if nil.
	HTTPClient *http.Client
	// Logger receives decisions and warnings; nothing is logged if nil.
	// JWTs are never logged.
	Logger *slog.Logger
	// KeyRisks is what the policy accepts of the key's permissions; New
	// refuses a key that can do more (exchange.CheckPermissions). Coinbase
	// does not report a key's IP allowlist, so a key always counts as
	// unrestricted: set KeyRisks.UnrestrictedIP once the key is restricted
	// at Coinbase, or to accept the risk.
	KeyRisks exchange.KeyRisks
	// Prices is the reference price source the guard uses, if it was built
	// with one; the client attaches itself to it. If nil, the client makes
	// its own PriceFeed.
	Prices *PriceFeed
	// SkipKeyCheck skips the key permission check in New.
	SkipKeyCheck bool
	// SkipTimeSync skips reading the venue's clock in New.
	SkipTimeSync bool
}

// Client is a guarded Coinbase Advanced Trade client. It implements
// exchange.Client. Every authenticated request goes through an
// exchange.Authorizer (guard, audit log, JWT minted by the signer); public
// requests go unsigned but through the rate limiter. A Client is safe for
// concurrent use.
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

	mu       sync.RWMutex
	products map[string]Product
}

var _ exchange.Client = (*Client)(nil)

// New connects to Coinbase: it reads the venue's clock, loads the products
// and checks the key's permissions, refusing a key that can transfer or
// send funds, or (see Config.KeyRisks) is not known to be IP-restricted,
// unless cfg.KeyRisks accepts it (errors.Is exchange.ErrKeyTooPowerful).
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Credential == "" || cfg.Signer == nil || cfg.Guard == nil || cfg.Audit == nil {
		return nil, errors.New("coinbase: Config needs a Credential, a Signer, a Guard and an Audit log")
	}
	scheme, err := NewScheme(cfg.BaseURL)
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
	if c.rate == nil {
		n := cfg.RateLimit
		if n <= 0 {
			n = DefaultRateLimit
		}
		rg, err := limits.NewRateGuard(Venue, []limits.RateLimit{{Name: RateBucket, Interval: time.Second, Limit: n, Counts: limits.RateRequests}},
			limits.RateClock(c.now), limits.RateLogger(c.logger))
		if err != nil {
			return nil, fmt.Errorf("coinbase: rate guard: %w", err)
		}
		c.rate = rg
	}
	if !cfg.SkipTimeSync {
		if err := c.SyncTime(ctx); err != nil {
			return nil, err
		}
	}
	c.auth = &exchange.Authorizer{
		Scheme: scheme, Signer: cfg.Signer, Guard: cfg.Guard, Audit: cfg.Audit,
		Rate: c.rate, Clock: c.now, Logger: cfg.Logger,
	}
	if c.prices == nil {
		c.prices = NewPriceFeed(PriceFeedConfig{})
	}
	c.prices.attach(func(ctx context.Context, req *exchange.Request) (*exchange.Response, error) {
		r := req.Clone()
		r.Credential = c.credential
		resp, err := c.signed(ctx, r)
		return resp, err
	})
	if err := c.LoadProducts(ctx); err != nil {
		return nil, err
	}
	if !cfg.SkipKeyCheck {
		p, err := c.Permissions(ctx)
		if err != nil {
			return nil, fmt.Errorf("coinbase: checking the key's permissions: %w", err)
		}
		if err := exchange.CheckPermissions(Venue, p, cfg.KeyRisks); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// now is the venue's clock as the client knows it.
func (c *Client) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Offset returns the server-time offset measured by SyncTime.
func (c *Client) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// Venue returns "coinbase".
func (c *Client) Venue() string { return Venue }

// Scheme returns the client's scheme, with the products loaded.
func (c *Client) Scheme() *Scheme { return c.scheme }

// SyncTime measures the offset of the venue's clock
// (GET /api/v3/brokerage/time) against the local clock, taking the middle
// of the round trip. JWTs are stamped on the venue's clock.
func (c *Client) SyncTime(ctx context.Context) error {
	t0 := time.Now()
	resp, err := c.public(ctx, &exchange.Request{Method: http.MethodGet, Path: Prefix + "/time"})
	if err != nil {
		return fmt.Errorf("coinbase: server time: %w", err)
	}
	t1 := time.Now()
	var st struct {
		EpochMillis json.Number `json:"epochMillis"`
	}
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		return errors.New("coinbase: server time: unreadable answer")
	}
	ms, err := strconv.ParseInt(st.EpochMillis.String(), 10, 64)
	if err != nil || ms <= 0 {
		return errors.New("coinbase: server time: unreadable answer")
	}
	mid := t0.Add(t1.Sub(t0) / 2)
	c.offset.Store(int64(time.UnixMilli(ms).Sub(mid)))
	return nil
}

// LoadProducts (re)loads the products (GET /api/v3/brokerage/products)
// and installs them in the scheme.
func (c *Client) LoadProducts(ctx context.Context) error {
	resp, err := c.signedRequest(ctx, http.MethodGet, "/products", exchange.Params{{Key: "product_type", Value: "SPOT"}}, nil)
	if err != nil {
		return fmt.Errorf("coinbase: products: %w", err)
	}
	ps, err := parseProducts(resp.Body)
	if err != nil {
		return err
	}
	m := make(map[string]Product, len(ps))
	for _, p := range ps {
		m[p.ID] = p
	}
	c.scheme.SetProducts(ps)
	c.mu.Lock()
	c.products = m
	c.mu.Unlock()
	return nil
}

func (c *Client) product(id string) (Product, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.products[id]
	return p, ok
}

// Products returns the loaded products with their flags, sorted.
func (c *Client) Products() []Product {
	c.mu.RLock()
	out := make([]Product, 0, len(c.products))
	for _, p := range c.products {
		out = append(out, p)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Symbols returns the products as venue-neutral symbols, sorted.
func (c *Client) Symbols(ctx context.Context) ([]exchange.SymbolInfo, error) {
	ps := c.Products()
	out := make([]exchange.SymbolInfo, len(ps))
	for i, p := range ps {
		out[i] = p.Info
	}
	return out, nil
}

// Reference returns the best bid and ask of a product through the price
// feed.
func (c *Client) Reference(ctx context.Context, product string) (exchange.Quote, error) {
	return c.prices.Reference(ctx, product)
}

// Authorize runs a request through the guard, the audit log and the
// signer and returns it signed, without sending it (a dry run). The
// returned Reservation is held: Release it if the request is not sent, or
// settle it from the venue's answer. The wire request carries a JWT valid
// for two minutes: do not log it.
func (c *Client) Authorize(ctx context.Context, req *exchange.Request) (*exchange.Authorized, error) {
	r, err := c.own(req)
	if err != nil {
		return nil, err
	}
	return c.auth.Authorize(ctx, r)
}

// Do sends any request of the route table. Public routes go unsigned
// through the rate limiter; others through the Authorizer, and the
// reservation is settled from the answer. A non-2xx answer, or an order
// refused inside a 200 answer, returns the response and an
// *exchange.APIError.
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
	return c.signed(ctx, r)
}

// own returns a copy of req for the client's credential.
func (c *Client) own(req *exchange.Request) (*exchange.Request, error) {
	return exchange.OwnRequest(Venue, c.credential, req)
}

// public sends an unsigned request of a public route through the rate
// limiter.
func (c *Client) public(ctx context.Context, req *exchange.Request) (*exchange.Response, error) {
	route, err := c.scheme.Classify(req)
	if err != nil {
		return nil, err
	}
	if route.Signed {
		return nil, fmt.Errorf("coinbase: %s is authenticated; send it through Do", route.Name)
	}
	if err := c.rate.Wait(ctx, route.Cost); err != nil {
		return nil, err
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
	c.rate.Observe(usage(c.now(), resp.Status, resp.Header))
}

// signed authorizes, sends and settles an authenticated request.
func (c *Client) signed(ctx context.Context, req *exchange.Request) (*exchange.Response, error) {
	a, err := c.auth.Authorize(ctx, req)
	if err != nil {
		return nil, err
	}
	_, spec, _ := lookup(req.Method, req.Path)
	creates := a.Intent.Class() == exchange.ClassTrade && !a.Intent.Test
	settleCtx := context.WithoutCancel(ctx)
	resp, err := exchange.Do(ctx, c.http, c.base, a.Wire)
	if err != nil {
		if creates && errors.Is(err, exchange.ErrOutcomeUnknown) {
			return nil, unknownOutcome(a.Intent, err) // the venue may have acted: the budget stays reserved
		}
		c.settle.Release(settleCtx, a, err)
		return nil, err
	}
	c.observe(resp)
	if resp.Status/100 != 2 {
		apiErr := apiError(resp.Status, resp.Header, resp.Body)
		if creates && errors.Is(apiErr, exchange.ErrOutcomeUnknown) {
			return resp, unknownOutcome(a.Intent, apiErr)
		}
		c.settle.Release(settleCtx, a, apiErr)
		return resp, apiErr
	}
	if !creates {
		c.settle.Release(settleCtx, a, nil)
		return resp, nil
	}
	switch spec.kind {
	case kindOrder:
		return resp, c.settleCreate(settleCtx, a, resp.Body)
	case kindEdit:
		return resp, c.settleEdit(settleCtx, a, resp.Body)
	}
	c.settle.Release(settleCtx, a, nil)
	return resp, nil
}

// settleCreate settles a create-order answer. Coinbase answers 200 for
// refusals too ({"success":false,"error_response":{...}}). The answer of
// an accepted order says nothing of fills, so it is committed as open:
// the guard holds its full value until the order is seen closed (GetOrder
// reports it), which PlaceOrder does at once.
func (c *Client) settleCreate(ctx context.Context, a *exchange.Authorized, body []byte) error {
	var ans struct {
		Success         *bool  `json:"success"`
		FailureReason   string `json:"failure_reason"`
		SuccessResponse struct {
			OrderID string `json:"order_id"`
		} `json:"success_response"`
		ErrorResponse struct {
			Error                 string `json:"error"`
			Message               string `json:"message"`
			ErrorDetails          string `json:"error_details"`
			NewOrderFailureReason string `json:"new_order_failure_reason"`
		} `json:"error_response"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Success == nil {
		return unknownOutcome(a.Intent, errors.New("accepted order answer unreadable"))
	}
	if !*ans.Success {
		code, msg := ans.ErrorResponse.Error, ans.ErrorResponse.Message
		if code == "" || code == "UNKNOWN_FAILURE_REASON" {
			if r := ans.ErrorResponse.NewOrderFailureReason; r != "" && r != "UNKNOWN_FAILURE_REASON" {
				code = r
			} else if ans.FailureReason != "" {
				code = ans.FailureReason
			}
		}
		if msg == "" {
			msg = ans.ErrorResponse.ErrorDetails
		}
		apiErr := orderFailure(code, msg)
		c.settle.Release(ctx, a, apiErr)
		return apiErr
	}
	id := ans.SuccessResponse.OrderID
	if id == "" {
		return unknownOutcome(a.Intent, errors.New("accepted order answer has no order id"))
	}
	o := a.Intent.Orders[0]
	c.scheme.Track(id, TrackedOrder{Product: o.Symbol, Side: o.Side, PostOnly: o.Type == exchange.LimitMaker, TIF: o.TimeInForce})
	c.settle.Commit(ctx, a, exchange.Outcome{OrderIDs: []string{id}, Open: true})
	return nil
}

// settleEdit settles an edit answer ({"success":bool,"errors":[...]}).
func (c *Client) settleEdit(ctx context.Context, a *exchange.Authorized, body []byte) error {
	var ans struct {
		Success *bool `json:"success"`
		Errors  []struct {
			EditFailureReason    string `json:"edit_failure_reason"`
			PreviewFailureReason string `json:"preview_failure_reason"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Success == nil {
		return unknownOutcome(a.Intent, errors.New("edit answer unreadable"))
	}
	if !*ans.Success {
		code := "UNKNOWN_EDIT_ORDER_FAILURE_REASON"
		if len(ans.Errors) > 0 {
			if ans.Errors[0].EditFailureReason != "" {
				code = ans.Errors[0].EditFailureReason
			} else if ans.Errors[0].PreviewFailureReason != "" {
				code = ans.Errors[0].PreviewFailureReason
			}
		}
		apiErr := orderFailure(code, "edit refused")
		c.settle.Release(ctx, a, apiErr)
		return apiErr
	}
	c.settle.Commit(ctx, a, exchange.Outcome{OrderIDs: []string{a.Intent.Orders[0].ID}, Open: true})
	return nil
}

func unknownOutcome(in exchange.Intent, cause error) error {
	which := ""
	if len(in.Orders) > 0 && in.Orders[0].ClientID != "" {
		which = " (client order id " + in.Orders[0].ClientID + ")"
	}
	return fmt.Errorf("%w: coinbase %s%s: %w; the order may have been placed: look it up (GetOrder, OpenOrders) before placing it again",
		exchange.ErrOutcomeUnknown, in.Route.Name, which, cause)
}

// signedRequest sends an authenticated request of the client's
// credential; path is below Prefix.
func (c *Client) signedRequest(ctx context.Context, method, path string, p exchange.Params, body []byte) (*exchange.Response, error) {
	return c.signed(ctx, &exchange.Request{Credential: c.credential, Method: method, Path: Prefix + path, Params: p, Body: body})
}

// signedJSON sends an authenticated request and decodes a 2xx answer.
func (c *Client) signedJSON(ctx context.Context, method, path string, p exchange.Params, body []byte, v any) error {
	resp, err := c.signedRequest(ctx, method, path, p, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return fmt.Errorf("coinbase: %s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}
