package limits

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// Guard enforces a Policy on intents. It implements exchange.Guard and
// exchange.OrderTracker. All of its state lives in its Store; a Guard is
// safe for concurrent use.
type Guard struct {
	policy *Policy
	hash   audit.Digest
	store  Store
	fast   *MemoryStore // the store, when it has the fast path
	prices map[string]exchange.PriceSource
	now    func() time.Time
	log    *slog.Logger
	creds  map[string]*credGuard
	// credList holds the credentials when they are few, which a scan
	// finds faster than the map.
	credList []*credGuard

	maxRejections int
	maxDenials    int
	denialWindow  time.Duration
	legs          [maxLegs + 1]decimal.Decimal // 0..maxLegs as decimals
}

var (
	_ exchange.Guard        = (*Guard)(nil)
	_ exchange.OrderTracker = (*Guard)(nil)
)

// GuardOption configures a Guard.
type GuardOption func(*Guard)

// WithPrices sets the reference price source of a venue. Without one, every
// trade intent on that venue is refused (ErrNoReference).
func WithPrices(venue string, src exchange.PriceSource) GuardOption {
	return func(g *Guard) { g.prices[venue] = src }
}

// WithClock sets the clock (time.Now by default). The guard reads it for
// intents without a time (exchange.Intent.At) and for the kill switch.
func WithClock(now func() time.Time) GuardOption {
	return func(g *Guard) { g.now = now }
}

// WithLogger sets the logger for kill-switch events and store failures
// (nothing is logged by default). Decisions are logged by the
// exchange.Authorizer.
func WithLogger(l *slog.Logger) GuardOption {
	return func(g *Guard) { g.log = l }
}

// credGuard is the precomputed policy of one credential.
type credGuard struct {
	g         *Guard
	name      string
	venue     string
	pol       *CredentialPolicy
	classes   uint16 // bit per class index
	trade     bool   // ClassTrade is allowed
	types     []exchange.OrderType
	typesText string
	maxOpen   decimal.Decimal
	maxOpenU  units
	openC     *counter // fast path: the open-order gauge
	band      decimal.Decimal
	bandUp    num // 1 + band
	bandDown  num // 1 - band
	bandText  string
	maxAge    time.Duration
	symbols   map[string]*symGuard
	// symList holds the symbols when they are few, which a scan finds
	// faster than the map.
	symList   []*symGuard
	openKey   string
	rejectKey string
	prices    exchange.PriceSource
	pricesAt  exchange.PriceSourceAt // prices, when it takes the decision's time
}

// symGuard is the precomputed policy of one allowlisted symbol.
type symGuard struct {
	cg            *credGuard
	symbol, quote string
	field         string // "credentials.NAME.symbols.SYMBOL"
	quoteField    string // "credentials.NAME.quotes.QUOTE"
	orderCap      decimal.NullDecimal
	quoteOrderCap decimal.NullDecimal
	orderCapU     units // the smaller per-order cap, rounded down
	hasOrderCap   bool
	dailyCap      decimal.NullDecimal
	quoteDaily    decimal.NullDecimal
	marketByBase  bool // market orders by base quantity are accepted
	symKey        string
	quoteKey      string
	// Fast path: the caps in units and the counters.
	dailyCapU   units
	quoteDailyU units
	symC        *counter
	quoteC      *counter
}

const denialKey = "denials"

