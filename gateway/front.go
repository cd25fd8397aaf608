package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
)

// maxBody bounds a client's request body.
const maxBody = 1 << 20

// venueClient is the venue package's client of one venue credential:
// binance.Client, kucoin.Client and coinbase.Client. Do runs a request of
// the route table through the Authorizer (signed routes) or the rate
// limiter (public ones), sends it and settles it from the answer.
type venueClient interface {
	Do(ctx context.Context, req *exchange.Request) (*exchange.Response, error)
	// Reconcile settles tracked orders from the venue and reports foreign
	// ones (exchange.Reconciler); Close stops its background runs.
	Reconcile(ctx context.Context) (exchange.ReconcileReport, error)
	Close() error
}

// answer is an answer the gateway makes itself, in the venue's shape.
type answer struct {
	status int
	header map[string]string
	body   []byte
}

func (a *answer) write(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// venue is what one venue does differently at the gateway.
type venue struct {
	// scheme returns the venue package's scheme, to classify requests.
	scheme func(base string) (exchange.Scheme, bool)
	// prices returns the price source the guard judges the venue's orders
	// by; connect hands it to the venue clients.
	prices func(base string, hc *http.Client) exchange.PriceSource
	// connect returns the venue client of a venue credential.
	connect func(ctx context.Context, f *front, credential string) (venueClient, error)
	// verify checks a signed request's client with the venue's scheme and
	// returns it, with the request's parameters as the venue client takes
	// them (the client's signature and timestamps removed), or the venue's
	// answer refusing it. Unless class is exchange.ClassRead, a signature
	// seen before within its window is refused as a replay (front.once):
	// requests that change something (orders, cancels, anything but reads)
	// are signed to be used once.
	// Reads are not held to it, since a bot polling the same read twice in
	// one millisecond signs the same bytes twice.
	verify func(f *front, r *http.Request, body []byte, req *exchange.Request, class exchange.Class) (*Client, *answer)
	// public fills in a public request's parameters.
	public func(r *http.Request, body []byte, req *exchange.Request) *answer
	// adapt may change a request before it is sent (Binance asks for the
	// full order answer) and returns what to do to the answer, or nil.
	adapt func(req *exchange.Request) func(resp *exchange.Response)
	// deny answers a refusal: an invalid-order error for routes of class
	// trade, a permission error otherwise.
	deny func(class exchange.Class, msg string) *answer
	// unknown answers an order whose outcome is unknown.
	unknown func(msg string) *answer
	// rateLimited answers a request the rate guard could not let through.
	rateLimited func(msg string, retryAfter time.Duration) *answer
	// unavailable answers while the gateway shuts down.
	unavailable func() *answer
}

// venues are the venues the gateway fronts, by name.
var venues = map[string]*venue{}

func venueNames() string {
	var names []string
	for n := range venues {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// front serves one venue's API to the bots.
type front struct {
	g       *Gateway
	venue   string
	base    string
	v       *venue
	scheme  exchange.Scheme
	prices  exchange.PriceSource
	replays ReplayGuard

	mu    sync.Mutex
	conns map[string]*conn // by venue credential

	// connectMu serialises connections, so that the first venue client's
	// rate limiter (shared) is the one every later client shares: all
	// clients reach the venue from this gateway's address.
	connectMu sync.Mutex
	shared    any
}

// conn is the venue client of one credential, connected once.
type conn struct {
	once sync.Once
	c    venueClient
	err  error
}

// conn returns the venue client of credential, connecting it on first use.
// A failed connection is retried on the next request.
func (f *front) conn(ctx context.Context, credential string) (venueClient, error) {
	f.mu.Lock()
	c := f.conns[credential]
	if c == nil {
		c = &conn{}
		f.conns[credential] = c
	}
	f.mu.Unlock()
	c.once.Do(func() {
		f.connectMu.Lock()
		defer f.connectMu.Unlock()
		client, err := f.v.connect(ctx, f, credential)
		f.mu.Lock() // Status, Reconcile and Close read c.c under f.mu
		c.c, c.err = client, err
		f.mu.Unlock()
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.err != nil {
		if f.conns[credential] == c {
			delete(f.conns, credential)
		}
		return nil, fmt.Errorf("gateway: %s: connecting credential %q: %w", f.venue, credential, c.err)
	}
	return c.c, nil
}

// anyConn returns a connected venue client for public requests: the one of
// the first registered client of the venue.
func (f *front) anyConn(ctx context.Context) (venueClient, string, error) {
	f.mu.Lock()
	for cred, c := range f.conns {
		if c.c != nil {
			f.mu.Unlock()
			return c.c, cred, nil
		}
	}
	f.mu.Unlock()
	for _, ci := range f.g.cfg.Clients.List() {
		if ci.Venue == f.venue {
			c, err := f.conn(ctx, ci.Credential)
			return c, ci.Credential, err
		}
	}
	return nil, "", fmt.Errorf("gateway: no client is registered for %s; add one (keyfence gateway client add)", f.venue)
}

// lookup finds the client of an API key. The registry file is checked for
// changes first (a stat), so that a client added or removed by another
// process (keyfence gateway client add|remove --keystore) counts from the
// next request. A registry that became unreadable refuses every client
// (fail closed).
func (f *front) lookup(apiKey string) (*Client, bool) {
	if err := f.g.cfg.Clients.Reload(); err != nil {
		f.g.logger.Error("gateway: the client registry cannot be read; refusing its clients", slog.String("error", err.Error()))
		return nil, false
	}
	return f.g.cfg.Clients.Lookup(f.venue, apiKey)
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.g.inFlight.Add(1)
	defer f.g.inFlight.Add(-1)
	if f.g.closing.Load() {
		w.Header().Set("Connection", "close")
		f.v.unavailable().write(w)
		return
	}
	ctx := r.Context()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		f.v.deny(exchange.ClassRead, "keyfence: the request body is unreadable or larger than 1 MiB; send a smaller request").write(w)
		return
	}
	req := &exchange.Request{Method: r.Method, Path: r.URL.Path}
	if r.URL.RawPath != "" || r.URL.Path == "" {
		f.v.deny(exchange.ClassRead, "keyfence: rule endpoint: the path is not one of the venue's endpoints; send the path unescaped").write(w)
		return
	}
	// Classify on the path alone first: a route outside the table is
	// refused before anything else.
	route, err := f.scheme.Classify(&exchange.Request{Method: r.Method, Path: r.URL.Path})
	if err != nil {
		f.v.deny(exchange.ClassRead, denyMessage("endpoint", err)).write(w)
		return
	}
	var (
		cl     *Client
		client venueClient
		name   = ""
	)
	if route.Signed {
		var ans *answer
		if cl, ans = f.v.verify(f, r, body, req, route.Class); ans != nil {
			ans.write(w)
			return
		}
		name = cl.Name
		req.Credential = cl.Credential
		if client, err = f.conn(ctx, cl.Credential); err != nil {
			f.g.logger.Error("gateway: venue credential unavailable", slog.String("venue", f.venue),
				slog.String("credential", cl.Credential), slog.String("error", err.Error()))
			f.v.deny(route.Class, denyMessage("credential", err)).write(w)
			return
		}
	} else {
		if ans := f.v.public(r, body, req); ans != nil {
			ans.write(w)
			return
		}
		if client, req.Credential, err = f.anyConn(ctx); err != nil {
			f.v.deny(route.Class, denyMessage("credential", err)).write(w)
			return
		}
	}
	var after func(*exchange.Response)
	if f.v.adapt != nil {
		after = f.v.adapt(req)
	}
	p := &pending{}
	resp, err := client.Do(context.WithValue(ctx, pendingKey{}, p), req)
	d := Decision{Time: f.g.now(), Client: name, Route: route.Name}
	// No answer before the request's decision record and reservation are
	// on disk.
	if serr := f.g.wait(p); serr != nil {
		f.g.logger.Error("gateway: the audit log or the limit state cannot be synced", slog.String("error", serr.Error()))
		d.Decision, d.Status = "unknown", http.StatusServiceUnavailable
		f.g.record(req.Credential, d)
		f.v.unknown("keyfence: the audit log or the limit state could not be written to disk; what the venue did is not known: look the order up before sending it again").write(w)
		return
	}
	if resp != nil {
		if after != nil && resp.Status/100 == 2 {
			after(resp)
		}
		copyHeader(w.Header(), resp.Header)
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
		d.Status, d.Decision = resp.Status, "allow"
		if resp.Status/100 != 2 {
			d.Decision = "venue-refused"
		}
		if route.Signed {
			f.g.record(req.Credential, d)
		}
		return
	}
	var ans *answer
	var rl *exchange.RateLimitError
	switch {
	case errors.Is(err, exchange.ErrOutcomeUnknown):
		d.Decision = "unknown"
		ans = f.v.unknown("keyfence: " + err.Error())
	case errors.As(err, &rl):
		d.Decision, d.Rule = "deny", "rate"
		ans = f.v.rateLimited("keyfence: rule rate: "+err.Error(), rl.Until.Sub(f.g.now()))
	case ctx.Err() != nil:
		return // the client went away
	default:
		d.Decision, d.Rule = "deny", ruleOf(err)
		ans = f.v.deny(route.Class, denyMessage(d.Rule, err))
	}
	d.Status = ans.status
	if route.Signed {
		f.g.record(req.Credential, d)
	}
	ans.write(w)
}

// hopHeaders are not forwarded from the venue's answer.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Authenticate": true, "Proxy-Authorization": true,
	"Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Content-Length": true,
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		if hopHeaders[k] {
			continue
		}
		dst[k] = append([]string(nil), vs...)
	}
}

// ruleOf names the rule behind a refusal.
func ruleOf(err error) string {
	var v *limits.Violation
	switch {
	case errors.As(err, &v):
		return string(v.Rule)
	case errors.Is(err, exchange.ErrUnknownEndpoint):
		return "endpoint"
	case errors.Is(err, exchange.ErrMalformedRequest):
		return "intent"
	case errors.Is(err, exchange.ErrAudit):
		return "audit"
	case errors.Is(err, exchange.ErrWrongVenue):
		return "credential"
	case errors.Is(err, limits.ErrDenied):
		return "guard"
	}
	return "gateway"
}

// denyMessage is a refusal's message: the rule and the error, which says
// what to change.
func denyMessage(rule string, err error) string {
	msg := "keyfence: rule " + rule + ": " + oneLine(err.Error())
	switch rule {
	case "endpoint":
		msg += "; the gateway serves the endpoints of the venue package's route table only"
	case "audit":
		msg += "; nothing was signed: the gateway's operator must make the audit log writable"
	case "gateway", "credential":
		msg += "; nothing was signed: ask the gateway's operator"
	}
	return msg
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 1000 {
		s = s[:1000]
	}
	return s
}
