package exchange

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// Scheme is one venue's request codec and signing scheme. Its methods
// write into storage the caller provides (an Intent, a byte slice, a Wire)
// and retain none of their arguments after they return: the Authorizer
// reuses the storage of the request it signs.
type Scheme interface {
	// Venue names the venue ("binance").
	Venue() string
	// Classify returns the route of a request, or an error wrapping
	// ErrUnknownEndpoint for a route the scheme does not know.
	Classify(req *Request) (Route, error)
	// Intent parses what the request would do from the request itself
	// into in: it sets in.Route and in.Test and appends the orders the
	// request creates to in.Orders[:0], whose capacity the caller may
	// provide. It leaves in.Credential and in.Venue alone.
	Intent(req *Request, route Route, in *Intent) error
	// Prepare stamps the request for signing at time now (timestamps,
	// receive windows) and appends to dst the exact bytes the signature
	// will cover, or for schemes that do not sign the body, the exact
	// request bytes. It returns the extended slice.
	Prepare(dst []byte, req *Request, key signer.KeyInfo, now time.Time) (payload []byte, err error)
	// Sign signs a prepared request into w, the request as it goes on the
	// wire. It appends w's header fields to w.Header[:0], whose capacity
	// the caller may provide, and sets every other field of w. It may use
	// the capacity of payload beyond its length as scratch space, as an
	// append to payload would.
	Sign(ctx context.Context, s signer.Signer, key signer.KeyInfo, req *Request, payload []byte, now time.Time, w *Wire) error
}

// Guard decides on intents. Package limits implements it.
type Guard interface {
	// Check returns a Reservation when the intent is allowed, or an error
	// (package limits: wrapping limits.ErrDenied) when it is not or when the
	// guard cannot decide.
	Check(ctx context.Context, in *Intent) (Reservation, error)
	// PolicyHash identifies the policy in force for a credential, for the
	// audit log: the SHA-256 of the policy, or the zero Digest.
	PolicyHash(credential string) audit.Digest
}

// OrderTracker is implemented by guards that count open orders: venue
// clients report orders that closed (cancelled, filled, expired) after the
// request that placed them was committed.
type OrderTracker interface {
	OrderClosed(ctx context.Context, credential, orderID string, filledQuote decimal.Decimal) error
}

// Reservation is budget the guard set aside for an allowed intent.
type Reservation interface {
	// Commit records that the venue accepted the request.
	Commit(ctx context.Context, out Outcome) error
	// Release returns the budget: the request was never sent (cause is
	// nil or the local error), or the venue refused it (cause wraps an
	// *APIError; refusals count toward the kill switch).
	Release(ctx context.Context, cause error) error
}

// Outcome is what the venue made of an accepted request.
//
// A venue client that reads the answer order by order sets Orders: every
// order the answer does not state closed with a known fill (it rests, or
// the answer says nothing of its status and fills) is listed there and
// holds its whole reservation until it is seen closed; FilledQuote is
// then what the other orders, closed already, filled. Otherwise OrderIDs,
// Open and FilledQuote describe the request as a whole.
type Outcome struct {
	// Orders are the orders still open or of unknown outcome.
	Orders []OrderRef
	// OrderIDs are the venue's ids of the orders created.
	OrderIDs []string
	// Open reports whether an order rests on the book.
	Open bool
	// FilledQuote is the quote amount filled at once.
	FilledQuote decimal.Decimal
}

// OrderRef names an order the guard holds open or of unknown outcome, with
// what a look-up at the venue needs.
type OrderRef struct {
	ID       string // the venue's order id; "" while the venue has not said it
	ClientID string // the client order id
	Symbol   string
	// Unknown: the venue has not stated the order's status and fills.
	Unknown bool
}

// TrackedOrder is an order the guard holds open or of unknown outcome
// (OrderLedger).
type TrackedOrder struct {
	OrderRef
	// At is when its budget was reserved.
	At time.Time
	// Pending: reserved, but no answer was ever settled (the process may
	// have stopped while the request was in flight).
	Pending bool
}

// OrderUpdate is what a look-up at the venue found of a tracked order.
type OrderUpdate struct {
	ID       string // the venue id: finds the order, or becomes its id
	ClientID string // finds the order when ID does not
	Symbol   string // when set, only orders of this symbol (ids may repeat across symbols)
	// Closed: closed (filled, cancelled, expired, rejected) or never
	// placed; FilledQuote is its whole quote fill.
	Closed      bool
	FilledQuote decimal.Decimal
}

