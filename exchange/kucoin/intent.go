package kucoin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// orderFields is the allow-list of the fields of an order object (POST
// /api/v1/hf/orders and its sync, test and multi forms). Each changes the
// order in a way the parser reads and checks:
//
//	clientOid              the client order id (at most 40 characters)
//	symbol, side, type     "BTC-USDT", buy|sell, limit|market
//	price, size, funds     decimal strings; funds only on market orders
//	timeInForce            GTC, GTT, IOC or FOK (limit orders)
//	cancelAfter            seconds, GTT orders only
//	postOnly               limit GTC/GTT orders; the order becomes LIMIT_MAKER
//	hidden, iceberg        limit orders; visibleSize with iceberg
//	stp                    self-trade prevention: CN, CO, CB or DC
//	remark, tags           free text the venue stores
//
// Any other field is refused, so that nothing the guard does not read can
// change what the order does (stop orders, margin trade types, ...). The
// only prices are price (and newPrice on the alter route), which reach the
// intent; a market order's size reaches it as a base quantity, which the
// guard refuses unless the policy accepts it, and funds as a quote
// quantity. Stop and OCO orders (/api/v1/stop-order, /api/v3/oco/order)
// carry trigger prices keyfence does not parse: their routes are not in
// the route table, so they are refused before signing.
var orderFields = map[string]bool{
	"clientOid": true, "symbol": true, "side": true, "type": true, "price": true, "size": true, "funds": true,
	"timeInForce": true, "cancelAfter": true, "postOnly": true, "hidden": true, "iceberg": true,
	"visibleSize": true, "stp": true, "remark": true, "tags": true,
}

// alterFields is the allow-list of POST /api/v1/hf/orders/alter.
var alterFields = map[string]bool{"symbol": true, "orderId": true, "clientOid": true, "newPrice": true, "newSize": true}

// Intent parses what a request would do from the request itself: the
// exact JSON body of order routes, nothing else. Order routes take no
// query parameters; other routes create nothing and yield an intent
// without orders. See exchange.Scheme for how in is filled.
func (s *Scheme) Intent(req *exchange.Request, route exchange.Route, in *exchange.Intent) error {
	in.Orders = in.Orders[:0]
	name, spec, _, ok := lookup(req.Method, req.Path)
	if !ok {
		return fmt.Errorf("%w: kucoin %s", exchange.ErrUnknownEndpoint, name)
	}
	p := parser{route: name, scheme: s}
	if len(req.Header) > 0 {
		if err := req.CheckHeader("application/json"); err != nil {
			return p.errf("%v", err)
		}
	}
	in.Route, in.Test = route, spec.test
	if spec.kind == kindNone {
		return nil
	}
	if len(req.Params) > 0 {
		return p.errf("order routes take their fields in the JSON body, not in the query")
	}
	obj, err := parseObject(req.Body)
	if err != nil {
		return p.errf("%v", err)
	}
	var orders []exchange.Order
	switch spec.kind {
	case kindOrder:
		var o exchange.Order
		if o, err = p.order(obj); err == nil {
			in.Orders = append(in.Orders, o)
		}
	case kindMulti:
		if orders, err = p.multi(obj); err == nil {
			in.Orders = append(in.Orders, orders...)
		}
	case kindAlter:
		var o exchange.Order
		if o, err = p.alter(obj); err == nil {
			in.Orders = append(in.Orders, o)
		}
	}
	return err
}

// maxMultiOrders is the most orders a batch may hold (KuCoin allows 20
// per request on the HF batch routes).
const maxMultiOrders = 20

// parser reads one request's JSON.
type parser struct {
	route  string
	scheme *Scheme
}

func (p *parser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: kucoin %s: %s", exchange.ErrMalformedRequest, p.route, fmt.Sprintf(format, args...))
}

// str reads a string field; present is false when it is absent.
func (p *parser) str(obj object, key string) (v string, present bool, err error) {
	raw, ok := obj.get(key)
	if !ok {
		return "", false, nil
	}
	if len(raw) < 2 || raw[0] != '"' {
		return "", true, p.errf("%s must be a JSON string", key)
	}
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true, nil // validated by the scanner: no escapes to decode
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", true, p.errf("%s must be a JSON string", key)
	}
	return v, true, nil
}

// boolean reads a boolean field (false when absent).
func (p *parser) boolean(obj object, key string) (bool, error) {
	raw, ok := obj.get(key)
	if !ok {
		return false, nil
	}
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, p.errf("%s must be true or false", key)
}

// decimal reads an optional decimal given as a JSON string.
func (p *parser) decimal(obj object, key string) (d decimal.Decimal, present bool, err error) {
	v, ok, err := p.str(obj, key)
	if err != nil || !ok {
		return d, ok, err
	}
	d, err = parseDecimal(v)
	if err != nil {
		return d, true, p.errf("%s %s: %v", key, quote(v), err)
	}
	return d, true, nil
}

