package exchange

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/keyfence/keyfence/audit"
)

// Reconciliation brings the guard's view of a credential's orders back to
// the venue's truth, and notices the orders the venue holds that keyfence
// never signed.
//
// Settle: the guard's OrderLedger lists the orders it holds open or of
// unknown outcome (a resting order, an answer that did not say, a lost
// answer, a reservation whose process stopped mid-request). Each is found
// in the venue's open orders or looked up by venue id, else client order
// id: an order seen closed settles at its real quote fill and frees its
// slot; an order still open stays held, its status now known; an order of
// unknown outcome the venue does not know is settled as never placed once
// it is older than ReconcileConfig.Grace (longer than any signature's
// life: Binance's receive window, Coinbase's JWT, KuCoin's timestamp
// window), and is held until then.
//
// Detect: a venue order (open, or in the recent order history of the
// symbols reconciliation reads) is foreign when no allow record of the
// audit log accounts for it: every order keyfence signs carries a client
// order id, and the allow record's intent summary names it ("cid=..."),
// with the order's side and symbol. A foreign order is reported as a
// *ForeignOrderError (errors.Is ErrForeignOrder) in the ReconcileReport
// and to ReconcileConfig.OnForeign, logged at error level, recorded in the
// audit log (a deny record of rule "foreign_order") and, unless the
// config says AlertOnly, trips the kill switch.

// Adopt: a venue order that rests, that an allow record accounts for,
// and that the guard does not track was signed by keyfence before the
// guard's state began: a MemoryStore's process restarted, or a FileStore
// was rebuilt. When the guard is an OrderAdopter, the order is looked up
// again (it must still rest) and adopted: held at its worst value with
// one open-order slot until it is seen closed, as whatever keyfence
// signed counts.

// DefaultReconcileEvery is how often a venue client reconciles by default.
const DefaultReconcileEvery = time.Minute

// DefaultReconcileGrace is how long an order of unknown outcome that the
// venue does not know is held before it is settled as never placed: longer
// than the life of any signature keyfence makes (Binance's receive window
// is at most 60 s, a Coinbase JWT lives 120 s, KuCoin allows 5 s).
const DefaultReconcileGrace = 3 * time.Minute

// DefaultReconcileHistory is how far back reconciliation reads order
// history for foreign orders.
const DefaultReconcileHistory = 24 * time.Hour

// RuleForeignOrder is the audit rule of a foreign order's record.
const RuleForeignOrder = "foreign_order"

// ReconcileConfig configures a venue client's reconciliation.
type ReconcileConfig struct {
	// Every is the period of the background reconciliation;
	// DefaultReconcileEvery when zero. Negative disables reconciliation,
	// at start and in the background (Reconcile still runs when called).
	Every time.Duration
	// AlertOnly reports foreign orders without tripping the kill switch.
	AlertOnly bool
	// Symbols are the symbols whose recent order history is read for
	// foreign orders. Empty: the symbols the guard's policy allows the
	// credential (a Guard with a Symbols(credential) method), plus those
	// of the tracked orders. Open orders are read on every symbol.
	Symbols []string
	// History is how far back order history is read;
	// DefaultReconcileHistory when zero.
	History time.Duration
	// Grace: see DefaultReconcileGrace (used when zero).
	Grace time.Duration
	// OnForeign, if set, is called with each foreign order, once.
	OnForeign func(*ForeignOrderError)
}

// VenueOrders is what a venue client gives reconciliation: its look-ups
// at the venue. Each request goes through the client's Authorizer, so its
// weight goes through the rate guard.
type VenueOrders interface {
	// AllOpenOrders lists the credential's open orders on every symbol.
	AllOpenOrders(ctx context.Context) ([]Order, error)
	// LookUp finds an order by ref.ID, or by ref.ClientID when ID is
	// empty. An order the venue does not know is an error wrapping
	// ErrNotFound.
	LookUp(ctx context.Context, ref OrderRef) (Order, error)
	// RecentOrders lists the credential's orders of symbol in any state,
	// created at since or later.
	RecentOrders(ctx context.Context, symbol string, since time.Time) ([]Order, error)
}

