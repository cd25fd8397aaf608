package kucoin

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
	"github.com/keyfence/keyfence/signer"
)

// Config configures New.
type Config struct {
	// BaseURL is the REST endpoint; DefaultBaseURL if empty.
	BaseURL string
	// Credential names the key (in Signer) that signs the client's
	// requests. The key is an HMAC key stored with its API passphrase.
	Credential string
	// Signer holds the key; it must implement signer.PassphraseSigner.
	Signer signer.Signer
	Guard  exchange.Guard
	Audit  exchange.Auditor
	// Rate is the client-side rate limiter of the resource pools. If nil,
	// New builds Pools with DefaultPoolLimits on the venue's clock.
	Rate Limiter
	// HTTPClient sends the requests; exchange.NewHTTPClient() if nil.
	HTTPClient *http.Client
	// Logger receives decisions and warnings; nothing is logged if nil.
	Logger *slog.Logger
	// KeyRisks is what the policy accepts of the key's permissions; New
	// refuses a key that can do more (exchange.CheckPermissions).
	KeyRisks exchange.KeyRisks
	// Prices is the reference price source the guard uses, if it was built
	// with one; the client reads references from it. If nil, the client
	// makes its own PriceFeed.
	Prices *PriceFeed
	// KeyVersion is the KC-API-KEY-VERSION of the key: "2" (default) or "3".
	KeyVersion string
	// SkipKeyCheck skips the key permission check in New (dry runs).
	SkipKeyCheck bool
}

// Client is a guarded KuCoin Spot (high-frequency) REST client. It
// implements exchange.Client. Signed requests go through an
// exchange.Authorizer (guard, audit log, signer) that waits on the rate
// limiter of the route's pool; public requests go unsigned through the
// public pool. A Client is safe for concurrent use.
type Client struct {
	base       string
	credential string
	http       *http.Client
	scheme     *Scheme
	auth       map[Pool]*exchange.Authorizer
	rate       Limiter
	prices     *PriceFeed
	logger     *slog.Logger
	settle     exchange.Settler
	offset     atomic.Int64 // server time minus local time, ns

	mu    sync.RWMutex
	rules map[string]*symbolRules
}

var _ exchange.Client = (*Client)(nil)