// OrderLedger is implemented by guards that remember, per credential, the
// orders they hold open or of unknown outcome (package limits' Guard):
// reconciliation lists them, looks each up at the venue and reports what
// it found.
type OrderLedger interface {
	TrackedOrders(ctx context.Context, credential string) ([]TrackedOrder, error)
	UpdateOrder(ctx context.Context, credential string, u OrderUpdate) error
}

// RateLimiter is a client-side rate guard for one venue account.
type RateLimiter interface {
	// Wait reserves cost, waiting for capacity at most until the context's
	// deadline. It fails at once (with a *RateLimitError) during a ban or
	// when the wait would outlast the deadline.
	Wait(ctx context.Context, cost Cost) error
	// Observe corrects the limiter from what the venue reported.
	Observe(u Usage)
}

// BucketKey names a rate-limit bucket in Usage.Used: the venue's limit name
// and its interval, e.g. BucketKey("REQUEST_WEIGHT", time.Minute) is
// "REQUEST_WEIGHT:1m" and BucketKey("ORDERS", 10*time.Second) "ORDERS:10s".
func BucketKey(name string, interval time.Duration) string {
	switch {
	case interval%(24*time.Hour) == 0:
		return fmt.Sprintf("%s:%dd", name, interval/(24*time.Hour))
	case interval%time.Hour == 0:
		return fmt.Sprintf("%s:%dh", name, interval/time.Hour)
	case interval%time.Minute == 0:
		return fmt.Sprintf("%s:%dm", name, interval/time.Minute)
	}
	return fmt.Sprintf("%s:%ds", name, interval/time.Second)
}

// Usage is what a venue answer says of rate limits.
type Usage struct {
	At     time.Time
	Status int // HTTP status
	// Used maps a bucket ("REQUEST_WEIGHT:1m", "ORDERS:10s") to the count
	// the venue reports used in its current window.
	Used map[string]int
	// RetryAfter is the venue's Retry-After, on 429 and 418.
	RetryAfter time.Duration
}

// Auditor records decisions. *audit.Log implements it.
type Auditor interface {
	// Append records r. It may set r's chain fields (Seq, Prev, Hash) and
	// must not retain r after it returns.
	Append(ctx context.Context, r *audit.Record) error
}

// Authorized is a request that passed the guard, was recorded and was
// signed.
//
// Whatever keyfence signs counts against the caps, whatever the caller
// does with the signature. So the Reservation of a request that creates
// orders is settled only by the venue's word: Commit what the venue's
// answer states; Release with the venue's refusal (a cause wrapping an
// *APIError that is not ErrOutcomeUnknown). Any other Release (nil, a
// local error, a lost answer) commits the orders as of unknown outcome:
// they hold their whole budget and their open-order slots until a look-up
// or reconciliation sees them closed at the venue, or never placed once
// the signature has expired. A reservation dropped without Commit or
// Release keeps its budget too, and the store lists its orders as pending
// (limits.Store.Tracked: FileStore, MemoryStore and its fast path alike)
// until reconciliation settles them. Only a venue client's connection,
// which knows when a request never left the process, releases a signed
// request's budget outright.
type Authorized struct {
	Wire        *Wire
	Intent      Intent
	Reservation Reservation // settle it from the venue's answer
}

// heldReservation is the Reservation an Authorizer hands out (see
// Authorized).
type heldReservation struct {
	res Reservation
	in  *Intent
}

func (h *heldReservation) Commit(ctx context.Context, out Outcome) error {
	return h.res.Commit(ctx, out)
}

func (h *heldReservation) Release(ctx context.Context, cause error) error {
	if h.in.creates() && !venueRefused(cause) {
		return h.res.Commit(ctx, h.in.unknownOutcome())
	}
	return h.res.Release(ctx, cause)
}

// venueRefused reports whether err is the venue's refusal of a request,
// which proves the request created nothing.
func venueRefused(err error) bool {
	var api *APIError
	return errors.As(err, &api) && !errors.Is(err, ErrOutcomeUnknown)
}

// releaseUnsent releases a's budget outright: the request never left the
// process (a connection that could not be made). Conn only.
func (a *Authorized) releaseUnsent(ctx context.Context, cause error) error {
	if h, ok := a.Reservation.(*heldReservation); ok {
		return h.res.Release(ctx, cause)
	}
	return a.Reservation.Release(ctx, cause)
}

// ErrStampAhead: Authorizer.StampAt is later than the venue's time. A
// signature stamped ahead would outlive the grace after which
// reconciliation settles its order as never placed, so none is made; stamp
// with a time that has passed.
var ErrStampAhead = errors.New("exchange: the stamp time is in the future; refusing to sign")