// OrderAdopter is implemented by guards that can take over an order the
// venue holds and they do not track (package limits' Guard): it is held
// at its worst value and counts as open until it is seen closed.
type OrderAdopter interface {
	AdoptOrder(ctx context.Context, credential string, o Order) error
}

// ForeignOrderError is a foreign order: a venue order of the credential
// that no allow record of the audit log accounts for.
type ForeignOrderError struct {
	Venue      string
	Credential string
	Order      Order
	// Why says what did not match: no allow record names its client id,
	// or the record's side or symbol differ, or another venue order
	// already claimed the record.
	Why string
}

func (e *ForeignOrderError) Error() string {
	return fmt.Sprintf("%s: foreign order %s (client id %q, %s) on credential %q: %s; "+
		"the key is used outside keyfence: revoke it at the venue, then reset the kill switch",
		e.Venue, e.Order.ID, e.Order.ClientID, e.Order.String(), e.Credential, e.Why)
}

// Unwrap returns ErrForeignOrder.
func (e *ForeignOrderError) Unwrap() error { return ErrForeignOrder }

// ReconcileReport is what one reconciliation found.
type ReconcileReport struct {
	Settled []Order // tracked orders seen closed, or never placed (StatusExpired, no ID)
	Open    []Order // tracked orders still open
	// Unresolved are tracked orders left as they were: a look-up failed,
	// or an order of unknown outcome the venue does not know yet is
	// younger than the grace.
	Unresolved []TrackedOrder
	Foreign    []*ForeignOrderError
	// Adopted are resting orders keyfence signed that the guard did not
	// track, now held (OrderAdopter).
	Adopted []Order
}

// KillSwitch trips trading off (package limits' Guard implements it).
type KillSwitch interface {
	Trip(ctx context.Context, reason string) error
}

// SharedLedger is implemented by a guard whose state several processes
// share (package limits' Guard on a shared store such as limits/pgstore):
// ReservedOrder reports whether any of them reserved an order of
// credential with client order id clientID, and its symbol. Each process
// keeps its own audit log, so reconciliation accounts for such an order as
// signed, as it does for the orders its own allow records name.
type SharedLedger interface {
	ReservedOrder(ctx context.Context, credential, clientID string) (symbol string, ok bool, err error)
}

// symbolLister is a guard that names the symbols a credential may trade.
type symbolLister interface {
	Symbols(credential string) []string
}

// Reconciler reconciles one credential on one venue. Conn makes one
// (Conn.Reconciler); it is safe for concurrent use, and one Reconcile
// runs at a time.
type Reconciler struct {
	conn  *Conn
	venue VenueOrders
	cfg   ReconcileConfig
	now   func() time.Time

	run      sync.Mutex // one Reconcile at a time
	mu       sync.Mutex
	claims   map[string]string // client id -> the venue order id that claimed it
	reported map[string]bool   // venue order ids reported foreign

	stop context.CancelFunc
	done chan struct{}
}

// Reconciler returns the reconciler of the connection's credential with
// the venue client's look-ups.
func (c *Conn) Reconciler(venue VenueOrders, cfg ReconcileConfig) *Reconciler {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultReconcileGrace
	}
	if cfg.History <= 0 {
		cfg.History = DefaultReconcileHistory
	}
	return &Reconciler{conn: c, venue: venue, cfg: cfg, now: time.Now,
		claims: map[string]string{}, reported: map[string]bool{}}
}

// Enabled reports whether the config runs reconciliation at start and in
// the background.
func (cfg ReconcileConfig) Enabled() bool { return cfg.Every >= 0 }

