package binance

import (
	"fmt"
	"unicode/utf8"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// Intent parses what a request would do from its parameters alone (query
// string and form body together). On every route a parameter given twice
// is malformed: the guard would see one value and the venue perhaps
// another. On order-creating routes only the parameters the route takes are
// accepted, so no parameter the parser does not read can change the order.
// See exchange.Scheme for how in is filled; on error in holds no orders.
func (s *Scheme) Intent(req *exchange.Request, route exchange.Route, in *exchange.Intent) error {
	in.Orders = in.Orders[:0]
	name, spec, ok := s.lookup(req.Method, req.Path)
	if !ok {
		return fmt.Errorf("%w: binance %s", exchange.ErrUnknownEndpoint, name)
	}
	p := &parser{route: name, decimals: &s.decimals}
	if len(req.Header) > 0 {
		if err := req.CheckHeader(formContentType); err != nil {
			return p.errf("%v", err)
		}
	}
	params := req.Params
	if len(req.Body) > 0 {
		body, err := exchange.ParseParams(string(req.Body))
		if err != nil {
			return p.errf("the body is not a form-encoded parameter list")
		}
		params = append(append(make(exchange.Params, 0, len(params)+len(body)), params...), body...)
	}
	p.params = params
	if err := p.checkParams(spec.allowed); err != nil {
		return err
	}
	in.Route, in.Test = route, spec.test
	if spec.kind == kindNone {
		return nil
	}
	symbol, err := s.symbol(p)
	if err != nil {
		return err
	}
	var legs []exchange.Order
	switch spec.kind {
	case kindOrder:
		l := &orderLeg
		if spec.sor {
			l = &sorLeg
		}
		in.Orders = append(in.Orders, exchange.Order{})
		err = p.leg(l, &in.Orders[0])
	case kindAmend:
		in.Orders = append(in.Orders, exchange.Order{})
		err = p.amend(&in.Orders[0])
	case kindOCO:
		legs, err = p.legs(&ocoAbove, &ocoBelow)
	case kindOTO:
		legs, err = p.legs(&workingLeg, &otoPending)
	case kindOTOCO:
		legs, err = p.legs(&workingLeg, &otocoAbove, &otocoBelow)
	case kindOPO:
		legs, err = p.legs(&workingLeg, &opoPending)
	case kindOPOCO:
		legs, err = p.legs(&workingLeg, &opocoAbove, &opocoBelow)
	case kindLegacyOCO:
		legs, err = p.legacyOCO()
	}
	if err != nil {
		in.Orders = in.Orders[:0]
		return err
	}
	in.Orders = append(in.Orders, legs...)
	for i := range in.Orders {
		in.Orders[i].Symbol = symbol
	}
	return nil
}

// formContentType is the body format of Binance's signed routes: the one
// the intent parser reads, and the only Content-Type a caller may set.
const formContentType = "application/x-www-form-urlencoded"

var (
	allTypes = newTypeSet(exchange.Limit, exchange.Market, exchange.LimitMaker, exchange.StopLoss,
		exchange.StopLimit, exchange.TakeProfit, exchange.TakeLimit)
	sorTypes      = newTypeSet(exchange.Limit, exchange.Market)
	workingTypes  = newTypeSet(exchange.Limit, exchange.LimitMaker)
	ocoAboveTypes = newTypeSet(exchange.StopLoss, exchange.StopLimit, exchange.LimitMaker, exchange.TakeProfit, exchange.TakeLimit)
	ocoBelowTypes = newTypeSet(exchange.StopLoss, exchange.StopLimit, exchange.TakeProfit, exchange.TakeLimit)
)

// The legs of each order-creating route. In OPO and OPOCO lists the pending
// orders' quantity is what the working order fills: at most the working
// quantity.
var (
	orderLeg   = newLeg("", "side", "quantity", "quoteOrderQty", allTypes)
	sorLeg     = newLeg("", "side", "quantity", "", sorTypes)
	ocoAbove   = newLeg("above", "side", "quantity", "", ocoAboveTypes)
	ocoBelow   = newLeg("below", "side", "quantity", "", ocoBelowTypes)
	workingLeg = newLeg("working", "workingSide", "workingQuantity", "", workingTypes)
	otoPending = newLeg("pending", "pendingSide", "pendingQuantity", "", allTypes)
	otocoAbove = newLeg("pendingAbove", "pendingSide", "pendingQuantity", "", ocoAboveTypes)
	otocoBelow = newLeg("pendingBelow", "pendingSide", "pendingQuantity", "", ocoBelowTypes)
	opoPending = newLeg("pending", "pendingSide", "workingQuantity", "", allTypes)
	opocoAbove = newLeg("pendingAbove", "pendingSide", "workingQuantity", "", ocoAboveTypes)
	opocoBelow = newLeg("pendingBelow", "pendingSide", "workingQuantity", "", ocoBelowTypes)
)

// typeSet is a set of the order types of typeBit, one bit each.
type typeSet uint8

func newTypeSet(ts ...exchange.OrderType) typeSet {
	var s typeSet
	for _, t := range ts {
		s |= typeBit(t)
	}
	return s
}

// has reports whether t is in the set.
func (s typeSet) has(t exchange.OrderType) bool { return s&typeBit(t) != 0 }

// typeBit is the bit of an order type a leg may take, 0 for any other
// string.
func typeBit(t exchange.OrderType) typeSet {
	switch t {
	case exchange.Limit:
		return 1 << 0
	case exchange.Market:
		return 1 << 1
	case exchange.LimitMaker:
		return 1 << 2
	case exchange.StopLoss:
		return 1 << 3
	case exchange.StopLimit:
		return 1 << 4
	case exchange.TakeProfit:
		return 1 << 5
	case exchange.TakeLimit:
		return 1 << 6
	}
	return 0
}

// parser reads one request's parameters.
type parser struct {
	route    string
	params   exchange.Params
	decimals *decimalCache // the scheme's; nil builds every decimal anew
	// at holds, by parameter number, 1 + the index in params of each
	// parameter of the route's allow-list that is present, 0 for the
	// absent. checkParams fills it; params holds each name at most once
	// and at most maxParamIDs-1 of them, so the index fits. It is indexed
	// by id%maxParamIDs, which is the id itself: the modulo only spares a
	// bounds check.
	at [maxParamIDs]uint8
}

// Parameters read by name outside the legs.
var (
	pSymbol               = paramOf("symbol")
	pSide                 = paramOf("side")
	pQuantity             = paramOf("quantity")
	pPrice                = paramOf("price")
	pOrderID              = paramOf("orderId")
	pOrigClientOrderID    = paramOf("origClientOrderId")
	pNewQty               = paramOf("newQty")
	pLimitClientOrderID   = paramOf("limitClientOrderId")
	pStopClientOrderID    = paramOf("stopClientOrderId")
	pStopPrice            = paramOf("stopPrice")
	pTrailingDelta        = paramOf("trailingDelta")
	pStopLimitTimeInForce = paramOf("stopLimitTimeInForce")
	pStopLimitPrice       = paramOf("stopLimitPrice")
	pLimitIcebergQty      = paramOf("limitIcebergQty")
	pStopIcebergQty       = paramOf("stopIcebergQty")
)

func (p *parser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: binance %s: %s", exchange.ErrMalformedRequest, p.route, fmt.Sprintf(format, args...))
}

// checkParams refuses duplicated parameters and, when allowed is not nil,
// parameters outside it; the first parameter at fault, in order, gives the
// error. With an allow-list it also notes where each parameter is, for get.
func (p *parser) checkParams(allowed *paramSet) error {
	if allowed == nil {
		for i, kv := range p.params {
			for _, prev := range p.params[:i] {
				if prev.Key == kv.Key {
					return p.errf("parameter %q is given more than once", kv.Key)
				}
			}
		}
		return nil
	}
	for i, kv := range p.params {
		id, ok := allowed.id(kv.Key)
		switch {
		case !ok:
			return p.errf("parameter %q is not accepted on this route", kv.Key)
		case p.at[id%maxParamIDs] != 0:
			return p.errf("parameter %q is given more than once", kv.Key)
		}
		p.at[id%maxParamIDs] = uint8(i + 1)
	}
	return nil
}

// get returns the value of a parameter of the route's allow-list and
// whether it is present. checkParams must have accepted the parameters.
func (p *parser) get(k param) (string, bool) {
	if j := p.at[k.id%maxParamIDs]; j != 0 {
		return p.params[j-1].Value, true
	}
	return "", false
}

// has reports whether a parameter of the route's allow-list is present.
func (p *parser) has(k param) bool { return p.at[k.id%maxParamIDs] != 0 }

func (s *Scheme) symbol(p *parser) (string, error) {
	sym, ok := p.get(pSymbol)
	if !ok || sym == "" {
		return "", p.errf("symbol is missing")
	}
	// Printable ASCII of at most 64 bytes passes the checks below.
	printable := len(sym) <= 64
	for i := 0; i < len(sym) && printable; i++ {
		printable = 0x21 <= sym[i] && sym[i] < 0x7f
	}
	if !printable {
		if !utf8.ValidString(sym) || len(sym) > 64 {
			return "", p.errf("symbol is not valid")
		}
		for _, r := range sym {
			if r < 0x21 || r == 0x7f {
				return "", p.errf("symbol %q contains a space or control character", sym)
			}
		}
	}
	if m := s.symbols.Load(); m != nil {
		if _, ok := (*m)[sym]; !ok {
			return "", p.errf("symbol %q is not listed in exchangeInfo", sym)
		}
	}
	return sym, nil
}

// decimalParam parses an optional decimal parameter in the venue's format
// (digits with an optional fraction, no sign, no exponent). present is
// false when the parameter is absent.
func (p *parser) decimalParam(key param) (d decimal.Decimal, present bool, err error) {
	v, ok := p.get(key)
	if !ok {
		return decimal.Decimal{}, false, nil
	}
	d, err = parseDecimal(v, p.decimals)
	if err != nil {
		return decimal.Decimal{}, true, p.errf("%s %q: %v", key.name, v, err)
	}
	return d, true, nil
}

// positive parses a decimal parameter that must be present and above zero.
func (p *parser) positive(key param) (decimal.Decimal, error) {
	d, ok, err := p.decimalParam(key)
	switch {
	case err != nil:
		return d, err
	case !ok:
		return d, p.errf("%s is missing", key.name)
	case d.Sign() <= 0:
		return d, p.errf("%s must be above zero", key.name)
	}
	return d, nil
}

// parseDecimal parses a non-negative decimal in the venue's format:
// 1 to 20 digits, optionally a dot and 1 to 20 digits. Values of at most
// 18 digits come from cache (which may be nil).
func parseDecimal(s string, cache *decimalCache) (decimal.Decimal, error) {
	// One pass for the usual value: at most 18 digits, at most one dot,
	// with a digit on either side. Anything else, valid or not, is left to
	// parseDecimalChecked.
	if len(s) <= 19 {
		var v int64
		dot := -1
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case '0' <= c && c <= '9':
				v = v*10 + int64(c-'0')
			case c == '.' && dot < 0 && i > 0 && i < len(s)-1:
				dot = i
			default:
				return parseDecimalChecked(s, cache)
			}
		}
		switch {
		case len(s) == 0 || dot < 0 && len(s) > 18:
			return parseDecimalChecked(s, cache)
		case dot < 0:
			return cache.get(v, 0), nil
		}
		return cache.get(v, -int32(len(s)-dot-1)), nil
	}
	return parseDecimalChecked(s, cache)
}

