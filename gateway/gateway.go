package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// Config configures New. Signer, Policy, Store, Audit, Clients and at
// least one Upstream are required.
type Config struct {
	// Signer holds the venue credentials (a keystore's signer, an HSM, a
	// KMS).
	Signer signer.Signer
	// Policy is the policy in force; ReloadPolicy replaces it.
	Policy *limits.Policy
	// Store holds the limit state (limits.OpenFileStore, or a pgstore.Store
	// shared with other gateways and bots). A FileStore opened with
	// limits.DeferSync is made durable by the gateway (see Durable); a
	// store that is not a Durable must have made a reservation durable
	// when Reserve returns, as PostgreSQL's committed transaction is.
	Store limits.Store
	// Audit records every decision (audit.Open). An audit.Log opened with
	// audit.NoSync is made durable by the gateway (see Durable): no answer
	// leaves before the request's record is on disk.
	Audit exchange.Auditor
	// Clients is the client registry (OpenClients).
	Clients *Clients
	// Upstreams maps a venue (Binance, KuCoin, Coinbase) to its base URL.
	Upstreams map[string]string
	// HTTPClient sends upstream; NewUpstreamClient() if nil.
	HTTPClient *http.Client
	// Logger receives decisions and warnings; nothing is logged if nil.
	Logger *slog.Logger
	// Clock is the gateway's clock, for verifying clients; time.Now if nil.
	Clock func() time.Time
	// Replays remembers the signed requests admitted, so that a request
	// that changes something passes once within its signature's window;
	// a cache in this gateway's memory (one per venue) if nil. Gateways
	// that share their Store share it too (a pgstore.Store is both), lest
	// a captured request be replayed once to each of them.
	Replays ReplayGuard
}

// NewUpstreamClient returns the http.Client the gateway sends upstream
// with: exchange.NewHTTPClient's, keeping up to 256 idle connections per
// host so that many concurrent bots do not dial a connection each.
func NewUpstreamClient() *http.Client {
	c := exchange.NewHTTPClient()
	t := c.Transport.(*http.Transport)
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 256
	return c
}

// Gateway is the guarded gateway. Handler returns the HTTP handler of a
// venue; the methods of the admin API act on the running gateway. A
// Gateway is safe for concurrent use.
type Gateway struct {
	cfg      Config
	logger   *slog.Logger
	now      func() time.Time
	guard    guardSwap
	policy   atomic.Pointer[limits.Policy]
	opts     []limits.GuardOption
	fronts   map[string]*front
	closing  atomic.Bool
	inFlight atomic.Int64 // requests being served

	decMu     sync.Mutex
	decisions map[string]*decisionLog // by venue credential

	auditDur, storeDur Durable // the audit log and the store, when they sync in groups
	syncers            []*syncer
}