// Authorizer checks, records and signs requests. See the package doc for the
// order of the steps. The zero value is not usable; fill in every field but
// Rate, Clock, Offset, StampAt and Logger.
//
// Authorize reads Clock once before the guard decides: the guard judges
// the intent at that time (Intent.At) and the audit record carries it. A
// signed request is stamped at that time plus Offset, read again after
// Rate let the request go, or at StampAt when it is set.
type Authorizer struct {
	Scheme Scheme
	Signer signer.Signer
	Guard  Guard
	Audit  Auditor
	Rate   RateLimiter      // optional
	Clock  func() time.Time // optional: the local clock; time.Now by default
	// Offset is the venue's clock minus Clock (venue clients measure it),
	// added to the time a request is stamped with. Optional: none by
	// default.
	Offset func() time.Duration
	// StampAt, when not zero, is the time every signed request is stamped
	// with, whatever the clock says: Binance's timestamp parameter,
	// KuCoin's KC-API-TIMESTAMP, a Coinbase JWT's nbf (and exp, StampAt
	// plus its lifetime). It is for tools that reproduce a documented
	// signature (keyfence request --timestamp); a venue refuses a stamp
	// outside its window, so a client that trades leaves it zero. The
	// guard and the audit record still run on Clock. A StampAt later than
	// the venue's time is refused (ErrStampAhead): such a signature would
	// become valid after reconciliation has settled its order as never
	// placed.
	StampAt time.Time
	Logger  *slog.Logger // optional
}

// now reads the local clock.
func (a *Authorizer) now() time.Time {
	if a.Clock != nil {
		return a.Clock()
	}
	return time.Now()
}

// venueTime returns the time a request authorized at t is stamped with:
// StampAt when it is set, else t on the venue's clock.
func (a *Authorizer) venueTime(t time.Time) time.Time {
	if !a.StampAt.IsZero() {
		return a.StampAt
	}
	return a.venueTime0(t)
}

// venueTime0 returns t on the venue's clock.
func (a *Authorizer) venueTime0(t time.Time) time.Time {
	if a.Offset != nil {
		return t.Add(a.Offset())
	}
	return t
}

// Authorize runs a request through the guard, the audit log and the signer.
// On any error nothing was signed and no budget stays reserved.
func (a *Authorizer) Authorize(ctx context.Context, req *Request) (*Authorized, error) {
	if a == nil || a.Scheme == nil || a.Signer == nil || a.Guard == nil || a.Audit == nil {
		return nil, errors.New("exchange: Authorizer needs a Scheme, a Signer, a Guard and an Auditor")
	}
	if req == nil {
		return nil, errors.New("exchange: Authorize needs a Request")
	}
	// One allocation holds what Authorize returns; what it needs only
	// while it runs is recycled.
	st := new(authorization)
	sc := scratchPool.Get().(*scratch)
	defer sc.recycle()
	r, rec := &sc.req, &sc.rec
	req.cloneIntoBuf(r, sc.params[:0])
	venue := a.Scheme.Venue()
	*rec = audit.Record{
		Credential:   r.Credential,
		Venue:        venue,
		PolicySHA256: a.Guard.PolicyHash(r.Credential),
	}
	classified := false
	// The intent's summary is kept in the scratch until the record needs
	// it as a string. A denial makes its own.
	var intent []byte // the summary, once the intent is parsed
	deny := func(rule string, err error) (*Authorized, error) {
		if !classified {
			rec.Route = r.Method + " " + r.Path
		}
		if intent != nil && rec.Intent == "" {
			rec.Intent = string(intent)
		}
		rec.Decision, rec.Rule, rec.Reason = audit.Deny, rule, err.Error()
		if rec.Time.IsZero() {
			rec.Time = a.now()
		}
		if aerr := a.Audit.Append(ctx, rec); aerr != nil {
			err = errors.Join(err, fmt.Errorf("%w: %w", ErrAudit, aerr))
		}
		a.log(ctx, rec)
		return nil, err
	}

	key, err := a.Signer.Info(ctx, r.Credential)
	if err != nil {
		return deny("credential", err)
	}
	if key.Venue != venue {
		return deny("credential", fmt.Errorf("%w: key %q is for %q, request is for %q", ErrWrongVenue, key.Name, key.Venue, venue))
	}
	route, err := a.Scheme.Classify(r)
	if err != nil {
		return deny("endpoint", err)
	}
	rec.Route, rec.Class, classified = route.Name, string(route.Class), true
	in := &st.out.Intent
	in.Orders = st.orders[:0]
	if err := a.Scheme.Intent(r, route, in); err != nil {
		return deny("intent", err)
	}
	in.Credential, in.Venue, in.Route = r.Credential, venue, route
	intent = in.appendTo(sc.summary[:0])
	in.At = a.now()
	rec.Time = in.At

	res, err := a.Guard.Check(ctx, in)
	if err != nil {
		return deny(ruleOf(err), err)
	}
	if res == nil {
		// A guard that allows must hand out something to settle.
		return deny("guard", errors.New("exchange: the guard allowed the request without a reservation; refusing"))
	}
	release := func() { _ = res.Release(context.WithoutCancel(ctx), nil) }
	if a.Rate != nil {
		if err := a.Rate.Wait(ctx, route.Cost); err != nil {
			release()
			return deny("rate", err)
		}
	}
	at := in.At
	if a.Rate != nil {
		at = a.now() // after the wait
	}
	now := a.venueTime(at)
	if !a.StampAt.IsZero() && a.StampAt.After(a.venueTime0(at)) {
		release()
		return deny("stamp", fmt.Errorf("%w: %s is after the venue's time %s", ErrStampAhead,
			a.StampAt.UTC().Format(time.RFC3339Nano), a.venueTime0(at).UTC().Format(time.RFC3339Nano)))
	}
	payload, err := a.Scheme.Prepare(sc.payload[:0], r, key, now)
	if err != nil {
		release()
		return deny("intent", err)
	}
	rec.PayloadSHA256 = sha256.Sum256(payload)
	rec.Intent = string(intent)
	rec.Decision = audit.Allow
	if err := a.Audit.Append(ctx, rec); err != nil {
		release()
		return nil, fmt.Errorf("%w: %w", ErrAudit, err)
	}
	a.log(ctx, rec)
	wire := &st.wire
	wire.Header = st.header[:0]
	if err := a.Scheme.Sign(ctx, a.Signer, key, r, payload, now, wire); err != nil {
		release()
		err = fmt.Errorf("exchange: signing %s: %w", route.Name, err)
		// The allow record above says the guard passed it; this one says
		// that nothing was signed after all.
		_, derr := deny("sign", err)
		return nil, derr
	}
	st.held = heldReservation{res: res, in: &st.out.Intent}
	st.out.Wire, st.out.Reservation = wire, &st.held
	return &st.out, nil
}

