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
func (s *Scheme) Intent(req *exchange.Request, route exchange.Route) (exchange.Intent, error) {
	name, spec, ok := s.lookup(req.Method, req.Path)
	if !ok {
		return exchange.Intent{}, fmt.Errorf("%w: binance %s", exchange.ErrUnknownEndpoint, name)
	}
	p := &parser{route: name, decimals: &s.decimals}
	params := req.Params
	if len(req.Body) > 0 {
		body, err := exchange.ParseParams(string(req.Body))
		if err != nil {
			return exchange.Intent{}, p.errf("the body is not a form-encoded parameter list")
		}
		params = append(append(make(exchange.Params, 0, len(params)+len(body)), params...), body...)
	}
	p.params = params
	if err := p.checkParams(spec.allowed); err != nil {
		return exchange.Intent{}, err
	}
	in := exchange.Intent{Route: route, Test: spec.test}
	if spec.kind == kindNone {
		return in, nil
	}
	symbol, err := s.symbol(p)
	if err != nil {
		return exchange.Intent{}, err
	}
	var orders []exchange.Order
	switch spec.kind {
	case kindOrder:
		l := &orderLeg
		if spec.sor {
			l = &sorLeg
		}
		o, err := p.leg(l)
		if err != nil {
			return exchange.Intent{}, err
		}
		orders = []exchange.Order{o}
	case kindAmend:
		o, err := p.amend()
		if err != nil {
			return exchange.Intent{}, err
		}
		orders = []exchange.Order{o}
	case kindOCO:
		orders, err = p.legs(&ocoAbove, &ocoBelow)
	case kindOTO:
		orders, err = p.legs(&workingLeg, &otoPending)
	case kindOTOCO:
		orders, err = p.legs(&workingLeg, &otocoAbove, &otocoBelow)
	case kindOPO:
		orders, err = p.legs(&workingLeg, &opoPending)
	case kindOPOCO:
		orders, err = p.legs(&workingLeg, &opocoAbove, &opocoBelow)
	case kindLegacyOCO:
		orders, err = p.legacyOCO()
	}
	if err != nil {
		return exchange.Intent{}, err
	}
	for i := range orders {
		orders[i].Symbol = symbol
	}
	in.Orders = orders
	return in, nil
}

