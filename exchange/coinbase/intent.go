package coinbase

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// Intent parses what a request would do from the request itself. An order
// is read from the exact JSON body that will be sent (the JWT does not sign
// it): the body must be one JSON object with no key given twice at any
// depth, only the keys the route takes (exact, case-sensitive), and exactly
// one known order configuration. Anything else wraps
// exchange.ErrMalformedRequest. See exchange.Scheme for how in is filled.
func (s *Scheme) Intent(req *exchange.Request, route exchange.Route, in *exchange.Intent) error {
	in.Orders = in.Orders[:0]
	name, spec, ok := lookup(req.Method, req.Path)
	if !ok {
		return fmt.Errorf("%w: coinbase %s", exchange.ErrUnknownEndpoint, name)
	}
	if len(req.Header) > 0 {
		if err := req.CheckHeader("application/json"); err != nil {
			return fmt.Errorf("%w: coinbase %s: %v", exchange.ErrMalformedRequest, name, err)
		}
	}
	if spec.kind != kindNone && len(req.Params) > 0 {
		// The body is the order; a query beside it is sent unsigned (the
		// JWT covers the path only) and never read by the parser.
		return fmt.Errorf("%w: coinbase %s: order routes take their fields in the JSON body, not in the query", exchange.ErrMalformedRequest, name)
	}
	var (
		o   exchange.Order
		err error
	)
	switch spec.kind {
	case kindNone:
		in.Route, in.Test = route, spec.test
		return nil
	case kindRefused:
		return fmt.Errorf("%w: coinbase %s: %s", exchange.ErrMalformedRequest, name, spec.why)
	case kindOrder:
		o, err = parseOrder(req.Body, spec.test)
	case kindEdit:
		o, err = s.parseEdit(req.Body)
	}
	if err != nil {
		return fmt.Errorf("%w: coinbase %s: %w", exchange.ErrMalformedRequest, name, err)
	}
	if m := s.products.Load(); m != nil {
		p, ok := (*m)[o.Symbol]
		if !ok {
			return fmt.Errorf("%w: coinbase %s: product %q is not listed", exchange.ErrMalformedRequest, name, o.Symbol)
		}
		if err := checkProduct(p, o, decimal.Decimal{}); err != nil {
			return err
		}
	}
	in.Route, in.Test = route, spec.test
	in.Orders = append(in.Orders, o)
	return nil
}

// Keys of a create-order (or preview) body. Leverage, margin and attached
// (bracket, take-profit/stop-loss) orders are left out on purpose: their
// prices are not parsed, so a body carrying one is refused.
var (
	orderKeys   = set("client_order_id", "product_id", "side", "order_configuration", "self_trade_prevention_id", "retail_portfolio_id", "preview_id")
	previewKeys = set("product_id", "side", "order_configuration", "retail_portfolio_id")
	editKeys    = set("order_id", "price", "size")
)

// configSpec describes one order configuration.
type configSpec struct {
	typ   exchange.OrderType
	tif   exchange.TimeInForce
	quote bool // quote_size is accepted instead of base_size
	price bool // limit_price is required
	post  bool // post_only is accepted
	end   bool // end_time is required
	stop  bool // stop_price and stop_direction are required
}

// orderConfigs are the configurations keyfence parses, with every price
// they hold: limit_price, and stop_price for the stop-limit ones (its
// trigger, which the guard checks against the band too). Any other key of
// order_configuration is refused, whatever the venue would make of it:
// trigger_bracket_gtc/gtd (limit_price and stop_trigger_price), twap and
// scaled orders are not parsed, so they never reach a signature.
var orderConfigs = map[string]configSpec{
	"market_market_ioc":         {typ: exchange.Market, quote: true},
	"market_market_fok":         {typ: exchange.Market, quote: true},
	"sor_limit_ioc":             {typ: exchange.Limit, tif: exchange.IOC, quote: true, price: true},
	"limit_limit_gtc":           {typ: exchange.Limit, tif: exchange.GTC, quote: true, price: true, post: true},
	"limit_limit_gtd":           {typ: exchange.Limit, tif: exchange.GTD, quote: true, price: true, post: true, end: true},
	"limit_limit_fok":           {typ: exchange.Limit, tif: exchange.FOK, quote: true, price: true},
	"stop_limit_stop_limit_gtc": {typ: exchange.StopLimit, tif: exchange.GTC, price: true, stop: true},
	"stop_limit_stop_limit_gtd": {typ: exchange.StopLimit, tif: exchange.GTD, price: true, stop: true, end: true},
}

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func onlyKeys(obj jsonObject, allowed map[string]bool, where string) error {
	for k := range obj {
		if !allowed[k] {
			return fmt.Errorf("%s: key %q is not accepted", where, k)
		}
	}
	return nil
}