// parseDecimalChecked is parseDecimal step by step, with the reason of a
// refusal.
func parseDecimalChecked(s string, cache *decimalCache) (decimal.Decimal, error) {
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			if frac == "" {
				return decimal.Decimal{}, fmt.Errorf("not a decimal (nothing after the dot)")
			}
			break
		}
	}
	if intPart == "" || len(intPart) > 20 || len(frac) > 20 {
		return decimal.Decimal{}, fmt.Errorf("not a decimal of at most 20 digits before and after the dot")
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return decimal.Decimal{}, fmt.Errorf("not an unsigned decimal")
			}
		}
	}
	if len(intPart)+len(frac) <= 18 {
		// What decimal.NewFromString builds, without its intermediate
		// string: the digits as the coefficient, the fraction's length
		// as the negative exponent.
		var v int64
		for _, part := range []string{intPart, frac} {
			for i := 0; i < len(part); i++ {
				v = v*10 + int64(part[i]-'0')
			}
		}
		return cache.get(v, -int32(len(frac))), nil
	}
	return decimal.NewFromString(s)
}

// legSpec names the parameters of one order (a plain order, or a leg of an
// order list).
type legSpec struct {
	side, qty param // parameters holding the side and the base quantity
	quote     param // parameter holding a quote quantity, or none (name "")
	// Parameters of the other fields, from the prefix: "type" for a plain
	// order, "aboveType" for the above leg.
	typ, price, tif, stop, trail, iceberg, clientID param
	types                                           typeSet
}