var (
	allTypes = typeSet(exchange.Limit, exchange.Market, exchange.LimitMaker, exchange.StopLoss,
		exchange.StopLimit, exchange.TakeProfit, exchange.TakeLimit)
	sorTypes      = typeSet(exchange.Limit, exchange.Market)
	workingTypes  = typeSet(exchange.Limit, exchange.LimitMaker)
	ocoAboveTypes = typeSet(exchange.StopLoss, exchange.StopLimit, exchange.LimitMaker, exchange.TakeProfit, exchange.TakeLimit)
	ocoBelowTypes = typeSet(exchange.StopLoss, exchange.StopLimit, exchange.TakeProfit, exchange.TakeLimit)
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

func typeSet(ts ...exchange.OrderType) map[exchange.OrderType]bool {
	m := make(map[exchange.OrderType]bool, len(ts))
	for _, t := range ts {
		m[t] = true
	}
	return m
}

// parser reads one request's parameters.
type parser struct {
	route    string
	params   exchange.Params
	decimals *decimalCache // the scheme's; nil builds every decimal anew
}

func (p *parser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: binance %s: %s", exchange.ErrMalformedRequest, p.route, fmt.Sprintf(format, args...))
}

// checkParams refuses duplicated parameters and, when allowed is not nil,
// parameters outside it.
func (p *parser) checkParams(allowed *paramSet) error {
	for i, kv := range p.params {
		if allowed != nil && !allowed.has(kv.Key) {
			return p.errf("parameter %q is not accepted on this route", kv.Key)
		}
		for _, prev := range p.params[:i] {
			if prev.Key == kv.Key {
				return p.errf("parameter %q is given more than once", kv.Key)
			}
		}
	}
	return nil
}

func (p *parser) get(key string) (string, bool) { return p.params.Get(key) }

func (s *Scheme) symbol(p *parser) (string, error) {
	sym, ok := p.get("symbol")
	if !ok || sym == "" {
		return "", p.errf("symbol is missing")
	}
	if !utf8.ValidString(sym) || len(sym) > 64 {
		return "", p.errf("symbol is not valid")
	}
	for _, r := range sym {
		if r < 0x21 || r == 0x7f {
			return "", p.errf("symbol %q contains a space or control character", sym)
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
func (p *parser) decimalParam(key string) (d decimal.Decimal, present bool, err error) {
	v, ok := p.get(key)
	if !ok {
		return decimal.Decimal{}, false, nil
	}
	d, err = parseDecimal(v, p.decimals)
	if err != nil {
		return decimal.Decimal{}, true, p.errf("%s %q: %v", key, v, err)
	}
	return d, true, nil
}

// positive parses a decimal parameter that must be present and above zero.
func (p *parser) positive(key string) (decimal.Decimal, error) {
	d, ok, err := p.decimalParam(key)
	switch {
	case err != nil:
		return d, err
	case !ok:
		return d, p.errf("%s is missing", key)
	case d.Sign() <= 0:
		return d, p.errf("%s must be above zero", key)
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
	side, qty string // parameters holding the side and the base quantity
	quote     string // parameter holding a quote quantity, or ""
	// Parameter names of the other fields, from the prefix: "type" for a
	// plain order, "aboveType" for the above leg.
	typ, price, tif, stop, trail, iceberg, clientID string
	types                                           map[exchange.OrderType]bool
}

// newLeg names a leg's parameters once, so that parsing builds no strings.
// An empty prefix is a plain order, whose client id is newClientOrderId.
func newLeg(prefix, side, qty, quote string, types map[exchange.OrderType]bool) legSpec {
	key := func(field string) string {
		if prefix == "" {
			return string(field[0]+'a'-'A') + field[1:]
		}
		return prefix + field
	}
	l := legSpec{side: side, qty: qty, quote: quote, types: types,
		typ: key("Type"), price: key("Price"), tif: key("TimeInForce"), stop: key("StopPrice"),
		trail: key("TrailingDelta"), iceberg: key("IcebergQty"), clientID: key("ClientOrderId")}
	if prefix == "" {
		l.clientID = "newClientOrderId"
	}
	return l
}

func (p *parser) legs(specs ...*legSpec) ([]exchange.Order, error) {
	out := make([]exchange.Order, 0, len(specs))
	for _, l := range specs {
		o, err := p.leg(l)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// leg parses one order and checks that its parameters fit its type.
func (p *parser) leg(l *legSpec) (exchange.Order, error) {
	var o exchange.Order
	side, ok := p.get(l.side)
	switch {
	case !ok:
		return o, p.errf("%s is missing", l.side)
	case side == string(exchange.Buy) || side == string(exchange.Sell):
		o.Side = exchange.Side(side)
	default:
		return o, p.errf("%s %q is not BUY or SELL", l.side, side)
	}
	typeKey := l.typ
	typ, ok := p.get(typeKey)
	if !ok {
		return o, p.errf("%s is missing", typeKey)
	}
	o.Type = exchange.OrderType(typ)
	if !l.types[o.Type] {
		return o, p.errf("%s %q is not one of the order types this route takes", typeKey, typ)
	}

	// Quantity: base, or quote for market orders that allow it.
	qty, hasQty, err := p.decimalParam(l.qty)
	if err != nil {
		return o, err
	}
	var quote decimal.Decimal
	hasQuote := false
	if l.quote != "" {
		if quote, hasQuote, err = p.decimalParam(l.quote); err != nil {
			return o, err
		}
	}
	switch {
	case hasQty && hasQuote:
		return o, p.errf("give either %s or %s, not both", l.qty, l.quote)
	case hasQuote && o.Type != exchange.Market:
		return o, p.errf("%s is only accepted on MARKET orders", l.quote)
	case hasQuote:
		if quote.Sign() <= 0 {
			return o, p.errf("%s must be above zero", l.quote)
		}
		o.QuoteQuantity = quote
	case !hasQty:
		return o, p.errf("%s is missing", l.qty)
	case qty.Sign() <= 0:
		return o, p.errf("%s must be above zero", l.qty)
	default:
		o.Quantity = qty
	}

	limitPriced := o.Type == exchange.Limit || o.Type == exchange.LimitMaker ||
		o.Type == exchange.StopLimit || o.Type == exchange.TakeLimit
	priceKey := l.price
	if limitPriced {
		if o.Price, err = p.positive(priceKey); err != nil {
			return o, err
		}
	} else if p.params.Has(priceKey) {
		return o, p.errf("%s is not accepted on %s orders", priceKey, o.Type)
	}

	tifKey := l.tif
	tif, hasTIF := p.get(tifKey)
	needsTIF := o.Type == exchange.Limit || o.Type == exchange.StopLimit || o.Type == exchange.TakeLimit
	switch {
	case needsTIF && !hasTIF:
		return o, p.errf("%s is missing", tifKey)
	case !needsTIF && hasTIF:
		return o, p.errf("%s is not accepted on %s orders", tifKey, o.Type)
	case hasTIF:
		switch exchange.TimeInForce(tif) {
		case exchange.GTC, exchange.IOC, exchange.FOK:
			o.TimeInForce = exchange.TimeInForce(tif)
		default:
			return o, p.errf("%s %q is not GTC, IOC or FOK", tifKey, tif)
		}
	}

	// Stop orders trigger on stopPrice or trailingDelta.
	stopKey, trailKey := l.stop, l.trail
	stop, hasStop, err := p.decimalParam(stopKey)
	if err != nil {
		return o, err
	}
	trail, hasTrail, err := p.decimalParam(trailKey)
	if err != nil {
		return o, err
	}
	isStop := o.Type == exchange.StopLoss || o.Type == exchange.StopLimit ||
		o.Type == exchange.TakeProfit || o.Type == exchange.TakeLimit
	switch {
	case isStop && !hasStop && !hasTrail:
		return o, p.errf("%s or %s is needed on %s orders", stopKey, trailKey, o.Type)
	case !isStop && (hasStop || hasTrail):
		return o, p.errf("%s and %s are only accepted on stop and take-profit orders", stopKey, trailKey)
	case hasStop && stop.Sign() <= 0:
		return o, p.errf("%s must be above zero", stopKey)
	case hasTrail && (trail.Sign() <= 0 || !trail.IsInteger()):
		return o, p.errf("%s must be a whole number of basis points above zero", trailKey)
	}
	if _, _, err := p.decimalParam(l.iceberg); err != nil {
		return o, err
	}
	o.ClientID, _ = p.get(l.clientID)
	return o, nil
}

// amend parses PUT /api/v3/order/amend/keepPriority: a resting order's
// quantity is reduced to newQty. The intent carries the new quantity and no
// side, type or price: the guard values it at the reference price, which
// bounds the order's remaining exposure.
func (p *parser) amend() (exchange.Order, error) {
	var o exchange.Order
	if !p.params.Has("orderId") && !p.params.Has("origClientOrderId") {
		return o, p.errf("orderId or origClientOrderId is missing")
	}
	q, err := p.positive("newQty")
	if err != nil {
		return o, err
	}
	o.Quantity = q
	o.ID, _ = p.get("orderId")
	o.ClientID, _ = p.get("origClientOrderId")
	return o, nil
}

// legacyOCO parses POST /api/v3/order/oco: a LIMIT_MAKER leg at price and a
// stop leg at stopPrice, a STOP_LOSS_LIMIT at stopLimitPrice when given.
func (p *parser) legacyOCO() ([]exchange.Order, error) {
	side, ok := p.get("side")
	if !ok {
		return nil, p.errf("side is missing")
	}
	if side != string(exchange.Buy) && side != string(exchange.Sell) {
		return nil, p.errf("side %q is not BUY or SELL", side)
	}
	qty, err := p.positive("quantity")
	if err != nil {
		return nil, err
	}
	price, err := p.positive("price")
	if err != nil {
		return nil, err
	}
	limit := exchange.Order{Side: exchange.Side(side), Type: exchange.LimitMaker, Quantity: qty, Price: price}
	limit.ClientID, _ = p.get("limitClientOrderId")
	stop := exchange.Order{Side: exchange.Side(side), Type: exchange.StopLoss, Quantity: qty}
	stop.ClientID, _ = p.get("stopClientOrderId")
	_, hasStop, err := p.decimalParam("stopPrice")
	if err != nil {
		return nil, err
	}
	trail, hasTrail, err := p.decimalParam("trailingDelta")
	if err != nil {
		return nil, err
	}
	if !hasStop && !hasTrail {
		return nil, p.errf("stopPrice or trailingDelta is missing")
	}
	if hasTrail && (trail.Sign() <= 0 || !trail.IsInteger()) {
		return nil, p.errf("trailingDelta must be a whole number of basis points above zero")
	}
	tif, hasTIF := p.get("stopLimitTimeInForce")
	if p.params.Has("stopLimitPrice") {
		if stop.Price, err = p.positive("stopLimitPrice"); err != nil {
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
	for _, k := range []string{"limitIcebergQty", "stopIcebergQty"} {
		if _, _, err := p.decimalParam(k); err != nil {
			return nil, err
		}
	}
	return []exchange.Order{limit, stop}, nil
}