// New builds the gateway: a price feed per venue for the guard, the guard
// under cfg.Policy, and a venue client (connected on first use) per venue
// credential that a registered client maps to. It connects now to the
// venue credentials of the registered clients, so that a bad key or an
// unreachable venue stops it from starting.
func New(ctx context.Context, cfg Config) (*Gateway, error) {
	if cfg.Signer == nil || cfg.Policy == nil || cfg.Store == nil || cfg.Audit == nil || cfg.Clients == nil {
		return nil, errors.New("gateway: Config needs a Signer, a Policy, a Store, an Audit log and Clients")
	}
	if len(cfg.Upstreams) == 0 {
		return nil, errors.New("gateway: Config needs an upstream venue; set Upstreams (e.g. binance=https://api.binance.com)")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = NewUpstreamClient()
	}
	g := &Gateway{cfg: cfg, logger: cfg.Logger, now: cfg.Clock, fronts: map[string]*front{}, decisions: map[string]*decisionLog{}}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	if d, ok := cfg.Audit.(Durable); ok {
		s := newSyncer(d)
		g.auditDur, g.syncers = d, append(g.syncers, s)
		g.cfg.Audit = &durableAudit{Auditor: cfg.Audit, d: d, s: s}
	}
	if d, ok := cfg.Store.(Durable); ok {
		s := newSyncer(d)
		g.storeDur, g.syncers = d, append(g.syncers, s)
		g.cfg.Store = &durableStore{Store: cfg.Store, d: d, s: s}
	}
	for venue, base := range cfg.Upstreams {
		v, ok := venues[venue]
		if !ok {
			return nil, fmt.Errorf("gateway: unknown venue %q; the gateway fronts %s", venue, venueNames())
		}
		replays := cfg.Replays
		if replays == nil {
			replays = newReplayCache(replayCap, g.now)
		}
		f := &front{g: g, venue: venue, base: base, v: v, conns: map[string]*conn{}, replays: replays}
		f.prices = v.prices(base, cfg.HTTPClient)
		g.opts = append(g.opts, limits.WithPrices(venue, f.prices))
		if f.scheme, ok = v.scheme(base); !ok {
			return nil, fmt.Errorf("gateway: %s: cannot build the scheme for %s", venue, base)
		}
		g.fronts[venue] = f
	}
	guard, err := limits.NewGuard(cfg.Policy, g.cfg.Store, append(g.opts, limits.WithLogger(g.logger))...)
	if err != nil {
		g.Close()
		return nil, err
	}
	g.guard.p.Store(guard)
	g.policy.Store(cfg.Policy)
	for _, ci := range cfg.Clients.List() {
		f := g.fronts[ci.Venue]
		if f == nil {
			continue
		}
		if _, err := f.conn(ctx, ci.Credential); err != nil {
			g.Close()
			return nil, err
		}
	}
	return g, nil
}

// Close stops the venue clients' background reconciliation and the
// gateway's background fsyncs. It does not close the audit log or the
// store, which the caller opened: close them after.
func (g *Gateway) Close() {
	for _, f := range g.fronts {
		f.mu.Lock()
		for _, c := range f.conns {
			if c.c != nil {
				_ = c.c.Close()
			}
		}
		f.mu.Unlock()
	}
	for _, s := range g.syncers {
		s.stop()
	}
}

// CredentialReconcile is one venue credential's reconciliation.
type CredentialReconcile struct {
	Venue      string                   `json:"venue"`
	Credential string                   `json:"credential"`
	Report     exchange.ReconcileReport `json:"report"`
	Error      string                   `json:"error,omitempty"`
}

// Reconcile reconciles every connected venue credential now: the orders
// the guard holds open or of unknown outcome are settled from the venue's
// truth, and an order the venue holds that keyfence never signed (a
// foreign order: the key is used elsewhere) trips the kill switch. The
// venue clients also reconcile when they connect and every minute.
func (g *Gateway) Reconcile(ctx context.Context) []CredentialReconcile {
	var out []CredentialReconcile
	for _, venue := range g.Venues() {
		f := g.fronts[venue]
		f.mu.Lock()
		creds := make(map[string]venueClient, len(f.conns))
		for cred, c := range f.conns {
			if c.c != nil {
				creds[cred] = c.c
			}
		}
		f.mu.Unlock()
		for _, cred := range slices.Sorted(maps.Keys(creds)) {
			rep, err := creds[cred].Reconcile(ctx)
			cr := CredentialReconcile{Venue: venue, Credential: cred, Report: rep}
			if err != nil {
				cr.Error = oneLine(err.Error())
			}
			out = append(out, cr)
		}
	}
	return out
}