// authorization is what Authorize returns, with room for a typical
// order's intent and wire request.
type authorization struct {
	out    Authorized
	held   heldReservation // out.Reservation
	wire   Wire
	orders [1]Order       // out.Intent.Orders
	header [1]HeaderField // wire.Header (the API key)
}

// scratch is what Authorize needs only while it runs: the request's copy,
// the record and the signed bytes, sized for a typical order (what does
// not fit goes to the heap). Schemes and Auditors retain none of it, so it
// is recycled.
type scratch struct {
	req     Request
	rec     audit.Record
	params  [authorizeParams]Param // req.Params
	payload [authorizePayload]byte // the signed bytes
	summary [authorizeSummary]byte // the intent's summary
}

const (
	// authorizeParams is the room for a typical order's parameters and
	// the ones schemes stamp on.
	authorizeParams = 10
	// authorizePayload is the room for a typical order's signed bytes.
	authorizePayload = 192
	// authorizeSummary is the room for a typical intent's summary.
	authorizeSummary = 192
)

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// recycle returns sc to the pool. Authorize overwrites what it uses of a
// scratch before reading it, so nothing is cleared: what sc still refers
// to (the last request's strings) is held until the next request or until
// a garbage collection empties the pool, and none of it is secret.
func (sc *scratch) recycle() {
	scratchPool.Put(sc)
}

func (a *Authorizer) log(ctx context.Context, rec *audit.Record) {
	if a.Logger == nil {
		return
	}
	lvl := slog.LevelInfo
	if rec.Decision == audit.Deny {
		lvl = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("decision", rec.Decision), slog.String("credential", rec.Credential),
		slog.String("venue", rec.Venue), slog.String("route", rec.Route),
		slog.String("intent", rec.Intent),
	}
	if rec.Rule != "" {
		attrs = append(attrs, slog.String("rule", rec.Rule), slog.String("reason", rec.Reason))
	}
	a.Logger.LogAttrs(ctx, lvl, "keyfence decision", attrs...)
}

// ruleOf names the rule behind a denial: errors that carry a rule name
// (limits.Violation) say it through a Rule method.
func ruleOf(err error) string {
	var r interface{ RuleName() string }
	if errors.As(err, &r) {
		return r.RuleName()
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return "rate"
	}
	return "guard"
}