// NewGuard returns a Guard enforcing p.Effective() with state in store.
func NewGuard(p *Policy, store Store, opts ...GuardOption) (*Guard, error) {
	if store == nil {
		return nil, errors.New("limits: NewGuard needs a Store")
	}
	e, err := p.Effective()
	if err != nil {
		return nil, err
	}
	g := &Guard{
		policy:        e,
		hash:          e.digest(),
		store:         store,
		prices:        map[string]exchange.PriceSource{},
		now:           time.Now,
		log:           slog.New(slog.DiscardHandler),
		creds:         make(map[string]*credGuard, len(e.Credentials)),
		maxRejections: *e.KillSwitch.MaxConsecutiveRejections,
		maxDenials:    *e.KillSwitch.MaxDenials,
		denialWindow:  e.KillSwitch.DenialWindow,
	}
	for _, o := range opts {
		o(g)
	}
	// The fast path is taken for the stores of this package only, never
	// for a type that embeds one: a wrapper that overrides Store methods
	// must see every call.
	if m, ok := store.(*MemoryStore); ok {
		g.fast = m
	}
	for i := range g.legs {
		g.legs[i] = decimal.NewFromInt(int64(i))
	}
	for name, c := range e.Credentials {
		cg := &credGuard{
			g:         g,
			name:      name,
			venue:     c.Venue,
			pol:       c,
			types:     c.OrderTypes,
			typesText: orderTypesText(c.OrderTypes),
			maxOpen:   decimal.NewFromInt(int64(c.MaxOpenOrders)),
			band:      c.PriceBand.Decimal,
			bandUp:    numOf(decimal.NewFromInt(1).Add(c.PriceBand.Decimal)),
			bandDown:  numOf(decimal.NewFromInt(1).Sub(c.PriceBand.Decimal)),
			bandText:  percent(c.PriceBand.Decimal),
			maxAge:    c.ReferenceMaxAge,
			symbols:   make(map[string]*symGuard, len(c.Symbols)),
			openKey:   name + "\x00open",
			rejectKey: "rejections\x00" + name,
			prices:    g.prices[c.Venue],
		}
		cg.pricesAt, _ = cg.prices.(exchange.PriceSourceAt)
		for _, cl := range exchange.Classes {
			if c.AllowsClass(cl) {
				cg.classes |= 1 << classIndex(cl)
			}
		}
		cg.trade = c.AllowsClass(exchange.ClassTrade)
		for s, sp := range c.Symbols {
			qc := c.Quotes[sp.Quote]
			sg := &symGuard{
				cg:            cg,
				symbol:        s,
				quote:         sp.Quote,
				field:         "credentials." + name + ".symbols." + s,
				quoteField:    "credentials." + name + ".quotes." + sp.Quote,
				orderCap:      sp.MaxOrderNotional,
				quoteOrderCap: qc.MaxOrderNotional,
				dailyCap:      sp.MaxDailyNotional,
				quoteDaily:    qc.MaxDailyNotional,
				marketByBase:  sp.AllowMarketByBase,
				symKey:        name + "\x00symbol\x00" + s,
				quoteKey:      name + "\x00quote\x00" + sp.Quote,
			}
			for _, c := range []decimal.NullDecimal{sg.orderCap, sg.quoteOrderCap} {
				if c.Valid {
					u := unitsOf(c.Decimal, false)
					if !sg.hasOrderCap || u.cmp(sg.orderCapU) < 0 {
						sg.orderCapU = u
					}
					sg.hasOrderCap = true
				}
			}
			if g.fast != nil {
				if sg.dailyCap.Valid {
					sg.dailyCapU = unitsOf(sg.dailyCap.Decimal, false)
					sg.symC = g.fast.fastCounter(sg.symKey, DailyWindow)
				}
				if sg.quoteDaily.Valid {
					sg.quoteDailyU = unitsOf(sg.quoteDaily.Decimal, false)
					sg.quoteC = g.fast.fastCounter(sg.quoteKey, DailyWindow)
				}
			}
			cg.symbols[s] = sg
		}
		if len(cg.symbols) <= maxSymScan {
			for _, s := range sortedKeys(cg.symbols) {
				cg.symList = append(cg.symList, cg.symbols[s])
			}
		}
		if g.fast != nil {
			cg.maxOpenU = unitsOf(cg.maxOpen, false)
			cg.openC = g.fast.fastCounter(cg.openKey, 0)
		}
		g.creds[name] = cg
	}
	if len(g.creds) <= maxCredScan {
		for _, name := range sortedKeys(g.creds) {
			g.credList = append(g.credList, g.creds[name])
		}
	}
	return g, nil
}

// maxCredScan is the most credentials cred finds by a scan.
const maxCredScan = 4

// maxSymScan is the most symbols symbol finds by a scan.
const maxSymScan = 8

// symbol returns the policy of an allowlisted symbol, or nil.
func (cg *credGuard) symbol(name string) *symGuard {
	if cg.symList == nil {
		return cg.symbols[name]
	}
	for _, sg := range cg.symList {
		if sg.symbol == name {
			return sg
		}
	}
	return nil
}

// cred returns the policy of a credential, or nil.
func (g *Guard) cred(name string) *credGuard {
	if g.credList == nil {
		return g.creds[name]
	}
	for _, cg := range g.credList {
		if cg.name == name {
			return cg
		}
	}
	return nil
}