// positive reads a decimal that must be present and above zero.
func (p *parser) positive(obj object, key string) (decimal.Decimal, error) {
	d, ok, err := p.decimal(obj, key)
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

// parseDecimal parses a non-negative decimal in the venue's format: 1 to
// 20 digits, optionally a dot and 1 to 20 digits; no sign, no exponent.
func parseDecimal(s string) (decimal.Decimal, error) {
	intPart, frac, dot := strings.Cut(s, ".")
	if intPart == "" || len(intPart) > 20 || len(frac) > 20 || (dot && frac == "") {
		return decimal.Decimal{}, fmt.Errorf("not a decimal of at most 20 digits before and after the dot")
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return decimal.Decimal{}, fmt.Errorf("not an unsigned decimal")
			}
		}
	}
	return decimal.NewFromString(s)
}

// symbol reads and checks the symbol field: BASE-QUOTE, listed in the
// symbol table when one is installed.
func (p *parser) symbol(obj object) (string, error) {
	sym, ok, err := p.str(obj, "symbol")
	switch {
	case err != nil:
		return "", err
	case !ok || sym == "":
		return "", p.errf("symbol is missing")
	}
	if _, _, err := SplitSymbol(sym); err != nil {
		return "", p.errf("%v", err)
	}
	if !p.scheme.listed(sym) {
		return "", p.errf("symbol %s is not listed in /api/v2/symbols", quote(sym))
	}
	return sym, nil
}

// SplitSymbol splits a KuCoin symbol ("BTC-USDT") into base and quote.
func SplitSymbol(symbol string) (base, quote string, err error) {
	base, quoteAsset, ok := strings.Cut(symbol, "-")
	if !ok || base == "" || quoteAsset == "" || strings.Contains(quoteAsset, "-") || len(symbol) > 40 {
		return "", "", fmt.Errorf("symbol %q is not BASE-QUOTE", symbol)
	}
	for i := 0; i < len(symbol); i++ {
		c := symbol[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return "", "", fmt.Errorf("symbol %q holds a character other than A-Z, 0-9 and '-'", symbol)
		}
	}
	return base, quoteAsset, nil
}