// newLeg names a leg's parameters once, so that parsing builds no strings.
// An empty prefix is a plain order, whose client id is newClientOrderId.
func newLeg(prefix, side, qty, quote string, types typeSet) legSpec {
	key := func(field string) param {
		if prefix == "" {
			return paramOf(string(field[0]+'a'-'A') + field[1:])
		}
		return paramOf(prefix + field)
	}
	l := legSpec{side: paramOf(side), qty: paramOf(qty), quote: paramOf(quote), types: types,
		typ: key("Type"), price: key("Price"), tif: key("TimeInForce"), stop: key("StopPrice"),
		trail: key("TrailingDelta"), iceberg: key("IcebergQty"), clientID: key("ClientOrderId")}
	if prefix == "" {
		l.clientID = paramOf("newClientOrderId")
	}
	return l
}

func (p *parser) legs(specs ...*legSpec) ([]exchange.Order, error) {
	out := make([]exchange.Order, len(specs))
	for i, l := range specs {
		if err := p.leg(l, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// leg parses one order into o, which must be the zero Order, and checks
// that its parameters fit its type. On error o holds part of the order.
func (p *parser) leg(l *legSpec, o *exchange.Order) error {
	side, ok := p.get(l.side)
	switch {
	case !ok:
		return p.errf("%s is missing", l.side.name)
	case side == string(exchange.Buy) || side == string(exchange.Sell):
		o.Side = exchange.Side(side)
	default:
		return p.errf("%s %q is not BUY or SELL", l.side.name, side)
	}
	typeKey := l.typ.name
	typ, ok := p.get(l.typ)
	if !ok {
		return p.errf("%s is missing", typeKey)
	}
	o.Type = exchange.OrderType(typ)
	if !l.types.has(o.Type) {
		return p.errf("%s %q is not one of the order types this route takes", typeKey, typ)
	}

	// Quantity: base, or quote for market orders that allow it.
	qty, hasQty, err := p.decimalParam(l.qty)
	if err != nil {
		return err
	}
	// The optional decimals below are parsed only when present: most
	// orders have none of them.
	var quote decimal.Decimal
	hasQuote := p.has(l.quote) // false when the leg takes no quote quantity
	if hasQuote {
		if quote, _, err = p.decimalParam(l.quote); err != nil {
			return err
		}
	}
	switch {
	case hasQty && hasQuote:
		return p.errf("give either %s or %s, not both", l.qty.name, l.quote.name)
	case hasQuote && o.Type != exchange.Market:
		return p.errf("%s is only accepted on MARKET orders", l.quote.name)
	case hasQuote:
		if quote.Sign() <= 0 {
			return p.errf("%s must be above zero", l.quote.name)
		}
		o.QuoteQuantity = quote
	case !hasQty:
		return p.errf("%s is missing", l.qty.name)
	case qty.Sign() <= 0:
		return p.errf("%s must be above zero", l.qty.name)
	default:
		o.Quantity = qty
	}

	limitPriced := o.Type == exchange.Limit || o.Type == exchange.LimitMaker ||
		o.Type == exchange.StopLimit || o.Type == exchange.TakeLimit
	if limitPriced {
		if o.Price, err = p.positive(l.price); err != nil {
			return err
		}
	} else if p.has(l.price) {
		return p.errf("%s is not accepted on %s orders", l.price.name, o.Type)
	}

	tifKey := l.tif.name
	tif, hasTIF := p.get(l.tif)
	needsTIF := o.Type == exchange.Limit || o.Type == exchange.StopLimit || o.Type == exchange.TakeLimit
	switch {
	case needsTIF && !hasTIF:
		return p.errf("%s is missing", tifKey)
	case !needsTIF && hasTIF:
		return p.errf("%s is not accepted on %s orders", tifKey, o.Type)
	case hasTIF:
		switch exchange.TimeInForce(tif) {
		case exchange.GTC, exchange.IOC, exchange.FOK:
			o.TimeInForce = exchange.TimeInForce(tif)
		default:
			return p.errf("%s %q is not GTC, IOC or FOK", tifKey, tif)
		}
	}

	// Stop orders trigger on stopPrice or trailingDelta.
	stopKey, trailKey := l.stop.name, l.trail.name
	var stop, trail decimal.Decimal
	hasStop, hasTrail := p.has(l.stop), p.has(l.trail)
	if hasStop {
		if stop, _, err = p.decimalParam(l.stop); err != nil {
			return err
		}
	}
	if hasTrail {
		if trail, _, err = p.decimalParam(l.trail); err != nil {
			return err
		}
	}
	isStop := o.Type == exchange.StopLoss || o.Type == exchange.StopLimit ||
		o.Type == exchange.TakeProfit || o.Type == exchange.TakeLimit
	switch {
	case isStop && !hasStop && !hasTrail:
		return p.errf("%s or %s is needed on %s orders", stopKey, trailKey, o.Type)
	case !isStop && (hasStop || hasTrail):
		return p.errf("%s and %s are only accepted on stop and take-profit orders", stopKey, trailKey)
	case hasStop && stop.Sign() <= 0:
		return p.errf("%s must be above zero", stopKey)
	case hasTrail && (trail.Sign() <= 0 || !trail.IsInteger()):
		return p.errf("%s must be a whole number of basis points above zero", trailKey)
	}
	o.StopPrice, o.TrailingDelta = stop, trail
	if p.has(l.iceberg) {
		if _, _, err := p.decimalParam(l.iceberg); err != nil {
			return err
		}
	}
	if id, ok := p.get(l.clientID); ok {
		o.ClientID = id
	}
	return nil
}

// amend parses PUT /api/v3/order/amend/keepPriority into o, which must be
// the zero Order: a resting order's quantity is reduced to newQty. The
// intent carries the new quantity and no side, type or price: the guard
// values it at the reference price, which bounds the order's remaining
// exposure.
func (p *parser) amend(o *exchange.Order) error {
	if !p.has(pOrderID) && !p.has(pOrigClientOrderID) {
		return p.errf("orderId or origClientOrderId is missing")
	}
	q, err := p.positive(pNewQty)
	if err != nil {
		return err
	}
	o.Quantity = q
	o.ID, _ = p.get(pOrderID)
	o.ClientID, _ = p.get(pOrigClientOrderID)
	return nil
}

// legacyOCO parses POST /api/v3/order/oco: a LIMIT_MAKER leg at price and a
// stop leg at stopPrice, a STOP_LOSS_LIMIT at stopLimitPrice when given.
func (p *parser) legacyOCO() ([]exchange.Order, error) {
	side, ok := p.get(pSide)
	if !ok {
		return nil, p.errf("side is missing")
	}
	if side != string(exchange.Buy) && side != string(exchange.Sell) {
		return nil, p.errf("side %q is not BUY or SELL", side)
	}
	qty, err := p.positive(pQuantity)
	if err != nil {
		return nil, err
	}
	price, err := p.positive(pPrice)
	if err != nil {
		return nil, err
	}
	limit := exchange.Order{Side: exchange.Side(side), Type: exchange.LimitMaker, Quantity: qty, Price: price}
	limit.ClientID, _ = p.get(pLimitClientOrderID)
	stop := exchange.Order{Side: exchange.Side(side), Type: exchange.StopLoss, Quantity: qty}
	stop.ClientID, _ = p.get(pStopClientOrderID)
	stopPrice, hasStop, err := p.decimalParam(pStopPrice)
	if err != nil {
		return nil, err
	}
	trail, hasTrail, err := p.decimalParam(pTrailingDelta)
	if err != nil {
		return nil, err
	}
	if !hasStop && !hasTrail {
		return nil, p.errf("stopPrice or trailingDelta is missing")
	}
	if hasStop && stopPrice.Sign() <= 0 {
		return nil, p.errf("stopPrice must be above zero")
	}
	if hasTrail && (trail.Sign() <= 0 || !trail.IsInteger()) {
		return nil, p.errf("trailingDelta must be a whole number of basis points above zero")
	}
	stop.StopPrice, stop.TrailingDelta = stopPrice, trail
	tif, hasTIF := p.get(pStopLimitTimeInForce)
	if p.has(pStopLimitPrice) {
		if stop.Price, err = p.positive(pStopLimitPrice); err != nil {
			return nil, err
		}
		stop.Type = exchange.StopLimit
		switch exchange.TimeInForce(tif) {
		case exchange.GTC, exchange.IOC, exchange.FOK:
			stop.TimeInForce = exchange.TimeInForce(tif)
		default:
			if !hasTIF {
				return nil, p.errf("stopLimitTimeInForce is missing")
			}
			return nil, p.errf("stopLimitTimeInForce %q is not GTC, IOC or FOK", tif)
		}
	} else if hasTIF {
		return nil, p.errf("stopLimitTimeInForce is only accepted with stopLimitPrice")
	}
	for _, k := range []param{pLimitIcebergQty, pStopIcebergQty} {
		if _, _, err := p.decimalParam(k); err != nil {
			return nil, err
		}
	}
	return []exchange.Order{limit, stop}, nil
}