// Start reconciles once, then every cfg.Every in a goroutine until ctx is
// done or Stop is called. The first run's report and error are returned;
// a later run's error is logged.
func (r *Reconciler) Start(ctx context.Context) (ReconcileReport, error) {
	rep, err := r.Reconcile(ctx)
	every := r.cfg.Every
	if every == 0 {
		every = DefaultReconcileEvery
	}
	ctx, cancel := context.WithCancel(ctx)
	r.stop, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := r.Reconcile(ctx); err != nil && ctx.Err() == nil {
					r.conn.logger.LogAttrs(ctx, slog.LevelError, r.conn.cfg.Venue+": reconciliation failed",
						slog.String("credential", r.conn.cfg.Credential), slog.String("error", err.Error()))
				}
			}
		}
	}()
	return rep, err
}

// Stop stops the background reconciliation and waits for it to end.
func (r *Reconciler) Stop() {
	if r.stop == nil {
		return
	}
	r.stop()
	<-r.done
}

// Reconcile settles the tracked orders from the venue's truth and looks
// for foreign orders (see the package doc). It returns what it found; the
// error joins the failed look-ups and, when foreign orders were found,
// wraps ErrForeignOrder.
func (r *Reconciler) Reconcile(ctx context.Context) (ReconcileReport, error) {
	r.run.Lock()
	defer r.run.Unlock()
	c := r.conn
	var rep ReconcileReport
	ledger, ok := c.cfg.Guard.(OrderLedger)
	if !ok {
		return rep, fmt.Errorf("%s: reconciliation needs a guard that tracks orders (exchange.OrderLedger); package limits' Guard does", c.cfg.Venue)
	}
	cred := c.cfg.Credential
	settleCtx := context.WithoutCancel(ctx)
	tracked, err := ledger.TrackedOrders(ctx, cred)
	if err != nil {
		return rep, err
	}
	open, err := r.venue.AllOpenOrders(ctx)
	if err != nil {
		return rep, fmt.Errorf("%s: reconcile: open orders: %w", c.cfg.Venue, err)
	}
	byID, byCID := map[string]*Order{}, map[string]*Order{}
	for i := range open {
		o := &open[i]
		if o.ID != "" {
			byID[o.Symbol+"\x00"+o.ID] = o
		}
		if o.ClientID != "" {
			byCID[o.ClientID] = o
		}
	}
	var errs []error
	now := r.now()
	symbols := map[string]bool{}
	for _, t := range tracked {
		symbols[t.Symbol] = true
		o, found := (*Order)(nil), false
		if t.ID != "" {
			o, found = byID[t.Symbol+"\x00"+t.ID]
		}
		if !found && t.ClientID != "" {
			o, found = byCID[t.ClientID]
		}
		var seen Order
		switch {
		case t.Pending && now.Sub(t.At) <= r.cfg.Grace:
			// Reserved and not yet settled: most likely in flight in this
			// process, which settles it from the answer.
			rep.Unresolved = append(rep.Unresolved, t)
			continue
		case found:
			seen = *o
		default:
			var lerr error
			seen, lerr = r.venue.LookUp(ctx, t.OrderRef)
			switch {
			case errors.Is(lerr, ErrNotFound) && t.Unknown && t.ID == "" && now.Sub(t.At) > r.cfg.Grace:
				// Never placed: the signature has expired, so it never will be.
				if err := ledger.UpdateOrder(settleCtx, cred, OrderUpdate{ClientID: t.ClientID, Symbol: t.Symbol, Closed: true}); err != nil {
					errs = append(errs, err)
					continue
				}
				rep.Settled = append(rep.Settled, Order{ClientID: t.ClientID, Symbol: t.Symbol, Status: StatusExpired})
				continue
			case lerr != nil:
				if !errors.Is(lerr, ErrNotFound) {
					errs = append(errs, fmt.Errorf("%s: reconcile: looking up %s: %w", c.cfg.Venue, refString(t.OrderRef), lerr))
				}
				rep.Unresolved = append(rep.Unresolved, t)
				continue
			}
		}
		if seen.Status == "" || seen.Status == StatusUnknown {
			rep.Unresolved = append(rep.Unresolved, t)
			continue
		}
		u := OrderUpdate{ID: seen.ID, ClientID: t.ClientID, Symbol: t.Symbol, Closed: !seen.Status.Open(), FilledQuote: seen.ExecutedQuo}
		if u.ID == "" {
			u.ID = t.ID
		}
		if t.ID != "" && u.ID != t.ID {
			// The venue's id for an order tracked by id is that id.
			u.ID = t.ID
		}
		if err := ledger.UpdateOrder(settleCtx, cred, u); err != nil {
			errs = append(errs, err)
			continue
		}
		if u.Closed {
			rep.Settled = append(rep.Settled, seen)
		} else {
			rep.Open = append(rep.Open, seen)
		}
	}

	// Foreign orders: the open ones, then the recent history.
	idx, err := c.signedIndex(ctx)
	if err != nil {
		errs = append(errs, err)
		return rep, errors.Join(errs...)
	}
	shared, _ := c.cfg.Guard.(SharedLedger)
	check := func(o Order) bool {
		if shared != nil && o.ClientID != "" {
			if _, ok := idx.lookup(o.ClientID); !ok {
				// Another process sharing the guard's state may have
				// signed it: its audit log is not this one.
				symbol, ok, err := shared.ReservedOrder(ctx, cred, o.ClientID)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: reconcile: looking up order %s in the shared ledger: %w", c.cfg.Venue, o.ClientID, err))
					return false // undecided: the next reconciliation looks again
				}
				if ok {
					idx.addOrder(o.ClientID, signedOrder{symbol: symbol})
				}
			}
		}
		if f := r.foreign(idx, o); f != nil {
			rep.Foreign = append(rep.Foreign, f)
			return false
		}
		return true
	}
	var untracked []Order
	for _, o := range open {
		if check(o) && !isTracked(tracked, o) {
			untracked = append(untracked, o)
		}
	}
	if len(untracked) > 0 {
		if adopter, ok := c.cfg.Guard.(OrderAdopter); ok {
			errs = append(errs, r.adopt(ctx, ledger, adopter, untracked, &rep))
		}
	}
	hist := r.cfg.Symbols
	if len(hist) == 0 {
		if sl, ok := c.cfg.Guard.(symbolLister); ok {
			for _, s := range sl.Symbols(cred) {
				symbols[s] = true
			}
		}
		for s := range symbols {
			if s != "" {
				hist = append(hist, s)
			}
		}
		sortStrings(hist)
	}
	since := now.Add(-r.cfg.History)
	for _, s := range hist {
		orders, err := r.venue.RecentOrders(ctx, s, since)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: reconcile: order history of %s: %w", c.cfg.Venue, s, err))
			continue
		}
		for _, o := range orders {
			check(o)
		}
	}
	for _, f := range rep.Foreign {
		if err := r.report(settleCtx, f); err != nil {
			errs = append(errs, err)
		}
		errs = append(errs, f)
	}
	return rep, errors.Join(errs...)
}