// order parses one order object.
func (p *parser) order(obj object) (exchange.Order, error) {
	var o exchange.Order
	for _, f := range obj {
		if !orderFields[f.key] {
			return o, p.errf("field %s is not accepted on order routes", quote(f.key))
		}
	}
	sym, err := p.symbol(obj)
	if err != nil {
		return o, err
	}
	o.Symbol = sym
	side, _, err := p.str(obj, "side")
	if err != nil {
		return o, err
	}
	switch side {
	case "buy":
		o.Side = exchange.Buy
	case "sell":
		o.Side = exchange.Sell
	default:
		return o, p.errf("side %s is not buy or sell", quote(side))
	}
	typ, _, err := p.str(obj, "type")
	if err != nil {
		return o, err
	}
	postOnly, err := p.boolean(obj, "postOnly")
	if err != nil {
		return o, err
	}
	hidden, err := p.boolean(obj, "hidden")
	if err != nil {
		return o, err
	}
	iceberg, err := p.boolean(obj, "iceberg")
	if err != nil {
		return o, err
	}
	tif, hasTIF, err := p.str(obj, "timeInForce")
	if err != nil {
		return o, err
	}
	_, hasCancelAfter := obj.get("cancelAfter")
	visible, hasVisible, err := p.decimal(obj, "visibleSize")
	if err != nil {
		return o, err
	}
	switch typ {
	case "limit":
		o.Type = exchange.Limit
		if o.Price, err = p.positive(obj, "price"); err != nil {
			return o, err
		}
		if o.Quantity, err = p.positive(obj, "size"); err != nil {
			return o, err
		}
		if _, ok := obj.get("funds"); ok {
			return o, p.errf("funds is only accepted on market orders")
		}
		o.TimeInForce = exchange.GTC
		switch {
		case !hasTIF, tif == "GTC":
		case tif == "GTT":
			o.TimeInForce = exchange.GTD
		case tif == "IOC":
			o.TimeInForce = exchange.IOC
		case tif == "FOK":
			o.TimeInForce = exchange.FOK
		default:
			return o, p.errf("timeInForce %s is not GTC, GTT, IOC or FOK", quote(tif))
		}
		if hasCancelAfter {
			if o.TimeInForce != exchange.GTD {
				return o, p.errf("cancelAfter is only accepted with timeInForce GTT")
			}
			var secs int64
			if raw, _ := obj.get("cancelAfter"); json.Unmarshal(raw, &secs) != nil || secs <= 0 {
				return o, p.errf("cancelAfter must be a whole number of seconds above zero")
			}
		}
		if postOnly {
			if o.TimeInForce == exchange.IOC || o.TimeInForce == exchange.FOK {
				return o, p.errf("postOnly is not accepted with timeInForce IOC or FOK")
			}
			o.Type = exchange.LimitMaker
		}
		if hidden && iceberg {
			return o, p.errf("give hidden or iceberg, not both")
		}
		if iceberg != hasVisible {
			return o, p.errf("iceberg orders need visibleSize, and visibleSize needs iceberg")
		}
		if hasVisible && (visible.Sign() <= 0 || visible.GreaterThan(o.Quantity)) {
			return o, p.errf("visibleSize must be above zero and at most size")
		}
	case "market":
		o.Type = exchange.Market
		if _, ok := obj.get("price"); ok {
			return o, p.errf("price is not accepted on market orders")
		}
		if hasTIF || hasCancelAfter || postOnly || hidden || iceberg || hasVisible {
			return o, p.errf("timeInForce, cancelAfter, postOnly, hidden, iceberg and visibleSize are only accepted on limit orders")
		}
		size, hasSize, err := p.decimal(obj, "size")
		if err != nil {
			return o, err
		}
		funds, hasFunds, err := p.decimal(obj, "funds")
		if err != nil {
			return o, err
		}
		switch {
		case hasSize && hasFunds:
			return o, p.errf("give either size or funds, not both")
		case hasFunds:
			if funds.Sign() <= 0 {
				return o, p.errf("funds must be above zero")
			}
			o.QuoteQuantity = funds
		case !hasSize:
			return o, p.errf("size or funds is missing")
		case size.Sign() <= 0:
			return o, p.errf("size must be above zero")
		default:
			o.Quantity = size
		}
	case "":
		return o, p.errf("type is missing")
	default:
		return o, p.errf("type %s is not limit or market", quote(typ))
	}
	if stp, ok, err := p.str(obj, "stp"); err != nil {
		return o, err
	} else if ok && stp != "CN" && stp != "CO" && stp != "CB" && stp != "DC" {
		return o, p.errf("stp %s is not CN, CO, CB or DC", quote(stp))
	}
	for _, k := range []string{"remark", "tags"} {
		if _, _, err := p.str(obj, k); err != nil {
			return o, err
		}
	}
	cid, _, err := p.str(obj, "clientOid")
	if err != nil {
		return o, err
	}
	if len(cid) > 40 {
		return o, p.errf("clientOid is longer than 40 characters")
	}
	o.ClientID = cid
	return o, nil
}

// multi parses a batch: {"orderList": [order, ...]}, one exchange.Order
// per element.
func (p *parser) multi(obj object) ([]exchange.Order, error) {
	if len(obj) != 1 || obj[0].key != "orderList" {
		return nil, p.errf("the body must hold orderList and nothing else")
	}
	elems, err := parseArray(obj[0].value)
	if err != nil {
		return nil, p.errf("orderList: %v", err)
	}
	if len(elems) == 0 || len(elems) > maxMultiOrders {
		return nil, p.errf("orderList holds %d orders; give 1 to %d", len(elems), maxMultiOrders)
	}
	out := make([]exchange.Order, 0, len(elems))
	for i, e := range elems {
		o, err := parseObject(e)
		if err != nil {
			return nil, p.errf("orderList[%d]: %v", i, err)
		}
		ord, err := p.order(o)
		if err != nil {
			return nil, fmt.Errorf("orderList[%d]: %w", i, err)
		}
		out = append(out, ord)
	}
	return out, nil
}

// alter parses POST /api/v1/hf/orders/alter: a resting order gets a new
// price and size. The intent is the order as it would stand, without a
// side (the body has none): a guard that needs the side refuses it.
func (p *parser) alter(obj object) (exchange.Order, error) {
	var o exchange.Order
	for _, f := range obj {
		if !alterFields[f.key] {
			return o, p.errf("field %s is not accepted on the alter route", quote(f.key))
		}
	}
	sym, err := p.symbol(obj)
	if err != nil {
		return o, err
	}
	o.Symbol, o.Type = sym, exchange.Limit
	id, hasID, err := p.str(obj, "orderId")
	if err != nil {
		return o, err
	}
	cid, hasCID, err := p.str(obj, "clientOid")
	if err != nil {
		return o, err
	}
	if hasID == hasCID {
		return o, p.errf("give orderId or clientOid, one of them")
	}
	o.ID, o.ClientID = id, cid
	if o.Price, err = p.positive(obj, "newPrice"); err != nil {
		return o, err
	}
	if o.Quantity, err = p.positive(obj, "newSize"); err != nil {
		return o, err
	}
	return o, nil
}