func orderTypesText(ts []exchange.OrderType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// PolicyHash implements exchange.Guard: the SHA-256 of the whole effective
// policy (Policy.Hash in binary), the same for every credential.
func (g *Guard) PolicyHash(credential string) audit.Digest { return g.hash }

// Policy returns the effective policy the guard enforces. Do not modify it.
func (g *Guard) Policy() *Policy { return g.policy }

// AcceptKeyRisks returns what the policy accepts of a credential's key
// permissions, for exchange.CheckPermissions.
func (g *Guard) AcceptKeyRisks(credential string) (exchange.KeyRisks, bool) {
	cg, ok := g.creds[credential]
	if !ok {
		return exchange.KeyRisks{}, false
	}
	return cg.pol.AcceptKeyRisks, true
}

// at returns the time the guard judges in at: in.At, or the guard's clock
// when in.At is zero.
func (g *Guard) at(in *exchange.Intent) time.Time {
	if !in.At.IsZero() {
		return in.At
	}
	return g.now()
}

// Check implements exchange.Guard. See the package doc for the rules and
// their order. Every error is a *Violation wrapping ErrDenied.
func (g *Guard) Check(ctx context.Context, in *exchange.Intent) (exchange.Reservation, error) {
	res, v := g.check(ctx, in)
	if v == nil {
		return res, nil
	}
	if v.Rule != RuleKillSwitch && v.Rule != RuleStore {
		g.countDenial(ctx)
	}
	return nil, v
}

func (g *Guard) check(ctx context.Context, in *exchange.Intent) (exchange.Reservation, *Violation) {
	if in == nil {
		return nil, &Violation{Rule: RuleIntent, Detail: "no intent"}
	}
	class := in.Route.Class
	trade := class == exchange.ClassTrade
	// The kill switch halts everything that can move value: trades,
	// transfers, withdrawals and key changes. Reads, cancels and public
	// requests pass.
	if halts(class, trade) {
		// A fast store's KillSwitch cannot fail, so it is read only when
		// the switch looks tripped.
		if g.fast == nil || g.fast.fastTripped() {
			ks, err := g.store.KillSwitch(ctx)
			if err != nil {
				return nil, g.undecidable(ctx, in.Credential, "reading the kill switch", err)
			}
			if ks.Tripped {
				return nil, &Violation{Rule: RuleKillSwitch, Credential: in.Credential, Cause: ErrKillSwitch,
					Detail: "trading halted since " + ks.At.UTC().Format(time.RFC3339) + ": " + ks.Reason,
					Fix:    "find the cause, then reset the kill switch"}
			}
		}
	}
	cg := g.cred(in.Credential)
	if cg == nil {
		return nil, &Violation{Rule: RuleCredential, Credential: in.Credential, Detail: "credential not in the policy",
			Fix: "add it under credentials in the policy"}
	}
	if cg.venue != in.Venue {
		return nil, &Violation{Rule: RuleCredential, Credential: in.Credential, Observed: "venue " + in.Venue, Limit: "venue " + cg.venue,
			Detail: "the policy binds this credential to another venue", Fix: "use the credential on its venue or fix credentials." + cg.name + ".venue"}
	}
	if !cg.allows(class, trade) {
		return nil, &Violation{Rule: RuleClass, Credential: cg.name, Observed: "class " + string(class), Limit: "allow " + classesText(cg.pol.Allow),
			Detail: "endpoint class not allowed", Fix: "add it to credentials." + cg.name + ".allow if it is meant"}
	}
	if !trade {
		return &reservation{g: g, cg: cg}, nil
	}
	return g.checkTrade(ctx, cg, in)
}

// halts reports whether the kill switch refuses endpoints of class cl
// (trade tells whether cl is ClassTrade): every class but public, read
// and cancel, and any class the guard does not know.
func halts(cl exchange.Class, trade bool) bool {
	if trade {
		return true
	}
	switch cl {
	case exchange.ClassPublic, exchange.ClassRead, exchange.ClassCancel:
		return false
	}
	return true
}

// allows reports whether the credential may use endpoints of class cl;
// trade tells whether cl is ClassTrade.
func (cg *credGuard) allows(cl exchange.Class, trade bool) bool {
	if trade {
		return cg.trade
	}
	i := classIndex(cl)
	return i >= 0 && cg.classes&(1<<i) != 0
}

func classesText(cs []exchange.Class) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// maxLegs bounds the orders of one intent (order lists have up to 3 legs).
const maxLegs = 8

func (g *Guard) checkTrade(ctx context.Context, cg *credGuard, in *exchange.Intent) (exchange.Reservation, *Violation) {
	n := len(in.Orders)
	if n == 0 {
		return nil, &Violation{Rule: RuleIntent, Credential: cg.name, Detail: "trade request creates no order the guard can see",
			Fix: "the venue package must parse the orders of " + in.Route.Name}
	}
	if n > maxLegs {
		return nil, &Violation{Rule: RuleIntent, Credential: cg.name, Detail: fmt.Sprintf("%d orders in one request", n), Fix: "send at most 8 orders per request"}
	}
	if g.fast != nil && n == 1 {
		sg, v := cg.order(&in.Orders[0])
		if v != nil {
			return nil, v
		}
		return g.checkTradeFast(ctx, cg, sg, in, g.at(in))
	}
	var syms [maxLegs]*symGuard
	for i := range in.Orders {
		sg, v := cg.order(&in.Orders[i])
		if v != nil {
			return nil, v
		}
		syms[i] = sg
	}
	now := g.at(in)
	sr := &slowReservation{res: reservation{g: g, cg: cg}}
	res := &sr.res
	lims := sr.lims[:]
	if 2*n+1 > len(lims) {
		lims = make([]Limit, 2*n+1)
	}
	nl := 0
	add := func(key string, amount, capv decimal.Decimal) {
		for j := 0; j < nl; j++ {
			if lims[j].Key == key {
				lims[j].Amount = lims[j].Amount.Add(amount)
				return
			}
		}
		lims[nl] = Limit{Key: key, Amount: amount, Cap: capv, Window: DailyWindow}
		nl++
	}
	for i := range in.Orders {
		o := &in.Orders[i]
		sg := syms[i]
		notional, v := g.notional(ctx, cg, sg, o, now)
		if v != nil {
			return nil, v
		}
		if sg.dailyCap.Valid {
			add(sg.symKey, notional, sg.dailyCap.Decimal)
		}
		if sg.quoteDaily.Valid {
			add(sg.quoteKey, notional, sg.quoteDaily.Decimal)
		}
	}
	lims[nl] = Limit{Key: cg.openKey, Amount: g.legs[n], Cap: cg.maxOpen}
	nl++
	req := &sr.req
	*req = ReserveRequest{Owner: cg.name, Now: now, Limits: lims[:nl:nl], DryRun: in.Test, Orders: orderRefs(in)}
	t, err := g.store.Reserve(ctx, req)
	if err != nil {
		var ex *ExceededError
		if !errors.As(err, &ex) || ex.Index < 0 || ex.Index >= nl {
			return nil, g.undecidable(ctx, cg.name, "reserving notional", err)
		}
		return nil, g.exceeded(cg, in, &req.Limits[ex.Index], ex)
	}
	res.ticket = t
	return res, nil
}

// order checks an order's symbol and type, and that a market order by
// base quantity is accepted, and returns the symbol's policy.
func (cg *credGuard) order(o *exchange.Order) (*symGuard, *Violation) {
	sg := cg.symbol(o.Symbol)
	if sg == nil {
		return nil, &Violation{Rule: RuleSymbol, Credential: cg.name, Symbol: o.Symbol, Detail: "symbol not in the allowlist",
			Fix: "add it under credentials." + cg.name + ".symbols if it is meant"}
	}
	if o.Type == "" || o.Side != exchange.Buy && o.Side != exchange.Sell {
		// An amendment names neither (Binance amend/keepPriority, KuCoin
		// alter): which band edge holds, and what the order is worth, are
		// unknown.
		return nil, &Violation{Rule: RuleIntent, Credential: cg.name, Symbol: o.Symbol, Observed: "side " + string(o.Side) + ", type " + string(o.Type),
			Detail: "the request changes an order without naming its side and type, so the guard cannot value it",
			Fix:    "cancel the order and place a new one instead of amending it"}
	}
	if !slices.Contains(cg.types, o.Type) {
		return nil, &Violation{Rule: RuleOrderType, Credential: cg.name, Symbol: o.Symbol, Observed: string(o.Type), Limit: cg.typesText,
			Detail: "order type not allowed", Fix: "use an allowed type or add it to credentials." + cg.name + ".order_types"}
	}
	if !sg.marketByBase && !priced(o.Type) && !o.Quantity.IsZero() {
		return nil, sg.marketByBaseViolation(o)
	}
	return sg, nil
}

// marketByBaseViolation refuses an unpriced order by base quantity: the
// venue fills it at whatever the book offers, which no band bounds.
func (sg *symGuard) marketByBaseViolation(o *exchange.Order) *Violation {
	return &Violation{Rule: RuleMarketByBase, Credential: sg.cg.name, Symbol: o.Symbol,
		Observed: string(o.Type) + " by base quantity " + o.Quantity.String(), Limit: "by quote quantity only",
		Detail: "a market order by base quantity has no price bound at the venue",
		Fix:    "send a LIMIT IOC order inside the band or a market order by quote quantity, or set " + sg.field + ".allow_market_by_base to accept the risk"}
}

// notional checks one order's reference price, price band and per-order
// caps, and returns the notional it reserves.
func (g *Guard) notional(ctx context.Context, cg *credGuard, sg *symGuard, o *exchange.Order, now time.Time) (decimal.Decimal, *Violation) {
	n, v := g.orderRef(ctx, cg, o, now)
	if v != nil {
		return decimal.Decimal{}, v
	}
	return g.notionalAt(cg, sg, o, n.ref.d)
}

// orderNums are the decimals of an order and its reference price that
// orderRef resolved.
type orderNums struct {
	ref   num
	price num // the limit price, when the order is priced
	qty   num
}

// orderRef checks one order's fields, reference price and price band, and
// returns the reference price and the order's decimals.
func (g *Guard) orderRef(ctx context.Context, cg *credGuard, o *exchange.Order, now time.Time) (n orderNums, v *Violation) {
	n.qty = numOf(o.Quantity)
	qty, quoteQty := &o.Quantity, &o.QuoteQuantity
	if !n.qty.ok && (qty.IsNegative() || !qty.IsPositive() && !quoteQty.IsPositive()) || quoteQty.IsNegative() {
		return orderNums{}, &Violation{Rule: RuleIntent, Credential: cg.name, Symbol: o.Symbol, Detail: "order without a positive quantity or quote quantity",
			Fix: "set a positive quantity"}
	}
	if o.Side != exchange.Buy && o.Side != exchange.Sell {
		return orderNums{}, &Violation{Rule: RuleIntent, Credential: cg.name, Symbol: o.Symbol, Detail: "order side " + string(o.Side) + " is neither BUY nor SELL", Fix: "set the side"}
	}
	isPriced := priced(o.Type)
	if isPriced {
		if n.price = numOf(o.Price); !n.price.ok && !o.Price.IsPositive() {
			return orderNums{}, &Violation{Rule: RuleIntent, Credential: cg.name, Symbol: o.Symbol, Detail: string(o.Type) + " order without a positive price", Fix: "set the limit price"}
		}
	}
	n.ref, v = g.reference(ctx, cg, o, now)
	if v != nil {
		return orderNums{}, v
	}
	if isPriced {
		if o.Side == exchange.Buy {
			if n.price.units(true).cmp(mulNums(n.ref, cg.bandUp, false)) > 0 {
				return orderNums{}, g.bandViolation(cg, o, n.ref.d, "above the ask")
			}
		} else if n.price.units(false).cmp(mulNums(n.ref, cg.bandDown, true)) < 0 {
			return orderNums{}, g.bandViolation(cg, o, n.ref.d, "below the bid")
		}
	}
	if stopType(o.Type) || !o.StopPrice.IsZero() || !o.TrailingDelta.IsZero() {
		if v := g.triggerBand(cg, o, n.ref.d); v != nil {
			return orderNums{}, v
		}
	}
	return n, nil
}

// bps is 10^4, the basis points of a whole.
var bps = decimal.New(1, 4)

// trigger returns the furthest price at which o can trigger, against
// the side's interest, for an order with a valid trigger (triggerBand
// accepted it) and the reference ref: the stop price of a plain stop; for
// a trailing stop, the price at which it starts trailing (the stop price,
// or the market, which ref stands for, when there is none) moved by the
// trailing delta: a buy triggers at most that far above the lowest price
// since it started, a sell at least that far below the highest.
func trigger(o *exchange.Order, ref decimal.Decimal) decimal.Decimal {
	if o.TrailingDelta.IsZero() {
		return o.StopPrice
	}
	start := o.StopPrice
	if start.IsZero() {
		start = ref
	}
	delta := o.TrailingDelta.Div(bps) // exact: a division by 10^4
	if o.Side == exchange.Buy {
		return start.Add(start.Mul(delta))
	}
	return start.Sub(start.Mul(delta))
}

// triggerBand checks the trigger of a stop or take-profit order: the
// order must have one (a stop price, a trailing delta, or both) and only
// then; and the furthest price at which it can trigger must be inside the
// band, as a limit price must.
func (g *Guard) triggerBand(cg *credGuard, o *exchange.Order, ref decimal.Decimal) *Violation {
	isStop := stopType(o.Type)
	stop, trail := o.StopPrice, o.TrailingDelta
	switch {
	case !isStop:
		return &Violation{Rule: RuleIntent, Credential: cg.name, Symbol: o.Symbol, Detail: string(o.Type) + " order with a stop price or trailing delta",
			Fix: "the venue package must parse the order's type; send a stop or take-profit type"}
	case stop.IsNegative() || trail.IsNegative() || stop.IsZero() && trail.IsZero():
		return &Violation{Rule: RuleIntent, Credential: cg.name, Symbol: o.Symbol, Detail: string(o.Type) + " order without a positive stop price or trailing delta",
			Fix: "set the stop price"}
	case trail.GreaterThanOrEqual(bps):
		return &Violation{Rule: RuleIntent, Credential: cg.name, Symbol: o.Symbol, Detail: "trailing delta of 100% or more",
			Fix: "set a trailing delta below 10000 basis points"}
	}
	t := trigger(o, ref)
	if o.Side == exchange.Buy {
		if edge := ref.Mul(cg.bandUp.d); t.GreaterThan(edge) {
			return g.triggerViolation(cg, o, t, ref, "above the ask")
		}
	} else if edge := ref.Mul(cg.bandDown.d); t.LessThan(edge) {
		return g.triggerViolation(cg, o, t, ref, "below the bid")
	}
	return nil
}

func (g *Guard) triggerViolation(cg *credGuard, o *exchange.Order, t, ref decimal.Decimal, where string) *Violation {
	off := t.Sub(ref).Abs().Div(ref).Shift(2).Round(4)
	what := "stop price " + t.String()
	if !o.TrailingDelta.IsZero() {
		what = "trailing stop (delta " + o.TrailingDelta.String() + " bps) triggering at " + t.String()
	}
	return &Violation{Rule: RulePriceBand, Credential: cg.name, Symbol: o.Symbol,
		Observed: what + " is " + off.String() + "% " + where + " " + ref.String(), Limit: cg.bandText,
		Detail: "trigger price outside the band around the reference", Fix: "set the stop nearer the market or widen credentials." + cg.name + ".price_band"}
}

// notionalAt returns the notional of an order orderRef accepted with ref,
// and checks the per-order caps.
func (g *Guard) notionalAt(cg *credGuard, sg *symGuard, o *exchange.Order, ref decimal.Decimal) (decimal.Decimal, *Violation) {
	qty, quoteQty := o.Quantity, o.QuoteQuantity
	var price decimal.Decimal
	switch {
	case priced(o.Type):
		// A limit order, triggered or not, fills at its price or better:
		// a buy at its price or less; a sell at its price or more, up to
		// the bid it meets when it is sent, or when it triggers.
		price = o.Price
		if o.Side == exchange.Sell {
			price = decimal.Max(price, ref)
			if stopType(o.Type) {
				price = decimal.Max(price, trigger(o, ref))
			}
		}
	case o.Type == exchange.Market:
		// A market order may fill anywhere the book lets it: value it at
		// the reference widened by the band.
		price = mulDec(ref, cg.bandUp.d)
	default:
		// A stop-market order fills at market once triggered: value it
		// at the furthest of its trigger and the reference, widened by
		// the band.
		price = mulDec(decimal.Max(ref, trigger(o, ref)), cg.bandUp.d)
	}
	var notional decimal.Decimal
	if qty.IsPositive() {
		notional = mulDec(price, qty)
	}
	if quoteQty.IsPositive() && quoteQty.GreaterThan(notional) {
		notional = quoteQty
	}
	if sg.hasOrderCap && unitsOf(notional, true).cmp(sg.orderCapU) > 0 {
		if sg.orderCap.Valid && notional.Cmp(sg.orderCap.Decimal) > 0 {
			return decimal.Decimal{}, orderCapViolation(cg, sg, notional, sg.orderCap.Decimal, sg.field+".max_order_notional")
		}
		if sg.quoteOrderCap.Valid && notional.Cmp(sg.quoteOrderCap.Decimal) > 0 {
			return decimal.Decimal{}, orderCapViolation(cg, sg, notional, sg.quoteOrderCap.Decimal, sg.quoteField+".max_order_notional")
		}
		// Finer than 10^-18 above a cap.
		return decimal.Decimal{}, orderCapViolation(cg, sg, notional, sg.orderCapU.decimal(), sg.field+".max_order_notional")
	}
	return notional, nil
}

func orderCapViolation(cg *credGuard, sg *symGuard, notional, capv decimal.Decimal, field string) *Violation {
	return &Violation{Rule: RuleOrderNotional, Credential: cg.name, Symbol: sg.symbol,
		Observed: "notional " + notional.String() + " " + sg.quote, Limit: capv.String() + " " + sg.quote,
		Detail: "order notional over the per-order cap", Fix: "lower the quantity or raise " + field}
}

// reference returns the reference price for o: the ask for a buy, the bid
// for a sell, from a quote no older than the credential's max age.
func (g *Guard) reference(ctx context.Context, cg *credGuard, o *exchange.Order, now time.Time) (num, *Violation) {
	if cg.prices == nil {
		return noRef(cg, o, "no price source for venue "+cg.venue, "pass limits.WithPrices(\""+cg.venue+"\", client) to NewGuard")
	}
	var q exchange.Quote
	var err error
	if cg.pricesAt != nil {
		q, err = cg.pricesAt.ReferenceAt(ctx, o.Symbol, now)
	} else {
		q, err = cg.prices.Reference(ctx, o.Symbol)
	}
	if err != nil {
		return noRef(cg, o, "reference price unavailable: "+err.Error(), "retry when the venue's ticker is reachable")
	}
	if q.Symbol != "" && q.Symbol != o.Symbol {
		return noRef(cg, o, "price source answered for "+q.Symbol, "fix the price source")
	}
	age := now.Sub(q.At)
	if q.At.IsZero() || age > cg.maxAge || age < -cg.maxAge { // not -age: now.Sub saturates at the minimum Duration
		v := &Violation{Rule: RuleReference, Credential: cg.name, Symbol: o.Symbol, Cause: ErrNoReference,
			Observed: "age " + age.String(), Limit: cg.maxAge.String(), Detail: "reference price is stale",
			Fix: "refresh the ticker or raise credentials." + cg.name + ".reference_max_age"}
		if q.At.IsZero() {
			v.Observed = "no time"
		}
		return num{}, v
	}
	bid, ask := numOf(q.Bid), numOf(q.Ask)
	if (bid.ok || q.Bid.IsPositive()) && (ask.ok || q.Ask.IsPositive()) && unitsGreater(bid, ask) {
		return noRef(cg, o, "crossed quote (bid "+q.Bid.String()+" > ask "+q.Ask.String()+")", "retry with a fresh quote")
	}
	ref := ask
	if o.Side == exchange.Sell {
		ref = bid
	}
	if !ref.ok && !ref.d.IsPositive() {
		return noRef(cg, o, "quote has no "+map[exchange.Side]string{exchange.Buy: "ask", exchange.Sell: "bid"}[o.Side], "retry when the book has both sides")
	}
	return ref, nil
}

// noRef is the refusal of an order without a usable reference price.
func noRef(cg *credGuard, o *exchange.Order, detail, fix string) (num, *Violation) {
	return num{}, &Violation{Rule: RuleReference, Credential: cg.name, Symbol: o.Symbol, Cause: ErrNoReference, Detail: detail, Fix: fix}
}

func (g *Guard) bandViolation(cg *credGuard, o *exchange.Order, ref decimal.Decimal, where string) *Violation {
	off := o.Price.Sub(ref).Abs().Div(ref).Shift(2).Round(4)
	return &Violation{Rule: RulePriceBand, Credential: cg.name, Symbol: o.Symbol,
		Observed: "price " + o.Price.String() + " is " + off.String() + "% " + where + " " + ref.String(), Limit: cg.bandText,
		Detail: "price outside the band around the reference", Fix: "price the order nearer the market or widen credentials." + cg.name + ".price_band"}
}

func (g *Guard) exceeded(cg *credGuard, in *exchange.Intent, l *Limit, ex *ExceededError) *Violation {
	if l.Key == cg.openKey {
		return &Violation{Rule: RuleOpenOrders, Credential: cg.name,
			Observed: ex.Used.String() + " open + " + l.Amount.String() + " new", Limit: l.Cap.String(),
			Detail: "too many open orders", Fix: "cancel orders or raise credentials." + cg.name + ".max_open_orders"}
	}
	for i := range in.Orders {
		sg := cg.symbol(in.Orders[i].Symbol)
		if sg == nil {
			continue
		}
		field, sym := "", sg.symbol
		switch l.Key {
		case sg.symKey:
			field = sg.field + ".max_daily_notional"
		case sg.quoteKey:
			field, sym = sg.quoteField+".max_daily_notional", ""
		default:
			continue
		}
		return &Violation{Rule: RuleDailyNotional, Credential: cg.name, Symbol: sym,
			Observed: ex.Used.String() + " used + " + l.Amount.String() + " " + sg.quote, Limit: l.Cap.String() + " " + sg.quote + " per 24h",
			Detail: "rolling 24h notional cap reached", Fix: "wait for the window to roll, lower the order, or raise " + field}
	}
	return &Violation{Rule: RuleDailyNotional, Credential: cg.name, Detail: "rolling 24h notional cap reached"}
}

func (g *Guard) undecidable(ctx context.Context, credential, doing string, err error) *Violation {
	g.log.LogAttrs(ctx, slog.LevelError, "limits: store failed; refusing", slog.String("credential", credential), slog.String("op", doing), slog.String("error", err.Error()))
	return &Violation{Rule: RuleStore, Credential: credential, Cause: &storeError{err},
		Detail: "state store failed while " + doing, Fix: "check the limit store"}
}

// countDenial counts a denied intent toward the kill switch.
func (g *Guard) countDenial(ctx context.Context) {
	if g.maxDenials <= 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	n, err := g.store.Strike(ctx, denialKey, g.now(), g.denialWindow)
	if err != nil {
		g.log.LogAttrs(ctx, slog.LevelError, "limits: cannot count a denial", slog.String("error", err.Error()))
		return
	}
	if n >= g.maxDenials {
		g.trip(ctx, fmt.Sprintf("%d denied intents within %s", n, g.denialWindow))
	}
}

// countRejection counts a venue rejection toward the kill switch.
func (g *Guard) countRejection(ctx context.Context, cg *credGuard) error {
	if g.maxRejections <= 0 {
		return nil
	}
	n, err := g.store.Strike(ctx, cg.rejectKey, g.now(), 0)
	if err != nil {
		return fmt.Errorf("limits: counting a venue rejection: %w", err)
	}
	if n >= g.maxRejections {
		return g.trip(ctx, fmt.Sprintf("%d consecutive venue rejections on credential %q", n, cg.name))
	}
	return nil
}

func (g *Guard) trip(ctx context.Context, reason string) error {
	g.log.LogAttrs(ctx, slog.LevelError, "limits: kill switch tripped", slog.String("reason", reason))
	if err := g.store.Trip(ctx, KillState{Reason: reason, At: g.now()}); err != nil {
		g.log.LogAttrs(ctx, slog.LevelError, "limits: cannot trip the kill switch", slog.String("error", err.Error()))
		return fmt.Errorf("limits: tripping the kill switch: %w", err)
	}
	return nil
}

// Trip trips the kill switch by hand: every trade, transfer, withdraw and
// keys intent is refused until Reset; cancels, reads and public requests
// still pass. The state lives in
// the store, so with a FileStore it survives restarts.
func (g *Guard) Trip(ctx context.Context, reason string) error {
	if reason == "" {
		reason = "tripped by hand"
	}
	return g.trip(ctx, reason)
}

// Reset resets the kill switch and the strike counters behind its
// automatic triggers.
func (g *Guard) Reset(ctx context.Context) error {
	if err := g.store.Reset(ctx); err != nil {
		return fmt.Errorf("limits: resetting the kill switch: %w", err)
	}
	if err := g.store.ClearStrikes(ctx, denialKey); err != nil {
		return fmt.Errorf("limits: resetting the kill switch: %w", err)
	}
	for _, cg := range g.creds {
		if err := g.store.ClearStrikes(ctx, cg.rejectKey); err != nil {
			return fmt.Errorf("limits: resetting the kill switch: %w", err)
		}
	}
	g.log.LogAttrs(ctx, slog.LevelWarn, "limits: kill switch reset")
	return nil
}

// Tripped reports whether the kill switch is tripped and why. When the
// store cannot be read it reports tripped (fail closed).
func (g *Guard) Tripped(ctx context.Context) (bool, string) {
	ks, err := g.store.KillSwitch(ctx)
	if err != nil {
		return true, "kill switch state unreadable: " + err.Error()
	}
	return ks.Tripped, ks.Reason
}

// OrderClosed implements exchange.OrderTracker: an order placed through the
// guard closed (filled, cancelled, expired) having filled filledQuote in
// all (what filled at once included). Its
// open-order slot is freed and, once every order of its reservation closed,
// the unfilled part of its notional leaves the rolling window. Reporting
// the same order twice, or an order the guard never saw, is harmless.
func (g *Guard) OrderClosed(ctx context.Context, credential, orderID string, filledQuote decimal.Decimal) error {
	if err := g.store.CloseOrder(ctx, credential, orderID, filledQuote); err != nil {
		return fmt.Errorf("limits: recording closed order: %w", err)
	}
	return nil
}

// storeError is a store failure: it is ErrUndecidable and the store's error.
type storeError struct{ err error }

func (e *storeError) Error() string   { return e.err.Error() }
func (e *storeError) Unwrap() []error { return []error{ErrUndecidable, e.err} }
