package exchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/keyfence/keyfence/signer"
)

// ConnConfig configures NewConn. Venue, Credential, Scheme and Answer are
// required. The func fields are the venue's hooks: each maps one thing the
// venues do differently, and a Conn calls them from any goroutine.
type ConnConfig struct {
	Venue      string // names the venue in errors and logs, e.g. "binance"
	Credential string // the key that signs the connection's requests
	// BaseURL is the REST endpoint; DefaultBaseURL if empty. A trailing
	// slash is dropped.
	BaseURL        string
	DefaultBaseURL string
	HTTPClient     *http.Client // NewHTTPClient() if nil
	Logger         *slog.Logger // nil discards
	Scheme         Scheme       // classifies the requests
	// Signer, Guard and Audit are the Authorizer's (NewAuthorizer); the
	// Guard is also told of closed orders (Settler).
	Signer signer.Signer
	Guard  Guard
	Audit  Auditor
	// StampAt, when not zero, is the time Authorize stamps the requests it
	// signs without sending with (Authorizer.StampAt): for tools that
	// reproduce a documented signature only. Requests the connection
	// sends are stamped on the venue's clock.
	StampAt time.Time

	// Answer splits a venue's answer into its payload and the venue's
	// error, which is nil when the venue accepted the request.
	Answer func(resp *Response) (payload []byte, err *APIError)
	// Rate returns the rate limiter req waits on and reports usage to. A
	// nil hook or result sends a public request without waiting (signed
	// ones wait in their Authorizer).
	Rate func(req *Request) RateLimiter
	// Usage reads what the venue reports of its rate limits in the answer
	// to req; at is the venue's time. Required with Rate.
	Usage func(req *Request, at time.Time, resp *Response) Usage
	// Authorizer returns the Authorizer of a signed request. Required to
	// sign.
	Authorizer func(req *Request) *Authorizer
	// Query encodes a public request's parameters; Params.Encode if nil.
	Query func(p Params) (string, error)
	// Accepted settles the accepted answer of a request that creates
	// orders: Commit what the venue did, or Release with the refusal the
	// answer holds (and return it). Nil releases.
	Accepted func(ctx context.Context, a *Authorized, resp *Response, payload []byte) error
	// Refused settles the refusal of a request that creates orders when the
	// venue acted anyway (a cancel-replace whose new order was placed); it
	// reports whether it did. Nil, or false: the reservation is released.
	Refused func(ctx context.Context, a *Authorized, resp *Response, err *APIError) bool
	// Closed reports to the guard the orders an accepted request that
	// created nothing closed (a cancel), after its release. Optional.
	Closed func(ctx context.Context, a *Authorized, payload []byte)
	// ClientIDs gives every order a request of an order-creating route
	// creates a client order id where it has none, on the connection's
	// copy of a request sent through Do or Authorize, before it is
	// authorized. Without it (or where the venue takes none) the
	// Authorizer refuses such orders (ErrClientID).
	ClientIDs func(req *Request) error

	// SignedName is what the venue calls a signed request in the error
	// refusing one on the public path; "signed" if empty.
	SignedName string
	// ClientIDName names the client order id in ErrOutcomeUnknown errors;
	// "client order id" if empty.
	ClientIDName string
	// LookUp names the methods that look an order up, in ErrOutcomeUnknown
	// errors; "GetOrder, OpenOrders" if empty.
	LookUp string
}

// Conn is the connection of one credential to one venue: the base URL,
// the http.Client, the venue's clock and the Settler of the reservations,
// with the flows every venue client runs on them. A public request is
// classified, waits on the rate limiter, is sent and mapped to the venue's
// error; a signed one goes through the Authorizer and is settled from the
// answer, or left reserved when its outcome is unknown. The venue client
// keeps its routes, decoding and settlement of order answers, passed as
// ConnConfig hooks. A Conn is safe for concurrent use.
type Conn struct {
	cfg    ConnConfig
	base   string
	http   *http.Client
	logger *slog.Logger
	settle Settler
	clock  ClockOffset

	// The client order ids the credential's allow records signed, for
	// reconciliation.
	index     *signedIndex
	indexOnce sync.Once
	indexErr  error
}