func str(obj jsonObject, key string) (string, bool, error) {
	v, ok := obj[key]
	if !ok {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", true, fmt.Errorf("%s must be a string", key)
	}
	return s, true, nil
}

// amount reads a positive decimal written as digits with an optional
// fraction: no sign, exponent, spaces or leading zeros that a reader
// could parse differently.
func amount(obj jsonObject, key string) (decimal.Decimal, bool, error) {
	s, ok, err := str(obj, key)
	if err != nil || !ok {
		return decimal.Decimal{}, ok, err
	}
	d, err := parseAmount(s)
	if err != nil {
		return decimal.Decimal{}, true, fmt.Errorf("%s %q: %w", key, s, err)
	}
	return d, true, nil
}

func parseAmount(s string) (decimal.Decimal, error) {
	if s == "" || len(s) > 40 {
		return decimal.Decimal{}, fmt.Errorf("not a decimal amount")
	}
	dot := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && dot < 0 && i > 0 && i < len(s)-1:
			dot = i
		default:
			return decimal.Decimal{}, fmt.Errorf("not a plain decimal amount")
		}
	}
	if s[0] == '0' && len(s) > 1 && s[1] != '.' {
		return decimal.Decimal{}, fmt.Errorf("leading zero")
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.Sign() <= 0 {
		return decimal.Decimal{}, fmt.Errorf("must be positive")
	}
	return d, nil
}

// parseOrder reads a create-order or preview body.
func parseOrder(body []byte, preview bool) (exchange.Order, error) {
	var o exchange.Order
	obj, err := parseStrictObject(body)
	if err != nil {
		return o, err
	}
	allowed := orderKeys
	if preview {
		allowed = previewKeys
	}
	if err := onlyKeys(obj, allowed, "order"); err != nil {
		return o, err
	}
	product, ok, err := str(obj, "product_id")
	if err != nil || !ok || product == "" || !idSegment(product) {
		return o, fmt.Errorf("product_id is missing or invalid")
	}
	side, ok, err := str(obj, "side")
	if err != nil || !ok || (side != "BUY" && side != "SELL") {
		return o, fmt.Errorf("side must be BUY or SELL")
	}
	if !preview {
		id, ok, err := str(obj, "client_order_id")
		if err != nil {
			return o, err
		}
		if !ok || id == "" || len(id) > 128 {
			return o, fmt.Errorf("client_order_id is missing; set a unique one so a lost answer can be looked up")
		}
		o.ClientID = id
	}
	cfgs, ok := obj["order_configuration"].(jsonObject)
	if !ok {
		return o, fmt.Errorf("order_configuration must be an object")
	}
	if len(cfgs) != 1 {
		return o, fmt.Errorf("order_configuration must hold exactly one configuration, not %d", len(cfgs))
	}
	o.Symbol, o.Side = product, exchange.Side(side)
	for name, v := range cfgs {
		cfg, ok := v.(jsonObject)
		if !ok {
			return o, fmt.Errorf("order_configuration.%s must be an object", name)
		}
		if err := applyConfig(&o, name, cfg); err != nil {
			return o, err
		}
	}
	return o, nil
}