// isTracked reports whether o is one of the tracked orders, by venue id
// and symbol or by client order id.
func isTracked(tracked []TrackedOrder, o Order) bool {
	for _, t := range tracked {
		if o.ID != "" && t.ID == o.ID && (t.Symbol == "" || t.Symbol == o.Symbol) || o.ClientID != "" && t.ClientID == o.ClientID {
			return true
		}
	}
	return false
}

// adopt holds the resting orders keyfence signed that the guard does not
// track. The guard's list is read again after the venue's open orders, so
// an order this process placed meanwhile (reserved before it was sent) is
// found in it; each order is then looked up again, so that one this
// process saw closed meanwhile is not held again.
func (r *Reconciler) adopt(ctx context.Context, ledger OrderLedger, adopter OrderAdopter, orders []Order, rep *ReconcileReport) error {
	c := r.conn
	tracked, err := ledger.TrackedOrders(ctx, c.cfg.Credential)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range orders {
		if isTracked(tracked, o) {
			continue
		}
		seen, err := r.venue.LookUp(ctx, OrderRef{ID: o.ID, ClientID: o.ClientID, Symbol: o.Symbol})
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: reconcile: looking up %s to adopt it: %w", c.cfg.Venue, refString(OrderRef{ID: o.ID, ClientID: o.ClientID}), err))
			continue
		case !seen.Status.Open():
			continue // closed: it holds nothing now
		}
		if seen.Symbol == "" {
			seen.Symbol = o.Symbol
		}
		if err := adopter.AdoptOrder(context.WithoutCancel(ctx), c.cfg.Credential, seen); err != nil {
			errs = append(errs, err)
			continue
		}
		c.logger.LogAttrs(ctx, slog.LevelWarn, c.cfg.Venue+": reconcile: holding a resting order keyfence signed that the guard did not track",
			slog.String("credential", c.cfg.Credential), slog.String("order", seen.ID),
			slog.String("client_order_id", seen.ClientID), slog.String("intent", seen.String()))
		rep.Adopted = append(rep.Adopted, seen)
	}
	return errors.Join(errs...)
}