// Venues returns the venues the gateway fronts, sorted.
func (g *Gateway) Venues() []string {
	var out []string
	for v := range g.fronts {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// Handler returns the HTTP handler that speaks venue's API.
func (g *Gateway) Handler(venue string) (http.Handler, bool) {
	f, ok := g.fronts[venue]
	return f, ok
}

// Clients returns the client registry.
func (g *Gateway) Clients() *Clients { return g.cfg.Clients }

// Guard returns the guard in force.
func (g *Gateway) Guard() *limits.Guard { return g.guard.p.Load() }

// Trip trips the kill switch: orders are refused from the next request
// on; cancels and reads still pass.
func (g *Gateway) Trip(ctx context.Context, reason string) error {
	return g.guard.p.Load().Trip(ctx, reason)
}

// Reset resets the kill switch.
func (g *Gateway) Reset(ctx context.Context) error { return g.guard.p.Load().Reset(ctx) }

// KillSwitchStatus reads the kill switch (limits.Controlled: the admin
// API serves it through limits.ControlHandler).
func (g *Gateway) KillSwitchStatus(ctx context.Context) (limits.KillSwitchStatus, error) {
	return g.guard.p.Load().KillSwitchStatus(ctx)
}

var _ limits.Controlled = (*Gateway)(nil)

// KillSwitch reports whether the kill switch is tripped, and why.
func (g *Gateway) KillSwitch(ctx context.Context) (bool, string) {
	return g.guard.p.Load().Tripped(ctx)
}

// ReloadPolicy validates p and puts it in force for the next request. A
// policy that fails validation returns an error (wrapping
// limits.ErrInvalidPolicy) and the policy in force stays.
func (g *Gateway) ReloadPolicy(p *limits.Policy) error {
	guard, err := limits.NewGuard(p, g.cfg.Store, append(g.opts, limits.WithLogger(g.logger))...)
	if err != nil {
		return err
	}
	g.guard.p.Store(guard)
	g.policy.Store(p)
	g.logger.Info("gateway: policy reloaded")
	return nil
}

// Drain refuses new requests from now on (in-flight ones finish): they are
// answered with the venue's "service unavailable".
func (g *Gateway) Drain() { g.closing.Store(true) }

// guardSwap is the guard in force behind an atomic pointer, so that a
// policy reload takes effect for the next request while the venue clients
// keep their Guard.
type guardSwap struct{ p atomic.Pointer[limits.Guard] }

func (s *guardSwap) Check(ctx context.Context, in *exchange.Intent) (exchange.Reservation, error) {
	return s.p.Load().Check(ctx, in)
}

func (s *guardSwap) PolicyHash(credential string) audit.Digest {
	return s.p.Load().PolicyHash(credential)
}

func (s *guardSwap) OrderClosed(ctx context.Context, credential, orderID string, filledQuote decimal.Decimal) error {
	return s.p.Load().OrderClosed(ctx, credential, orderID, filledQuote)
}

func (s *guardSwap) TrackedOrders(ctx context.Context, credential string) ([]exchange.TrackedOrder, error) {
	return s.p.Load().TrackedOrders(ctx, credential)
}

func (s *guardSwap) UpdateOrder(ctx context.Context, credential string, u exchange.OrderUpdate) error {
	return s.p.Load().UpdateOrder(ctx, credential, u)
}

// Symbols names the symbols the policy in force allows a credential, for
// reconciliation.
func (s *guardSwap) Symbols(credential string) []string { return s.p.Load().Symbols(credential) }

// Trip trips the kill switch (reconciliation does when it finds a foreign
// order).
func (s *guardSwap) Trip(ctx context.Context, reason string) error {
	return s.p.Load().Trip(ctx, reason)
}

// guardSwap is everything limits.Guard is to the venue clients: a guard,
// a settlement ledger, a kill switch for reconciliation.
var (
	_ exchange.Guard        = (*guardSwap)(nil)
	_ exchange.OrderTracker = (*guardSwap)(nil)
	_ exchange.OrderLedger  = (*guardSwap)(nil)
	_ exchange.KillSwitch   = (*guardSwap)(nil)
)

// Decision is one request's outcome at the gateway, for the admin API's
// status.
type Decision struct {
	Time     time.Time `json:"time"`
	Client   string    `json:"client"`
	Route    string    `json:"route"`
	Decision string    `json:"decision"` // "allow", "deny", "venue-refused", "unknown"
	Rule     string    `json:"rule,omitempty"`
	Status   int       `json:"status"`
}

// decisionsKept is how many decisions per credential Status reports.
const decisionsKept = 20

type decisionLog struct {
	allowed, denied int64
	last            []Decision // ring, oldest first once full
	next            int
}

func (g *Gateway) record(credential string, d Decision) {
	g.decMu.Lock()
	defer g.decMu.Unlock()
	l := g.decisions[credential]
	if l == nil {
		l = &decisionLog{}
		g.decisions[credential] = l
	}
	if d.Decision == "deny" {
		l.denied++
	} else {
		l.allowed++
	}
	if len(l.last) < decisionsKept {
		l.last = append(l.last, d)
		return
	}
	l.last[l.next] = d
	l.next = (l.next + 1) % decisionsKept
}

// CredentialStatus is the admin API's status of one venue credential.
type CredentialStatus struct {
	Credential string   `json:"credential"`
	Venue      string   `json:"venue"`
	Connected  bool     `json:"connected"`
	Clients    []string `json:"clients"`
	// OpenOrders are the orders the guard holds open for the credential;
	// Pending, those of them whose outcome is not known yet (settled by
	// the next reconciliation).
	OpenOrders int        `json:"open_orders"`
	Pending    int        `json:"pending"`
	Allowed    int64      `json:"allowed"`
	Denied     int64      `json:"denied"`
	Last       []Decision `json:"last_decisions"`
	// Usage is what the credential has used of its caps (limits.Guard.Usage):
	// each rolling notional counter and the open-order gauge. UsageError
	// says why it could not be read (the store failed, or the policy in
	// force does not name the credential).
	Usage      *limits.Usage `json:"usage,omitempty"`
	UsageError string        `json:"usage_error,omitempty"`
}

// Status is the admin API's status: the kill switch and each venue
// credential a client maps to.
type Status struct {
	KillSwitch  bool               `json:"kill_switch"`
	Reason      string             `json:"reason,omitempty"`
	InFlight    int64              `json:"in_flight"` // requests being served
	Credentials []CredentialStatus `json:"credentials"`
}

// Status reports the kill switch and, per venue credential, its clients,
// whether it is connected, the orders the guard holds open, the caps it
// has used and its last decisions.
func (g *Gateway) Status(ctx context.Context) Status {
	var st Status
	st.KillSwitch, st.Reason = g.KillSwitch(ctx)
	st.InFlight = g.inFlight.Load()
	byCred := map[string]*CredentialStatus{}
	for _, ci := range g.cfg.Clients.List() {
		cs := byCred[ci.Credential]
		if cs == nil {
			cs = &CredentialStatus{Credential: ci.Credential, Venue: ci.Venue}
			byCred[ci.Credential] = cs
		}
		cs.Clients = append(cs.Clients, ci.Name)
	}
	for _, f := range g.fronts {
		f.mu.Lock()
		for cred, c := range f.conns {
			if cs := byCred[cred]; cs != nil && c.c != nil {
				cs.Connected = true
			}
		}
		f.mu.Unlock()
	}
	g.decMu.Lock()
	for cred, cs := range byCred {
		if l := g.decisions[cred]; l != nil {
			cs.Allowed, cs.Denied = l.allowed, l.denied
			cs.Last = append(append([]Decision(nil), l.last[l.next:]...), l.last[:l.next]...)
		}
	}
	g.decMu.Unlock()
	guard := g.Guard()
	for _, cs := range byCred {
		if tracked, err := guard.TrackedOrders(ctx, cs.Credential); err == nil {
			cs.OpenOrders = len(tracked)
			for _, o := range tracked {
				if o.Pending {
					cs.Pending++
				}
			}
		}
		if u, err := guard.Usage(ctx, cs.Credential); err == nil {
			cs.Usage = &u
		} else {
			cs.UsageError = oneLine(err.Error())
		}
		st.Credentials = append(st.Credentials, *cs)
	}
	slices.SortFunc(st.Credentials, func(a, b CredentialStatus) int {
		if a.Credential < b.Credential {
			return -1
		}
		if a.Credential > b.Credential {
			return 1
		}
		return 0
	})
	return st
}
