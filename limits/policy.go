package limits

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// PolicyVersion is the policy format version this package reads.
const PolicyVersion = 1

// Defaults applied by Effective to fields left unset.
const (
	DefaultReferenceMaxAge          = 5 * time.Second
	DefaultMaxConsecutiveRejections = 5
	DefaultMaxDenials               = 20
	DefaultDenialWindow             = time.Minute
)

// DailyWindow is the length of the rolling notional window.
const DailyWindow = 24 * time.Hour

// Policy is what the guard enforces: per credential, what it may do and how
// much. Build it in Go or parse it from YAML with ParsePolicy; the guard
// enforces p.Effective().
type Policy struct {
	Version     int
	KillSwitch  KillSwitchPolicy
	Credentials map[string]*CredentialPolicy // by credential name

	lines  map[string]int // field path -> line in the source file, when parsed
	venues []string       // the venues a credential may name; nil: any
}

// KillSwitchPolicy says when the kill switch trips by itself. A nil field
// takes its default; a zero value disables that trigger.
type KillSwitchPolicy struct {
	// MaxConsecutiveRejections trips the switch after that many venue
	// rejections in a row on one credential.
	MaxConsecutiveRejections *int
	// MaxDenials trips the switch after that many denied intents (all
	// credentials) within DenialWindow.
	MaxDenials   *int
	DenialWindow time.Duration
}

// CredentialPolicy is the policy of one credential (one API key).
type CredentialPolicy struct {
	Venue string
	// Allow lists the endpoint classes allowed besides public, which is
	// always allowed. Nil means read, trade and cancel; transfer, withdraw
	// and keys are allowed only when listed.
	Allow []exchange.Class
	// OrderTypes lists the order types the credential may place.
	OrderTypes []exchange.OrderType
	// MaxOpenOrders bounds the orders placed through keyfence that are
	// still open.
	MaxOpenOrders int
	// PriceBand is the fraction (0.02 for 2%) by which a buy may be priced
	// above the ask, or a sell below the bid.
	PriceBand decimal.NullDecimal
	// ReferenceMaxAge is how old a reference quote may be; zero means
	// DefaultReferenceMaxAge.
	ReferenceMaxAge time.Duration
	// AcceptKeyRisks is what the policy accepts of the key's permissions
	// (see exchange.CheckPermissions).
	AcceptKeyRisks exchange.KeyRisks
	// Quotes holds caps per quote asset, shared by every symbol quoted in it.
	Quotes map[string]Caps
	// Symbols is the allowlist: no other symbol is tradable.
	Symbols map[string]SymbolPolicy
}

// Caps are notional caps in a quote asset. An invalid (unset) field sets no
// cap at this level.
type Caps struct {
	MaxOrderNotional decimal.NullDecimal // per order
	MaxDailyNotional decimal.NullDecimal // rolling 24 hours
}

// SymbolPolicy is one allowlisted symbol.
type SymbolPolicy struct {
	// Quote is the symbol's quote asset. Empty means: inferred from the
	// symbol, as the longest asset of Quotes it ends with (after an
	// optional '-', '_' or '/').
	Quote string
	Caps
	// AllowMarketByBase accepts market orders by base quantity on this
	// symbol (MARKET with a quantity, and the stop-market types STOP_LOSS
	// and TAKE_PROFIT): the venue fills them at whatever price the book
	// offers, so on a thin book they may spend more than their notional
	// at the reference. Without it such orders are refused; a market
	// order by quote quantity, or a LIMIT IOC inside the band, is the
	// bounded way to take liquidity.
	AllowMarketByBase bool
}

// AllowsClass reports whether the credential may use endpoints of class c.
func (c *CredentialPolicy) AllowsClass(cl exchange.Class) bool {
	if cl == exchange.ClassPublic {
		return true
	}
	if c.Allow == nil {
		return cl == exchange.ClassRead || cl == exchange.ClassTrade || cl == exchange.ClassCancel
	}
	return slices.Contains(c.Allow, cl)
}