// foreign returns the foreign-order error of o, or nil when an allow
// record accounts for it (or it was reported already).
func (r *Reconciler) foreign(idx *signedIndex, o Order) *ForeignOrderError {
	key := o.Symbol + "\x00" + o.ID
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reported[key] {
		return nil
	}
	why := ""
	s, ok := idx.lookup(o.ClientID)
	switch {
	case o.ClientID == "" || !ok:
		why = "no allow record names its client order id"
	case s.symbol != "" && s.symbol != o.Symbol:
		why = "the allow record of its client order id is for " + s.symbol
	case s.side != "" && o.Side != "" && s.side != o.Side:
		why = "the allow record of its client order id is a " + string(s.side)
	default:
		if prev, claimed := r.claims[o.ClientID]; claimed && o.ID != "" && prev != o.ID {
			why = "its client order id was used by venue order " + prev + " already"
		} else {
			if o.ID != "" {
				r.claims[o.ClientID] = o.ID
			}
			return nil
		}
	}
	r.reported[key] = true
	return &ForeignOrderError{Venue: r.conn.cfg.Venue, Credential: r.conn.cfg.Credential, Order: o, Why: why}
}

// report logs, records and acts on a foreign order.
func (r *Reconciler) report(ctx context.Context, f *ForeignOrderError) error {
	c := r.conn
	c.logger.LogAttrs(ctx, slog.LevelError, c.cfg.Venue+": foreign order: the key is used outside keyfence",
		slog.String("credential", f.Credential), slog.String("order", f.Order.ID),
		slog.String("client_order_id", f.Order.ClientID), slog.String("symbol", f.Order.Symbol),
		slog.String("intent", f.Order.String()), slog.String("why", f.Why))
	var errs []error
	if c.cfg.Audit != nil {
		rec := &audit.Record{Time: r.now(), Credential: f.Credential, Venue: f.Venue, Class: string(ClassTrade),
			Route: "reconcile", Intent: f.Order.String() + " " + ClientIDPrefix + f.Order.ClientID + " id=" + f.Order.ID,
			Decision: audit.Deny, Rule: RuleForeignOrder, Reason: f.Why}
		if err := c.cfg.Audit.Append(ctx, rec); err != nil {
			errs = append(errs, fmt.Errorf("%w: recording a foreign order: %w", ErrAudit, err))
		}
	}
	if !r.cfg.AlertOnly {
		if ks, ok := c.cfg.Guard.(KillSwitch); ok {
			if err := ks.Trip(ctx, fmt.Sprintf("foreign order %s %s on credential %q", f.Order.Symbol, f.Order.ID, f.Credential)); err != nil {
				errs = append(errs, err)
			}
		} else {
			errs = append(errs, fmt.Errorf("%s: foreign order found but the guard has no kill switch to trip", c.cfg.Venue))
		}
	}
	if r.cfg.OnForeign != nil {
		r.cfg.OnForeign(f)
	}
	return errors.Join(errs...)
}

