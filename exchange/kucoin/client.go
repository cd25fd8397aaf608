package kucoin

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

// Client is a guarded KuCoin Spot (high-frequency) REST client. It
// implements exchange.Client. Signed requests go through an
// exchange.Authorizer (guard, audit log, signer) that waits on the rate
// limiter of the route's pool; public requests go unsigned through the
// public pool. A Client is safe for concurrent use.
type Client struct {
	conn   *exchange.Conn
	scheme *Scheme
	auth   map[Pool]*exchange.Authorizer
	rate   Limiter
	prices *PriceFeed

	mu    sync.RWMutex
	rules map[string]*symbolRules

	rec *exchange.Reconciler
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
	c := &Client{scheme: scheme, rate: cfg.Rate, prices: cfg.Prices}
	c.conn, err = exchange.NewConn(exchange.ConnConfig{
		Venue: Venue, Credential: cfg.Credential, BaseURL: cfg.BaseURL, DefaultBaseURL: DefaultBaseURL,
		HTTPClient: cfg.HTTPClient, Logger: cfg.Logger, Scheme: scheme, Signer: cfg.Signer, Guard: cfg.Guard, Audit: cfg.Audit,
		StampAt: cfg.StampAt,
		Answer: func(resp *exchange.Response) ([]byte, *exchange.APIError) {
			return decode(resp.Status, resp.Header, resp.Body)
		},
		Rate: func(r *exchange.Request) exchange.RateLimiter {
			pool, _ := PoolOf(r.Method, r.Path)
			return c.rate.Pool(pool)
		},
		Usage: func(r *exchange.Request, at time.Time, resp *exchange.Response) exchange.Usage {
			pool, _ := PoolOf(r.Method, r.Path)
			return usage(pool, at, resp.Status, resp.Header)
		},
		Authorizer: c.authorizer,
		Query: func(p exchange.Params) (string, error) {
			q, err := appendQuery(nil, p)
			return string(q), err
		},
		Accepted:     c.accepted,
		ClientIDs:    clientIDs,
		ClientIDName: "clientOid",
		LookUp:       "GetOrderByClientID, OpenOrders",
	})
	if err != nil {
		return nil, err
	}
	if c.rate == nil {
		p, err := NewPools(DefaultPoolLimits, c.conn.Clock().Now, c.conn.Logger())
		if err != nil {
			return nil, err
		}
		c.rate = p
	}
	if c.prices == nil {
		c.prices = NewPriceFeed(PriceFeedConfig{BaseURL: c.conn.BaseURL(), HTTPClient: c.conn.HTTPClient(), Clock: time.Now})
	}
	c.prices.useRate(c.rate.Pool(PoolPublic))
	c.auth = make(map[Pool]*exchange.Authorizer, 3)
	for _, pool := range []Pool{PoolSpot, PoolManagement, PoolPublic} {
		c.auth[pool] = c.conn.NewAuthorizer(c.rate.Pool(pool))
	}
	if err := c.SyncTime(ctx); err != nil {
		return nil, err
	}
	if err := c.LoadSymbols(ctx); err != nil {
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
			c.conn.Logger().LogAttrs(ctx, slog.LevelError, "kucoin: reconciliation at start", slog.String("error", err.Error()))
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

// Venue returns "kucoin".
func (c *Client) Venue() string { return Venue }

// Scheme returns the client's scheme, with the symbol table loaded.
func (c *Client) Scheme() *Scheme { return c.scheme }

// SyncTime measures the offset of the server's clock (GET
// /api/v1/timestamp) against the local clock, taking the middle of the
// round trip.
func (c *Client) SyncTime(ctx context.Context) error {
	return c.conn.Clock().Sync(ctx, func(ctx context.Context) (time.Time, error) {
		data, err := c.publicJSON(ctx, "/api/v1/timestamp", nil)
		if err != nil {
			return time.Time{}, fmt.Errorf("kucoin: server time: %w", err)
		}
		var ms int64
		if err := json.Unmarshal(data, &ms); err != nil || ms <= 0 {
			return time.Time{}, errors.New("kucoin: server time: unreadable answer")
		}
		return time.UnixMilli(ms), nil
	})
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
	return c.conn.Authorize(ctx, req)
}

// Do sends any request of the route table. Public routes go unsigned;
// others through the Authorizer, and the reservation is settled from the
// answer. A refusal returns the response and an *exchange.APIError.
func (c *Client) Do(ctx context.Context, req *exchange.Request) (*exchange.Response, error) {
	resp, _, err := c.conn.Do(ctx, req)
	return resp, err
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

// publicJSON sends an unsigned GET of a public route through the public
// pool and returns the answer's data.
func (c *Client) publicJSON(ctx context.Context, path string, p exchange.Params) (json.RawMessage, error) {
	_, data, err := c.conn.Public(ctx, &exchange.Request{Method: http.MethodGet, Path: path, Params: p})
	return data, err
}

// accepted settles the accepted answer of an order placement order by
// order (outcomeOf): what the answer does not state stays reserved.
func (c *Client) accepted(ctx context.Context, a *exchange.Authorized, resp *exchange.Response, data []byte) error {
	out, placed, ok := outcomeOf(&a.Intent, data)
	if !ok {
		c.conn.Logger().LogAttrs(ctx, slog.LevelWarn, "kucoin: accepted order answer unreadable; budget kept reserved",
			slog.String("route", a.Intent.Route.Name))
		c.conn.Settler().Commit(ctx, a, a.Intent.UnknownOutcome())
		return nil
	}
	if !placed {
		// A batch whose every order the venue refused.
		c.conn.Settler().Release(ctx, a, &exchange.APIError{Venue: Venue, Status: resp.Status, Code: CodeOK,
			Msg: "every order of the batch was refused", Kind: exchange.ErrRejected})
		return nil
	}
	c.conn.Settler().Commit(ctx, a, out)
	return nil
}
