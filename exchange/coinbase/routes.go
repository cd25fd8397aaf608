package coinbase

import (
	"strings"

	"github.com/keyfence/keyfence/exchange"
)

// Prefix is the path prefix of the Advanced Trade REST API.
const Prefix = "/api/v3/brokerage"

// routeKind says how the intent of a route is parsed.
type routeKind uint8

const (
	kindNone    routeKind = iota // creates no order (reads, cancels, refused classes)
	kindOrder                    // create order: the order in the JSON body
	kindEdit                     // edit order: new price and size of an order this client placed
	kindRefused                  // trade routes whose effect keyfence cannot value: refused
)

// routeSpec is one entry of the route table.
type routeSpec struct {
	class  exchange.Class
	signed bool
	kind   routeKind
	test   bool   // a venue dry run (preview)
	why    string // for kindRefused: why the route is refused
}

// A route pattern's path segments; "{id}" matches one segment.
type routePattern struct {
	method string
	path   string
	spec   routeSpec
}

var (
	routePublic   = routeSpec{class: exchange.ClassPublic}
	routeRead     = routeSpec{class: exchange.ClassRead, signed: true}
	routeCancel   = routeSpec{class: exchange.ClassCancel, signed: true}
	routeTransfer = routeSpec{class: exchange.ClassTransfer, signed: true}
	routeWithdraw = routeSpec{class: exchange.ClassWithdraw, signed: true}
)

// routePatterns is the route table: every endpoint the client uses, every
// endpoint that creates or changes orders, and the value-moving endpoints,
// classified so that the guard refuses them. Anything else is refused.
// Literal segments win over "{id}" (the table is searched in order).
var routePatterns = []routePattern{
	// Public market data and server time: unsigned.
	{"GET", Prefix + "/time", routePublic},
	{"GET", Prefix + "/market/products", routePublic},
	{"GET", Prefix + "/market/products/{id}", routePublic},
	{"GET", Prefix + "/market/products/{id}/ticker", routePublic},
	{"GET", Prefix + "/market/product_book", routePublic},
	{"GET", Prefix + "/market/products/{id}/candles", routePublic},
	{"GET", "/v2/currencies", routePublic},
	{"GET", "/v2/currencies/crypto", routePublic},
	{"GET", "/v2/exchange-rates", routePublic},
	{"GET", "/v2/time", routePublic},

	// Authenticated reads.
	{"GET", Prefix + "/products", routeRead},
	{"GET", Prefix + "/products/{id}", routeRead},
	{"GET", Prefix + "/products/{id}/ticker", routeRead},
	{"GET", Prefix + "/products/{id}/candles", routeRead},
	{"GET", Prefix + "/best_bid_ask", routeRead},
	{"GET", Prefix + "/product_book", routeRead},
	{"GET", Prefix + "/accounts", routeRead},
	{"GET", Prefix + "/accounts/{id}", routeRead},
	{"GET", Prefix + "/orders/historical/batch", routeRead},
	{"GET", Prefix + "/orders/historical/fills", routeRead},
	{"GET", Prefix + "/orders/historical/{id}", routeRead},
	{"GET", Prefix + "/key_permissions", routeRead},
	{"GET", Prefix + "/transaction_summary", routeRead},
	{"GET", Prefix + "/convert/trade/{id}", routeRead},
	// The Coinbase App's account list (same host, same CDP key): CCXT's
	// fetchBalance reads it by default. A read: it lists wallets and
	// balances and moves nothing.
	{"GET", "/v2/accounts", routeRead},

	// Orders.
	{"POST", Prefix + "/orders", routeSpec{class: exchange.ClassTrade, signed: true, kind: kindOrder}},
	{"POST", Prefix + "/orders/preview", routeSpec{class: exchange.ClassTrade, signed: true, kind: kindOrder, test: true}},
	{"POST", Prefix + "/orders/edit", routeSpec{class: exchange.ClassTrade, signed: true, kind: kindEdit}},
	{"POST", Prefix + "/orders/edit_preview", routeSpec{class: exchange.ClassTrade, signed: true, kind: kindEdit, test: true}},
	{"POST", Prefix + "/orders/close_position", routeSpec{class: exchange.ClassTrade, signed: true, kind: kindRefused,
		why: "closing a position has no price or side in the request, so the guard cannot value it"}},
	{"POST", Prefix + "/convert/quote", routeSpec{class: exchange.ClassTrade, signed: true, kind: kindRefused,
		why: "conversions are not parsed by keyfence; trade through orders instead"}},
	{"POST", Prefix + "/convert/trade/{id}", routeSpec{class: exchange.ClassTrade, signed: true, kind: kindRefused,
		why: "conversions are not parsed by keyfence; trade through orders instead"}},
	{"POST", Prefix + "/orders/batch_cancel", routeCancel},

	// Funds moving between portfolios or accounts of the same owner.
	{"POST", Prefix + "/portfolios/move_funds", routeTransfer},
	{"POST", Prefix + "/intx/allocate", routeTransfer},
	{"POST", Prefix + "/cfm/sweeps/schedule", routeTransfer},
	{"DELETE", Prefix + "/cfm/sweeps", routeTransfer},

	// Coinbase App v2: "send money" moves funds out.
	{"POST", "/v2/accounts/{id}/transactions", routeWithdraw},
}

// lookup finds the route of a method and path. The name is the method and
// the path, with identifiers kept (the audit log shows which order).
func lookup(method, path string) (string, *routeSpec, bool) {
	name := method + " " + path
	if !exchange.CleanPath(path) {
		return name, nil, false
	}
	for i := range routePatterns {
		p := &routePatterns[i]
		if p.method == method && matchPath(p.path, path) {
			return name, &p.spec, true
		}
	}
	// Any other change under the v2 Coinbase App API may move funds.
	if method != "GET" && strings.HasPrefix(path, "/v2/") {
		return name, &routeSpec{class: exchange.ClassWithdraw, signed: true}, true
	}
	return name, nil, false
}

func matchPath(pattern, path string) bool {
	for {
		pi := strings.IndexByte(pattern, '{')
		if pi < 0 {
			return pattern == path
		}
		if !strings.HasPrefix(path, pattern[:pi]) {
			return false
		}
		path, pattern = path[pi:], pattern[pi:]
		end := strings.IndexByte(pattern, '}')
		pattern = pattern[end+1:]
		seg := path
		if i := strings.IndexByte(path, '/'); i >= 0 {
			seg = path[:i]
		}
		if !idSegment(seg) {
			return false
		}
		path = path[len(seg):]
	}
}

// idSegment reports whether s can be an identifier: a product id
// ("BTC-USD"), an order or account UUID.
func idSegment(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