func refString(r OrderRef) string {
	if r.ID != "" {
		return "order " + r.ID
	}
	return "client order id " + r.ClientID
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// signedOrder is what an allow record says of an order it signed.
type signedOrder struct {
	symbol string
	side   Side
}

// signedIndex maps the client order ids of the orders a credential's
// allow records signed to what the records say of them. It is filled from
// the audit log's files when the connection first reconciles, and by the
// connection's Auditor as it appends.
type signedIndex struct {
	mu   sync.RWMutex
	cids map[string]signedOrder
}

func (x *signedIndex) lookup(cid string) (signedOrder, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s, ok := x.cids[cid]
	return s, ok
}

// addOrder records one signed order.
func (x *signedIndex) addOrder(cid string, s signedOrder) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.cids[cid] = s
}

// add records the orders of an allow record's intent summary.
func (x *signedIndex) add(intent string) {
	_, orders, ok := strings.Cut(intent, ": ")
	if !ok {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, o := range strings.Split(orders, "; ") {
		f := strings.Fields(o)
		cid := ""
		for _, t := range f {
			if v, ok := strings.CutPrefix(t, ClientIDPrefix); ok {
				cid = v
			}
		}
		if cid == "" {
			continue
		}
		var s signedOrder
		if len(f) >= 4 {
			s = signedOrder{side: Side(f[0]), symbol: f[3]}
		}
		x.cids[cid] = s
	}
}

// indexingAuditor is the connection's Auditor: it appends to the
// configured one and indexes the orders of the allow records it appended.
type indexingAuditor struct {
	inner Auditor
	conn  *Conn
}

func (a *indexingAuditor) Append(ctx context.Context, r *audit.Record) error {
	var intent string
	index := r.Decision == audit.Allow && r.Class == string(ClassTrade)
	if index {
		intent = r.Intent // r must not be retained
	}
	if err := a.inner.Append(ctx, r); err != nil {
		return err
	}
	if index {
		a.conn.index.add(intent)
	}
	return nil
}

// auditPath is implemented by *audit.Log.
type auditPath interface{ Path() string }

// signedIndex returns the connection's index of signed orders, reading the
// audit log's files the first time.
func (c *Conn) signedIndex(ctx context.Context) (*signedIndex, error) {
	c.indexOnce.Do(func() {
		a := c.cfg.Audit
		if ia, ok := a.(*indexingAuditor); ok {
			a = ia.inner
		}
		p, ok := a.(auditPath)
		if !ok {
			return
		}
		c.indexErr = c.loadIndex(ctx, p.Path())
	})
	if c.indexErr != nil {
		return nil, c.indexErr
	}
	return c.index, nil
}

// loadIndex reads the allow records of the connection's credential from
// the audit log at path and its rotated files.
func (c *Conn) loadIndex(_ context.Context, path string) error {
	files, err := audit.Files(path)
	if err != nil {
		return fmt.Errorf("%s: reconcile: reading the audit log: %w", c.cfg.Venue, err)
	}
	for _, name := range files {
		if err := c.loadIndexFile(name); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) loadIndexFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("%s: reconcile: reading the audit log: %w", c.cfg.Venue, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), audit.MaxLineBytes)
	for sc.Scan() {
		var r struct {
			Credential string `json:"credential"`
			Class      string `json:"class"`
			Intent     string `json:"intent"`
			Decision   string `json:"decision"`
		}
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue // audit verify reports such lines
		}
		if r.Decision == audit.Allow && r.Class == string(ClassTrade) && r.Credential == c.cfg.Credential {
			c.index.add(r.Intent)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: reconcile: reading the audit log %s: %w", c.cfg.Venue, name, err)
	}
	return nil
}