// New connects to KuCoin: it measures the server-time offset, loads the
// symbols and their rules and checks the key's permissions, refusing a key
// that can withdraw, transfer, trade other products or be used from any
// address unless cfg.KeyRisks accepts it (errors.Is
// exchange.ErrKeyTooPowerful).
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Credential == "" || cfg.Signer == nil || cfg.Guard == nil || cfg.Audit == nil {
		return nil, errors.New("kucoin: Config needs a Credential, a Signer, a Guard and an Audit log")
	}
	scheme, err := NewScheme(cfg.KeyVersion)
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
		p, err := NewPools(DefaultPoolLimits, c.now, c.logger)
		if err != nil {
			return nil, err
		}
		c.rate = p
	}
	if c.prices == nil {
		c.prices = NewPriceFeed(PriceFeedConfig{BaseURL: c.base, HTTPClient: c.http, Clock: time.Now})
	}
	c.prices.useRate(c.rate.Pool(PoolPublic))
	c.auth = make(map[Pool]*exchange.Authorizer, 3)
	for _, pool := range []Pool{PoolSpot, PoolManagement, PoolPublic} {
		c.auth[pool] = &exchange.Authorizer{
			Scheme: scheme, Signer: cfg.Signer, Guard: cfg.Guard, Audit: cfg.Audit,
			Rate: c.rate.Pool(pool), Clock: c.now, Logger: cfg.Logger,
		}
	}
	if err := c.SyncTime(ctx); err != nil {
		return nil, err
	}
	if err := c.LoadSymbols(ctx); err != nil {
		return nil, err
	}
	if !cfg.SkipKeyCheck {
		p, err := c.Permissions(ctx)
		if err != nil {
			return nil, fmt.Errorf("kucoin: checking the key's permissions: %w", err)
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

// Venue returns "kucoin".
func (c *Client) Venue() string { return Venue }

// Scheme returns the client's scheme, with the symbol table loaded.
func (c *Client) Scheme() *Scheme { return c.scheme }

// SyncTime measures the offset of the server's clock (GET
// /api/v1/timestamp) against the local clock, taking the middle of the
// round trip.
func (c *Client) SyncTime(ctx context.Context) error {
	t0 := time.Now()
	data, err := c.publicJSON(ctx, "/api/v1/timestamp", nil)
	if err != nil {
		return fmt.Errorf("kucoin: server time: %w", err)
	}
	t1 := time.Now()
	var ms int64
	if err := json.Unmarshal(data, &ms); err != nil || ms <= 0 {
		return errors.New("kucoin: server time: unreadable answer")
	}
	mid := t0.Add(t1.Sub(t0) / 2)
	c.offset.Store(int64(time.UnixMilli(ms).Sub(mid)))
	return nil
}

// LoadSymbols (re)loads the symbols and their rules (GET /api/v2/symbols)
// and installs the symbol table in the scheme.
func (c *Client) LoadSymbols(ctx context.Context) error {
	data, err := c.publicJSON(ctx, "/api/v2/symbols", nil)
	if err != nil {
		return fmt.Errorf("kucoin: symbols: %w", err)
	}
	rules, err := parseSymbols(data)
	if err != nil {
		return err
	}
	infos := make([]exchange.SymbolInfo, 0, len(rules))
	for _, r := range rules {
		infos = append(infos, r.info)
	}
	c.scheme.SetSymbols(infos)
	c.mu.Lock()
	c.rules = rules
	c.mu.Unlock()
	return nil
}

func (c *Client) rule(symbol string) (*symbolRules, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.rules[symbol]
	return r, ok
}

// Symbols returns the symbols and their filters, sorted.
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

// Reference returns the level-1 best bid and ask of a symbol.
func (c *Client) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	return c.prices.Reference(ctx, symbol)
}

// Authorize runs a request through the guard, the audit log and the signer
// and returns it signed, without sending it (a dry run). Release the
// returned Reservation if the request is not sent.
func (c *Client) Authorize(ctx context.Context, req *exchange.Request) (*exchange.Authorized, error) {
	r, err := c.own(req)
	if err != nil {
		return nil, err
	}
	return c.authorizer(r).Authorize(ctx, r)
}

// Do sends any request of the route table. Public routes go unsigned;
// others through the Authorizer, and the reservation is settled from the
// answer. A refusal returns the response and an *exchange.APIError.
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

// authorizer returns the Authorizer whose rate limiter is the request's
// pool; an unknown route gets one anyway, and its Scheme refuses it.
func (c *Client) authorizer(r *exchange.Request) *exchange.Authorizer {
	pool, ok := PoolOf(r.Method, r.Path)
	if !ok {
		pool = PoolManagement
	}
	return c.auth[pool]
}

func (c *Client) publicJSON(ctx context.Context, path string, p exchange.Params) (json.RawMessage, error) {
	resp, err := c.public(ctx, &exchange.Request{Method: http.MethodGet, Path: path, Params: p})
	if err != nil {
		return nil, err
	}
	data, apiErr := decode(resp.Status, resp.Header, resp.Body)
	if apiErr != nil {
		return nil, apiErr
	}
	return data, nil
}

// public sends an unsigned request of a public route through the public
// pool.
func (c *Client) public(ctx context.Context, req *exchange.Request) (*exchange.Response, error) {
	route, err := c.scheme.Classify(req)
	if err != nil {
		return nil, err
	}
	if route.Signed {
		return nil, fmt.Errorf("kucoin: %s is signed; send it through Do", route.Name)
	}
	pool, _ := PoolOf(req.Method, req.Path)
	rl := c.rate.Pool(pool)
	if err := rl.Wait(ctx, route.Cost); err != nil {
		return nil, err
	}
	q, err := appendQuery(nil, req.Params)
	if err != nil {
		return nil, fmt.Errorf("%w: kucoin %s: %v", exchange.ErrMalformedRequest, route.Name, err)
	}
	w := &exchange.Wire{Method: req.Method, Path: req.Path, Query: string(q), Header: req.Header.Clone(), Body: req.Body}
	resp, err := exchange.Do(ctx, c.http, c.base, w)
	if err != nil {
		return nil, err
	}
	rl.Observe(usage(pool, c.now(), resp.Status, resp.Header))
	if _, apiErr := decode(resp.Status, resp.Header, resp.Body); apiErr != nil {
		return resp, apiErr
	}
	return resp, nil
}

// signed authorizes, sends and settles a signed request; it returns the
// answer's data along with the response.
func (c *Client) signed(ctx context.Context, req *exchange.Request) (*exchange.Response, json.RawMessage, error) {
	a, err := c.authorizer(req).Authorize(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	pool, _ := PoolOf(req.Method, req.Path)
	settleCtx := context.WithoutCancel(ctx)
	trade := a.Intent.Class() == exchange.ClassTrade && !a.Intent.Test
	resp, err := exchange.Do(ctx, c.http, c.base, a.Wire)
	if err != nil {
		if errors.Is(err, exchange.ErrOutcomeUnknown) && trade {
			return nil, nil, unknownOutcome(a.Intent, err)
		}
		c.settle.Release(settleCtx, a, err)
		return nil, nil, err
	}
	c.rate.Pool(pool).Observe(usage(pool, c.now(), resp.Status, resp.Header))
	data, apiErr := decode(resp.Status, resp.Header, resp.Body)
	if apiErr != nil {
		if trade && errors.Is(apiErr, exchange.ErrOutcomeUnknown) {
			return resp, nil, unknownOutcome(a.Intent, apiErr)
		}
		c.settle.Release(settleCtx, a, apiErr)
		return resp, nil, apiErr
	}
	if !trade {
		c.settle.Release(settleCtx, a, nil)
		return resp, data, nil
	}
	out, ok := outcomeOf(a.Intent, data)
	if !ok {
		c.logger.LogAttrs(ctx, slog.LevelWarn, "kucoin: accepted order answer unreadable; budget kept reserved",
			slog.String("route", a.Intent.Route.Name))
		return resp, data, nil
	}
	if len(out.OrderIDs) == 0 {
		// A batch whose every order the venue refused.
		c.settle.Release(settleCtx, a, &exchange.APIError{Venue: Venue, Status: resp.Status, Code: CodeOK,
			Msg: "every order of the batch was refused", Kind: exchange.ErrRejected})
		return resp, data, nil
	}
	c.settle.Commit(settleCtx, a, out)
	return resp, data, nil
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
		which = " (clientOid " + strings.Join(ids, ", ") + ")"
	}
	return fmt.Errorf("%w: kucoin %s%s: %w; the order may have been placed: look it up (GetOrderByClientID, OpenOrders) before placing it again",
		exchange.ErrOutcomeUnknown, in.Route.Name, which, cause)
}