// applyConfig reads one order configuration into o.
func applyConfig(o *exchange.Order, name string, cfg jsonObject) error {
	spec, ok := orderConfigs[name]
	if !ok {
		return fmt.Errorf("order configuration %q is unknown or not supported by keyfence", name)
	}
	allowed := set("base_size")
	if spec.quote {
		allowed["quote_size"] = true
	}
	if spec.price {
		allowed["limit_price"] = true
	}
	if spec.post {
		allowed["post_only"] = true
	}
	if spec.end {
		allowed["end_time"] = true
	}
	if spec.stop {
		allowed["stop_price"], allowed["stop_direction"] = true, true
	}
	where := "order_configuration." + name
	if err := onlyKeys(cfg, allowed, where); err != nil {
		return err
	}
	base, hasBase, err := amount(cfg, "base_size")
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	quote, hasQuote, err := amount(cfg, "quote_size")
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if hasBase == hasQuote {
		if spec.quote {
			return fmt.Errorf("%s: give exactly one of base_size and quote_size", where)
		}
		return fmt.Errorf("%s: base_size is required", where)
	}
	o.Quantity, o.QuoteQuantity = base, quote
	o.Type, o.TimeInForce = spec.typ, spec.tif
	if spec.price {
		p, ok, err := amount(cfg, "limit_price")
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if !ok {
			return fmt.Errorf("%s: limit_price is required", where)
		}
		o.Price = p
	}
	if v, ok := cfg["post_only"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return fmt.Errorf("%s: post_only must be true or false", where)
		}
		if b {
			o.Type = exchange.LimitMaker
		}
	}
	if spec.end {
		s, ok, err := str(cfg, "end_time")
		if err != nil || !ok {
			return fmt.Errorf("%s: end_time is required (RFC 3339)", where)
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("%s: end_time %q is not RFC 3339", where, s)
		}
	}
	if spec.stop {
		stop, ok, err := amount(cfg, "stop_price")
		if err != nil || !ok {
			return fmt.Errorf("%s: stop_price is required and must be a positive decimal", where)
		}
		o.StopPrice = stop
		d, ok, err := str(cfg, "stop_direction")
		if err != nil || !ok || (d != "STOP_DIRECTION_STOP_UP" && d != "STOP_DIRECTION_STOP_DOWN") {
			return fmt.Errorf("%s: stop_direction must be STOP_DIRECTION_STOP_UP or STOP_DIRECTION_STOP_DOWN", where)
		}
	}
	return nil
}

// parseEdit reads an edit body ({order_id, price, size}) and values it
// as a new limit order on the product and side of the order it edits,
// which this client must have placed or read (Scheme.track).
func (s *Scheme) parseEdit(body []byte) (exchange.Order, error) {
	var o exchange.Order
	obj, err := parseStrictObject(body)
	if err != nil {
		return o, err
	}
	if err := onlyKeys(obj, editKeys, "edit"); err != nil {
		return o, err
	}
	id, ok, err := str(obj, "order_id")
	if err != nil || !ok || id == "" {
		return o, fmt.Errorf("order_id is required")
	}
	t, known := s.tracked(id)
	if !known {
		return o, fmt.Errorf("order %s was not placed or read by this client, so its product and side are unknown; read it (GetOrder) first", id)
	}
	price, ok, err := amount(obj, "price")
	if err != nil || !ok {
		return o, fmt.Errorf("price is required and must be a positive decimal")
	}
	size, ok, err := amount(obj, "size")
	if err != nil || !ok {
		return o, fmt.Errorf("size is required and must be a positive decimal")
	}
	o = exchange.Order{Symbol: t.Product, Side: t.Side, Type: exchange.Limit, TimeInForce: t.TIF, Price: price, Quantity: size, ID: id}
	if o.TimeInForce == "" {
		o.TimeInForce = exchange.GTC
	}
	if t.PostOnly {
		o.Type = exchange.LimitMaker
	}
	return o, nil
}

// configOf reads the order configuration of an order the venue reports,
// into the type, time in force, price and sizes of o. Unknown
// configurations leave o as it is.
func configOf(o *exchange.Order, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	obj, err := parseStrictObject(raw)
	if err != nil || len(obj) != 1 {
		return
	}
	for name, v := range obj {
		if cfg, ok := v.(jsonObject); ok {
			tmp := *o
			if applyConfig(&tmp, name, cfg) == nil {
				*o = tmp
			}
		}
	}
}