// NewConn returns a Conn. It sends nothing.
func NewConn(cfg ConnConfig) (*Conn, error) {
	if cfg.Venue == "" || cfg.Credential == "" || cfg.Scheme == nil || cfg.Answer == nil {
		return nil, errors.New("exchange: ConnConfig needs a Venue, a Credential, a Scheme and an Answer hook")
	}
	if cfg.Rate != nil && cfg.Usage == nil {
		return nil, errors.New("exchange: ConnConfig has a Rate hook without a Usage hook; set both")
	}
	c := &Conn{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/"), http: cfg.HTTPClient, logger: cfg.Logger}
	if c.base == "" {
		c.base = strings.TrimRight(cfg.DefaultBaseURL, "/")
	}
	if c.http == nil {
		c.http = NewHTTPClient()
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.settle = Settler{Venue: cfg.Venue, Credential: cfg.Credential, Guard: cfg.Guard, Logger: c.logger}
	c.index = &signedIndex{cids: map[string]signedOrder{}}
	if cfg.Audit != nil {
		c.cfg.Audit = &indexingAuditor{inner: cfg.Audit, conn: c}
	}
	return c, nil
}

// Credential returns the credential the connection signs for.
func (c *Conn) Credential() string { return c.cfg.Credential }

// BaseURL returns the REST endpoint, without a trailing slash.
func (c *Conn) BaseURL() string { return c.base }

// HTTPClient returns the http.Client that sends the requests.
func (c *Conn) HTTPClient() *http.Client { return c.http }

// Logger returns the connection's logger; it discards when none was set.
func (c *Conn) Logger() *slog.Logger { return c.logger }

// Settler returns the Settler of the connection's reservations.
func (c *Conn) Settler() Settler { return c.settle }

// Clock returns the venue's clock as the connection knows it.
func (c *Conn) Clock() *ClockOffset { return &c.clock }

// NewAuthorizer returns an Authorizer of the connection's scheme, signer,
// guard and audit log that waits on rate and stamps requests on the
// venue's clock. rate may be nil.
func (c *Conn) NewAuthorizer(rate RateLimiter) *Authorizer {
	return &Authorizer{Scheme: c.cfg.Scheme, Signer: c.cfg.Signer, Guard: c.cfg.Guard, Audit: c.cfg.Audit,
		Rate: rate, Offset: c.clock.Load, Logger: c.logger}
}

// CheckKey reads the key's permissions with permissions and refuses a key
// that can do more than risks accepts (CheckPermissions).
func (c *Conn) CheckKey(ctx context.Context, permissions func(ctx context.Context) (Permissions, error), risks KeyRisks) error {
	p, err := permissions(ctx)
	if err != nil {
		return fmt.Errorf("%s: checking the key's permissions: %w", c.cfg.Venue, err)
	}
	return CheckPermissions(c.cfg.Venue, p, risks)
}

// StatusAnswer returns an Answer hook for a venue that refuses by HTTP
// status: the payload of a 2xx answer is its body, and apiError maps any
// other answer to the venue's error.
func StatusAnswer(apiError func(status int, h http.Header, body []byte) *APIError) func(resp *Response) ([]byte, *APIError) {
	return func(resp *Response) ([]byte, *APIError) {
		if resp.Status/100 != 2 {
			return nil, apiError(resp.Status, resp.Header, resp.Body)
		}
		return resp.Body, nil
	}
}

// Own returns a copy of req for the connection's credential (OwnRequest).
func (c *Conn) Own(req *Request) (*Request, error) {
	return OwnRequest(c.cfg.Venue, c.cfg.Credential, req)
}

// Authorize runs a copy of req for the connection's credential through
// its Authorizer and returns it signed, without sending it, stamped at
// ConnConfig.StampAt when that is set. Orders without a client order id
// get one first (ConnConfig.ClientIDs). The returned reservation counts
// whatever is done with the signature (see Authorized): Release commits
// its orders as of unknown outcome, for reconciliation to settle.
func (c *Conn) Authorize(ctx context.Context, req *Request) (*Authorized, error) {
	r, err := c.Own(req)
	if err != nil {
		return nil, err
	}
	if err := c.clientIDs(r); err != nil {
		return nil, err
	}
	auth, err := c.authorizer(r)
	if err != nil {
		return nil, err
	}
	if !c.cfg.StampAt.IsZero() {
		stamped := *auth
		stamped.StampAt = c.cfg.StampAt
		auth = &stamped
	}
	return auth.Authorize(ctx, r)
}

// Do sends a copy of req for the connection's credential: public routes
// through Public, signed ones through Signed.
func (c *Conn) Do(ctx context.Context, req *Request) (*Response, []byte, error) {
	r, err := c.Own(req)
	if err != nil {
		return nil, nil, err
	}
	route, err := c.cfg.Scheme.Classify(r)
	if err != nil {
		return nil, nil, err
	}
	if !route.Signed {
		return c.Public(ctx, r)
	}
	if err := c.clientIDs(r); err != nil {
		return nil, nil, err
	}
	return c.Signed(ctx, r)
}

// clientIDs runs the ClientIDs hook on the connection's copy of a request.
func (c *Conn) clientIDs(r *Request) error {
	if c.cfg.ClientIDs == nil {
		return nil
	}
	if err := c.cfg.ClientIDs(r); err != nil {
		return fmt.Errorf("%s: client order id: %w", c.cfg.Venue, err)
	}
	return nil
}

// Public sends an unsigned request of a public route, after waiting on its
// rate limiter. It returns the answer and its payload; an answer the venue
// refused returns the response and the venue's *APIError.
func (c *Conn) Public(ctx context.Context, req *Request) (*Response, []byte, error) {
	route, err := c.cfg.Scheme.Classify(req)
	if err != nil {
		return nil, nil, err
	}
	if route.Signed {
		name := c.cfg.SignedName
		if name == "" {
			name = "signed"
		}
		return nil, nil, fmt.Errorf("%s: %s is %s; send it through Do", c.cfg.Venue, route.Name, name)
	}
	rl := c.rate(req)
	if rl != nil {
		if err := rl.Wait(ctx, route.Cost); err != nil {
			return nil, nil, err
		}
	}
	q := ""
	if c.cfg.Query == nil {
		q = req.Params.Encode()
	} else if q, err = c.cfg.Query(req.Params); err != nil {
		return nil, nil, fmt.Errorf("%w: %s %s: %v", ErrMalformedRequest, c.cfg.Venue, route.Name, err)
	}
	w := &Wire{Method: req.Method, Path: req.Path, Query: q, Header: req.Header.Clone(), Body: req.Body}
	resp, err := Do(ctx, c.http, c.base, w)
	if err != nil {
		return nil, nil, err
	}
	c.observe(rl, req, resp)
	payload, apiErr := c.cfg.Answer(resp)
	if apiErr != nil {
		return resp, nil, apiErr
	}
	return resp, payload, nil
}

// Signed authorizes, sends and settles a signed request: a reservation is
// released when the venue refused the request, it created nothing, or it
// never left the process; settled by the Accepted hook when it created
// orders; and committed as of unknown outcome when the venue may have
// acted without saying what it did (ErrOutcomeUnknown: a transport
// failure after sending, or a 5xx), so that the budget stays reserved and
// a look-up or reconciliation settles it. It returns the answer and its
// payload; an answer the venue refused returns the response and the
// venue's error.
func (c *Conn) Signed(ctx context.Context, req *Request) (*Response, []byte, error) {
	auth, err := c.authorizer(req)
	if err != nil {
		return nil, nil, err
	}
	a, err := auth.Authorize(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	settleCtx := context.WithoutCancel(ctx)
	creates := a.Intent.Class() == ClassTrade && !a.Intent.Test
	resp, err := Do(ctx, c.http, c.base, a.Wire)
	if err != nil {
		if creates && errors.Is(err, ErrOutcomeUnknown) {
			// The venue may have acted: the budget stays reserved.
			c.settle.Commit(settleCtx, a, a.Intent.unknownOutcome())
			return nil, nil, c.UnknownOutcome(a.Intent, err)
		}
		c.settle.releaseUnsent(settleCtx, a, err)
		return nil, nil, err
	}
	c.observe(c.rate(req), req, resp)
	payload, apiErr := c.cfg.Answer(resp)
	if apiErr != nil {
		if creates && errors.Is(apiErr, ErrOutcomeUnknown) {
			c.settle.Commit(settleCtx, a, a.Intent.unknownOutcome())
			return resp, nil, c.UnknownOutcome(a.Intent, apiErr)
		}
		switch {
		case !creates && errors.Is(apiErr, ErrNotFound):
			// A look-up of an order the venue does not know (one never
			// placed, found by reconciliation) is no refusal of the key:
			// it does not count toward the kill switch.
			c.settle.Release(settleCtx, a, nil)
		case !creates || c.cfg.Refused == nil || !c.cfg.Refused(settleCtx, a, resp, apiErr):
			c.settle.Release(settleCtx, a, apiErr)
		}
		return resp, nil, apiErr
	}
	switch {
	case !creates:
		c.settle.Release(settleCtx, a, nil)
		if c.cfg.Closed != nil {
			c.cfg.Closed(settleCtx, a, payload)
		}
	case c.cfg.Accepted == nil:
		// Nothing reads the answer: the orders' outcome is unknown.
		c.settle.Commit(settleCtx, a, a.Intent.unknownOutcome())
	default:
		return resp, payload, c.cfg.Accepted(settleCtx, a, resp, payload)
	}
	return resp, payload, nil
}

// UnknownOutcome returns the error of an order the venue may have placed:
// it wraps ErrOutcomeUnknown and cause, names the client order ids and
// says how to find out.
func (c *Conn) UnknownOutcome(in Intent, cause error) error {
	var ids []string
	for _, o := range in.Orders {
		if o.ClientID != "" {
			ids = append(ids, o.ClientID)
		}
	}
	which := ""
	if len(ids) > 0 {
		name := c.cfg.ClientIDName
		if name == "" {
			name = "client order id"
		}
		which = " (" + name + " " + strings.Join(ids, ", ") + ")"
	}
	lookUp := c.cfg.LookUp
	if lookUp == "" {
		lookUp = "GetOrder, OpenOrders"
	}
	return fmt.Errorf("%w: %s %s%s: %w; the order may have been placed: look it up (%s) before placing it again",
		ErrOutcomeUnknown, c.cfg.Venue, in.Route.Name, which, cause, lookUp)
}

func (c *Conn) rate(req *Request) RateLimiter {
	if c.cfg.Rate == nil {
		return nil
	}
	return c.cfg.Rate(req)
}

func (c *Conn) authorizer(req *Request) (*Authorizer, error) {
	var a *Authorizer
	if c.cfg.Authorizer != nil {
		a = c.cfg.Authorizer(req)
	}
	if a == nil {
		return nil, fmt.Errorf("exchange: %s connection has no Authorizer for %s %s; set ConnConfig.Authorizer", c.cfg.Venue, req.Method, req.Path)
	}
	return a, nil
}

// observe reports the venue's usage in the answer to req to rl.
func (c *Conn) observe(rl RateLimiter, req *Request, resp *Response) {
	if rl != nil {
		rl.Observe(c.cfg.Usage(req, c.clock.Now(), resp))
	}
}
