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
	"sync"
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
	// Reconcile configures reconciliation (exchange.Reconciler): when the
	// Guard tracks orders (exchange.OrderLedger), New reconciles once and
	// then every Reconcile.Every until Close or until ctx is done.
	Reconcile exchange.ReconcileConfig
	// StampAt, when not zero, is the time Authorize stamps the requests
	// it signs without sending with, instead of the venue's clock
	// (exchange.Authorizer.StampAt): for tools that reproduce a documented
	// signature (keyfence request --dry-run --timestamp). It must not be
	// later than the clock. Requests the client sends are stamped on the
	// venue's clock.
	StampAt time.Time
}

// Client is a guarded Coinbase Advanced Trade client. It implements
// exchange.Client. Every authenticated request goes through an
// exchange.Authorizer (guard, audit log, JWT minted by the signer); public
// requests go unsigned but through the rate limiter. A Client is safe for
// concurrent use.
type Client struct {
	conn   *exchange.Conn
	scheme *Scheme
	auth   *exchange.Authorizer
	rate   exchange.RateLimiter
	prices *PriceFeed

	mu       sync.RWMutex
	products map[string]Product

	rec *exchange.Reconciler
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
	c := &Client{scheme: scheme, rate: cfg.Rate, prices: cfg.Prices}
	c.conn, err = exchange.NewConn(exchange.ConnConfig{
		Venue: Venue, Credential: cfg.Credential, BaseURL: cfg.BaseURL, DefaultBaseURL: DefaultBaseURL,
		HTTPClient: cfg.HTTPClient, Logger: cfg.Logger, Scheme: scheme, Signer: cfg.Signer, Guard: cfg.Guard, Audit: cfg.Audit,
		StampAt: cfg.StampAt,
		Answer:  exchange.StatusAnswer(apiError),
		Rate:    func(*exchange.Request) exchange.RateLimiter { return c.rate },
		Usage: func(_ *exchange.Request, at time.Time, resp *exchange.Response) exchange.Usage {
			return usage(at, resp.Status, resp.Header)
		},
		Authorizer: func(*exchange.Request) *exchange.Authorizer { return c.auth },
		Accepted:   c.accepted,
		ClientIDs:  clientIDs,
		SignedName: "authenticated",
	})
	if err != nil {
		return nil, err
	}
	if c.rate == nil {
		n := cfg.RateLimit
		if n <= 0 {
			n = DefaultRateLimit
		}
		rg, err := limits.NewRateGuard(Venue, []limits.RateLimit{{Name: RateBucket, Interval: time.Second, Limit: n, Counts: limits.RateRequests}},
			limits.RateClock(c.conn.Clock().Now), limits.RateLogger(c.conn.Logger()))
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
	c.auth = c.conn.NewAuthorizer(c.rate)
	if c.prices == nil {
		c.prices = NewPriceFeed(PriceFeedConfig{})
	}
	c.prices.attach(func(ctx context.Context, req *exchange.Request) (*exchange.Response, error) {
		r := req.Clone()
		r.Credential = c.conn.Credential()
		resp, _, err := c.conn.Signed(ctx, r)
		return resp, err
	})
	if err := c.LoadProducts(ctx); err != nil {
		return nil, err
	}
	if !cfg.SkipKeyCheck {
		if err := c.conn.CheckKey(ctx, c.Permissions, cfg.KeyRisks); err != nil {
			return nil, err
		}
	}
	c.rec = c.conn.Reconciler(venueOrders{c}, cfg.Reconcile)
	if _, tracks := cfg.Guard.(exchange.OrderLedger); tracks && cfg.Reconcile.Enabled() {
		if _, err := c.rec.Start(ctx); err != nil {
			c.conn.Logger().LogAttrs(ctx, slog.LevelError, "coinbase: reconciliation at start", slog.String("error", err.Error()))
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

// Offset returns the server-time offset measured by SyncTime.
func (c *Client) Offset() time.Duration { return c.conn.Clock().Load() }

// Venue returns "coinbase".
func (c *Client) Venue() string { return Venue }

// Scheme returns the client's scheme, with the products loaded.
func (c *Client) Scheme() *Scheme { return c.scheme }

// SyncTime measures the offset of the venue's clock
// (GET /api/v3/brokerage/time) against the local clock, taking the middle
// of the round trip. JWTs are stamped on the venue's clock.
func (c *Client) SyncTime(ctx context.Context) error {
	return c.conn.Clock().Sync(ctx, func(ctx context.Context) (time.Time, error) {
		resp, _, err := c.conn.Public(ctx, &exchange.Request{Method: http.MethodGet, Path: Prefix + "/time"})
		if err != nil {
			return time.Time{}, fmt.Errorf("coinbase: server time: %w", err)
		}
		var st struct {
			EpochMillis json.Number `json:"epochMillis"`
		}
		if err := json.Unmarshal(resp.Body, &st); err != nil {
			return time.Time{}, errors.New("coinbase: server time: unreadable answer")
		}
		ms, err := strconv.ParseInt(st.EpochMillis.String(), 10, 64)
		if err != nil || ms <= 0 {
			return time.Time{}, errors.New("coinbase: server time: unreadable answer")
		}
		return time.UnixMilli(ms), nil
	})
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
	return c.conn.Authorize(ctx, req)
}

// Do sends any request of the route table. Public routes go unsigned
// through the rate limiter; others through the Authorizer, and the
// reservation is settled from the answer. A non-2xx answer, or an order
// refused inside a 200 answer, returns the response and an
// *exchange.APIError.
func (c *Client) Do(ctx context.Context, req *exchange.Request) (*exchange.Response, error) {
	resp, _, err := c.conn.Do(ctx, req)
	return resp, err
}

// accepted settles the 200 answer of a request that creates an order.
func (c *Client) accepted(ctx context.Context, a *exchange.Authorized, _ *exchange.Response, body []byte) error {
	if _, spec, _ := lookup(a.Wire.Method, a.Wire.Path); spec != nil {
		switch spec.kind {
		case kindOrder:
			return c.settleCreate(ctx, a, body)
		case kindEdit:
			return c.settleEdit(ctx, a, body)
		}
	}
	c.conn.Settler().Release(ctx, a, nil)
	return nil
}

// settleCreate settles a create-order answer. Coinbase answers 200 for
// refusals too ({"success":false,"error_response":{...}}). The answer of
// an accepted order states neither status nor fills, so the order is
// committed as of unknown outcome: the guard holds its full value until it
// is seen closed (GetOrder reports it, which PlaceOrder does at once, or
// reconciliation).
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
		c.conn.Settler().Commit(ctx, a, a.Intent.UnknownOutcome())
		return c.conn.UnknownOutcome(a.Intent, errors.New("accepted order answer unreadable"))
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
		c.conn.Settler().Release(ctx, a, apiErr)
		return apiErr
	}
	id := ans.SuccessResponse.OrderID
	if id == "" {
		c.conn.Settler().Commit(ctx, a, a.Intent.UnknownOutcome())
		return c.conn.UnknownOutcome(a.Intent, errors.New("accepted order answer has no order id"))
	}
	o := a.Intent.Orders[0]
	c.scheme.Track(id, TrackedOrder{Product: o.Symbol, Side: o.Side, PostOnly: o.Type == exchange.LimitMaker, TIF: o.TimeInForce})
	c.conn.Settler().Commit(ctx, a, exchange.Outcome{Orders: []exchange.OrderRef{{ID: id, ClientID: o.ClientID, Symbol: o.Symbol, Unknown: true}}})
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
		c.conn.Settler().Commit(ctx, a, a.Intent.UnknownOutcome())
		return c.conn.UnknownOutcome(a.Intent, errors.New("edit answer unreadable"))
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
		c.conn.Settler().Release(ctx, a, apiErr)
		return apiErr
	}
	// The edited order holds this reservation too (at its new price and
	// size) until it is seen closed; its status is not stated.
	o := a.Intent.Orders[0]
	c.conn.Settler().Commit(ctx, a, exchange.Outcome{Orders: []exchange.OrderRef{{ID: o.ID, Symbol: o.Symbol, Unknown: true}}})
	return nil
}

// signedRequest sends an authenticated request of the client's
// credential; path is below Prefix.
func (c *Client) signedRequest(ctx context.Context, method, path string, p exchange.Params, body []byte) (*exchange.Response, error) {
	resp, _, err := c.conn.Signed(ctx, &exchange.Request{Credential: c.conn.Credential(), Method: method, Path: Prefix + path, Params: p, Body: body})
	return resp, err
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