// Effective returns a validated deep copy of p with defaults filled in,
// every symbol's quote asset resolved and lists sorted. The error is a
// *PolicyError naming the field (and line, for a parsed policy).
func (p *Policy) Effective() (*Policy, error) {
	if p == nil {
		return nil, &PolicyError{Msg: "no policy"}
	}
	e := &Policy{Version: p.Version, KillSwitch: p.KillSwitch, lines: p.lines, venues: p.venues, Credentials: make(map[string]*CredentialPolicy, len(p.Credentials))}
	var ps problems
	if e.Version != PolicyVersion {
		ps.add(p.errAt("version", fmt.Sprintf("version %d is not supported; write version: %d", p.Version, PolicyVersion)))
	}
	ks := &e.KillSwitch
	if ks.MaxConsecutiveRejections == nil {
		ks.MaxConsecutiveRejections = ptr(DefaultMaxConsecutiveRejections)
	} else {
		ks.MaxConsecutiveRejections = ptr(*ks.MaxConsecutiveRejections)
	}
	if ks.MaxDenials == nil {
		ks.MaxDenials = ptr(DefaultMaxDenials)
	} else {
		ks.MaxDenials = ptr(*ks.MaxDenials)
	}
	if ks.DenialWindow == 0 {
		ks.DenialWindow = DefaultDenialWindow
	}
	if *ks.MaxConsecutiveRejections < 0 {
		ps.add(p.errAt("kill_switch.max_consecutive_rejections", "must not be negative; use 0 to disable"))
	}
	if *ks.MaxDenials < 0 {
		ps.add(p.errAt("kill_switch.max_denials", "must not be negative; use 0 to disable"))
	}
	if ks.DenialWindow < 0 {
		ps.add(p.errAt("kill_switch.denial_window", "must be a positive duration such as 1m"))
	}
	if len(p.Credentials) == 0 {
		ps.add(p.errAt("credentials", "no credentials; add at least one under credentials"))
	}
	for _, name := range sortedKeys(p.Credentials) {
		if c := p.effectiveCredential(&ps, name, p.Credentials[name]); c != nil {
			e.Credentials[name] = c
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return e, nil
}

// effectiveCredential returns the effective form of credential name, adding
// every problem it finds to ps; it returns nil when c cannot be read at all.
func (p *Policy) effectiveCredential(ps *problems, name string, c *CredentialPolicy) *CredentialPolicy {
	f := "credentials." + name
	if c == nil {
		ps.add(p.errAt(f, "empty credential; set at least venue"))
		return nil
	}
	if name == "" || strings.ContainsAny(name, "\x00\n\r") {
		ps.add(p.errAt(f, "credential name must be a non-empty single line"))
	}
	if c.Venue == "" {
		ps.add(p.errAt(f+".venue", "missing; name the credential's venue, e.g. venue: binance"))
	} else if p.venues != nil && !slices.Contains(p.venues, c.Venue) {
		ps.add(p.errAt(f+".venue", fmt.Sprintf("unknown venue %q; use one of %s", c.Venue, strings.Join(p.venues, ", "))))
	}
	e := &CredentialPolicy{
		Venue:           c.Venue,
		MaxOpenOrders:   c.MaxOpenOrders,
		PriceBand:       c.PriceBand,
		ReferenceMaxAge: c.ReferenceMaxAge,
		AcceptKeyRisks:  c.AcceptKeyRisks,
		Quotes:          make(map[string]Caps, len(c.Quotes)),
		Symbols:         make(map[string]SymbolPolicy, len(c.Symbols)),
	}
	if c.Allow == nil {
		e.Allow = []exchange.Class{exchange.ClassRead, exchange.ClassTrade, exchange.ClassCancel}
	} else {
		e.Allow = make([]exchange.Class, 0, len(c.Allow))
		for _, cl := range c.Allow {
			if _, err := exchange.ParseClass(string(cl)); err != nil {
				ps.add(p.errAt(f+".allow", fmt.Sprintf("unknown class %q; use %s", cl, classNames())))
				continue
			}
			if !slices.Contains(e.Allow, cl) {
				e.Allow = append(e.Allow, cl)
			}
		}
	}
	slices.SortFunc(e.Allow, func(a, b exchange.Class) int { return classIndex(a) - classIndex(b) })
	for _, t := range c.OrderTypes {
		if !knownOrderType(t) {
			ps.add(p.errAt(f+".order_types", fmt.Sprintf("unknown order type %q; use %s", t, orderTypeNames())))
			continue
		}
		if !slices.Contains(e.OrderTypes, t) {
			e.OrderTypes = append(e.OrderTypes, t)
		}
	}
	slices.Sort(e.OrderTypes)
	if e.MaxOpenOrders < 0 {
		ps.add(p.errAt(f+".max_open_orders", "must not be negative"))
	}
	if e.ReferenceMaxAge < 0 {
		ps.add(p.errAt(f+".reference_max_age", "must be a positive duration such as 5s"))
	}
	if e.ReferenceMaxAge == 0 {
		e.ReferenceMaxAge = DefaultReferenceMaxAge
	}
	if e.PriceBand.Valid && (e.PriceBand.Decimal.IsNegative() || e.PriceBand.Decimal.GreaterThanOrEqual(decimal.NewFromInt(1))) {
		ps.add(p.errAt(f+".price_band", "must be at least 0 and below 100%, e.g. \"2%\" or \"0.02\""))
	}
	for _, q := range sortedKeys(c.Quotes) {
		p.checkCaps(ps, f+".quotes."+q, c.Quotes[q])
		if q == "" || strings.ContainsAny(q, "\x00\n\r") {
			ps.add(p.errAt(f+".quotes", "quote asset names must be non-empty single lines"))
			continue
		}
		e.Quotes[q] = c.Quotes[q]
	}
	quotes := sortedKeys(c.Quotes)
	for _, s := range sortedKeys(c.Symbols) {
		sf := f + ".symbols." + s
		sp := c.Symbols[s]
		if s == "" || strings.ContainsAny(s, "\x00\n\r") {
			ps.add(p.errAt(f+".symbols", "symbol names must be non-empty single lines"))
			continue
		}
		p.checkCaps(ps, sf, sp.Caps)
		if sp.Quote == "" {
			sp.Quote = inferQuote(s, quotes)
		}
		qc := e.Quotes[sp.Quote]
		if !sp.MaxOrderNotional.Valid && !qc.MaxOrderNotional.Valid {
			ps.add(p.errAt(sf, fmt.Sprintf("no per-order notional cap; set max_order_notional on the symbol or on its quote asset%s", quoteHint(sp.Quote))))
		}
		if !sp.MaxDailyNotional.Valid && !qc.MaxDailyNotional.Valid {
			ps.add(p.errAt(sf, fmt.Sprintf("no daily notional cap; set max_daily_notional on the symbol or on its quote asset%s", quoteHint(sp.Quote))))
		}
		if sp.AllowMarketByBase && !slices.ContainsFunc(e.OrderTypes, unpriced) {
			ps.add(p.errAt(sf+".allow_market_by_base", "order_types lists no MARKET, STOP_LOSS or TAKE_PROFIT, so it allows nothing; remove it"))
		}
		e.Symbols[s] = sp
	}
	if e.AllowsClass(exchange.ClassTrade) && len(e.Symbols) > 0 {
		if len(e.OrderTypes) == 0 {
			ps.add(p.errAt(f+".order_types", "missing; list the order types the credential may place, e.g. [LIMIT]"))
		}
		if !e.PriceBand.Valid {
			ps.add(p.errAt(f+".price_band", "missing; set how far from the reference price an order may be, e.g. \"2%\""))
		}
		if e.MaxOpenOrders == 0 {
			ps.add(p.errAt(f+".max_open_orders", "missing or 0; set how many orders may be open at once"))
		}
	}
	return e
}

func quoteHint(q string) string {
	if q == "" {
		return " (the quote asset could not be inferred: set quote: on the symbol)"
	}
	return " (" + q + ")"
}

func (p *Policy) checkCaps(ps *problems, field string, c Caps) {
	if c.MaxOrderNotional.Valid && c.MaxOrderNotional.Decimal.IsNegative() {
		ps.add(p.errAt(field+".max_order_notional", "negative cap; use 0 or more"))
	}
	if c.MaxDailyNotional.Valid && c.MaxDailyNotional.Decimal.IsNegative() {
		ps.add(p.errAt(field+".max_daily_notional", "negative cap; use 0 or more"))
	}
}

// errAt returns a *PolicyError for field, with the line where the field (or
// its nearest parent) was written.
func (p *Policy) errAt(field, msg string) *PolicyError {
	e := &PolicyError{Field: field, Msg: msg}
	for f := field; f != ""; {
		if l, ok := p.lines[f]; ok {
			e.Line = l
			break
		}
		i := strings.LastIndexByte(f, '.')
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return e
}

// inferQuote returns the longest of quotes that symbol ends with, after an
// optional separator, or "".
func inferQuote(symbol string, quotes []string) string {
	best := ""
	for _, q := range quotes {
		if len(q) < len(symbol) && strings.HasSuffix(symbol, q) && len(q) > len(best) {
			best = q
		}
	}
	return best
}

// Hash returns the lowercase hex SHA-256 of the canonical text of the
// effective policy (what WriteText prints), or "" when p is invalid.
func (p *Policy) Hash() string {
	e, err := p.Effective()
	if err != nil {
		return ""
	}
	return e.digest().String()
}

// digest returns the SHA-256 of the canonical text of p, which must be
// effective (see Effective).
func (p *Policy) digest() audit.Digest {
	var b strings.Builder
	p.writeText(&b)
	return sha256.Sum256([]byte(b.String()))
}

func ptr[T any](v T) *T { return &v }

func sortedKeys[K ~string, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// allClasses is exchange.Classes(), read once.
var allClasses = exchange.Classes()

func classIndex(c exchange.Class) int {
	return slices.Index(allClasses, c)
}

func classNames() string {
	n := make([]string, len(allClasses))
	for i, c := range allClasses {
		n[i] = string(c)
	}
	return strings.Join(n, ", ")
}

var orderTypes = []exchange.OrderType{
	exchange.Limit, exchange.LimitMaker, exchange.Market, exchange.StopLoss,
	exchange.StopLimit, exchange.TakeProfit, exchange.TakeLimit,
}

func knownOrderType(t exchange.OrderType) bool { return slices.Contains(orderTypes, t) }

func orderTypeNames() string {
	n := make([]string, len(orderTypes))
	for i, t := range orderTypes {
		n[i] = string(t)
	}
	return strings.Join(n, ", ")
}

// unpriced reports whether orders of a known type t carry no limit price:
// they fill at whatever the book offers (MARKET now, STOP_LOSS and
// TAKE_PROFIT once triggered).
func unpriced(t exchange.OrderType) bool {
	return t == exchange.Market || t == exchange.StopLoss || t == exchange.TakeProfit
}

// stopType reports whether orders of type t trigger on a stop price or a
// trailing delta.
func stopType(t exchange.OrderType) bool {
	switch t {
	case exchange.StopLoss, exchange.StopLimit, exchange.TakeProfit, exchange.TakeLimit:
		return true
	}
	return false
}

// priced reports whether orders of type t carry a limit price.
func priced(t exchange.OrderType) bool {
	switch t {
	case exchange.Limit, exchange.LimitMaker, exchange.StopLimit, exchange.TakeLimit:
		return true
	}
	return false
}
