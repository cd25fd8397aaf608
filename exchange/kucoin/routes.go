package kucoin

import (
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// Pool is one of KuCoin's rate-limit resource pools. Each endpoint costs a
// weight in exactly one pool; a pool's quota renews every 30 seconds.
type Pool string

// The pools the route table uses.
const (
	PoolSpot       Pool = "spot"       // spot trading and order queries, per account
	PoolManagement Pool = "management" // accounts, keys, transfers and withdrawals, per account
	PoolPublic     Pool = "public"     // market data, per IP address
)

// PoolInterval is the length of a pool's quota window.
const PoolInterval = 30 * time.Second

// BucketKey is the pool's key in exchange.Usage.Used, e.g. "spot:30s".
func (p Pool) BucketKey() string { return exchange.BucketKey(string(p), PoolInterval) }

// routeKind says how the intent of a route is parsed.
type routeKind uint8

const (
	kindNone  routeKind = iota // creates no order
	kindOrder                  // one order object
	kindMulti                  // {"orderList":[order, ...]}
	kindAlter                  // {"symbol", "orderId"|"clientOid", "newPrice", "newSize"}
)

// routeSpec is one entry of the route table.
type routeSpec struct {
	class  exchange.Class
	pool   Pool
	weight int
	signed bool
	kind   routeKind
	test   bool // the venue's dry run
	orders int  // orders created (one per element for kindMulti)
}

// The route table: every endpoint the client uses and every endpoint that
// creates or changes orders, with its pool and weight from KuCoin's
// documentation (VIP0). Anything else is refused before signing.
var routeTable = map[string]*routeSpec{
	// Public market data.
	"GET /api/v1/timestamp":                      {class: exchange.ClassPublic, pool: PoolPublic, weight: 3},
	"GET /api/v2/symbols":                        {class: exchange.ClassPublic, pool: PoolPublic, weight: 4},
	"GET /api/v1/market/orderbook/level1":        {class: exchange.ClassPublic, pool: PoolPublic, weight: 2},
	"GET /api/v1/market/allTickers":              {class: exchange.ClassPublic, pool: PoolPublic, weight: 15},
	"GET /api/v1/market/orderbook/level2_20":     {class: exchange.ClassPublic, pool: PoolPublic, weight: 2},
	"GET /api/v1/market/orderbook/level2_100":    {class: exchange.ClassPublic, pool: PoolPublic, weight: 4},
	"GET /api/v1/market/stats":                   {class: exchange.ClassPublic, pool: PoolPublic, weight: 15},
	"GET /api/v1/market/candles":                 {class: exchange.ClassPublic, pool: PoolPublic, weight: 3},
	"GET /api/v1/market/histories":               {class: exchange.ClassPublic, pool: PoolPublic, weight: 3},
	"GET /api/v3/currencies":                     {class: exchange.ClassPublic, pool: PoolPublic, weight: 3},
	"GET /api/v3/currencies/{id}":                {class: exchange.ClassPublic, pool: PoolPublic, weight: 3},
	"GET /api/v2/symbols/{id}":                   {class: exchange.ClassPublic, pool: PoolPublic, weight: 4},
	"GET /api/v1/status":                         {class: exchange.ClassPublic, pool: PoolPublic, weight: 3},
	"GET /api/v1/contracts/active":               {class: exchange.ClassPublic, pool: PoolPublic, weight: 3},
	"GET /api/v3/market/orderbook/level2":        {class: exchange.ClassRead, pool: PoolSpot, weight: 3, signed: true},
	"GET /api/v1/accounts":                       {class: exchange.ClassRead, pool: PoolManagement, weight: 5, signed: true},
	"GET /api/v1/user/api-key":                   {class: exchange.ClassRead, pool: PoolManagement, weight: 20, signed: true},
	"GET /api/ua/v1/account/mode":                {class: exchange.ClassRead, pool: PoolManagement, weight: 30, signed: true},
	"GET /api/v1/hf/accounts/opened":             {class: exchange.ClassRead, pool: PoolSpot, weight: 2, signed: true},
	"GET /api/v3/margin/symbols":                 {class: exchange.ClassRead, pool: PoolSpot, weight: 3, signed: true},
	"GET /api/v1/isolated/symbols":               {class: exchange.ClassRead, pool: PoolSpot, weight: 20, signed: true},
	"GET /api/v1/trade-fees":                     {class: exchange.ClassRead, pool: PoolSpot, weight: 3, signed: true},
	"GET /api/v1/base-fee":                       {class: exchange.ClassRead, pool: PoolSpot, weight: 3, signed: true},
	"GET /api/v1/hf/orders/active":               {class: exchange.ClassRead, pool: PoolSpot, weight: 2, signed: true},
	"GET /api/v1/hf/orders/active/symbols":       {class: exchange.ClassRead, pool: PoolSpot, weight: 2, signed: true},
	"GET /api/v1/hf/orders/done":                 {class: exchange.ClassRead, pool: PoolSpot, weight: 2, signed: true},
	"GET /api/v1/hf/orders/{orderId}":            {class: exchange.ClassRead, pool: PoolSpot, weight: 2, signed: true},
	"GET /api/v1/hf/orders/client-order/{id}":    {class: exchange.ClassRead, pool: PoolSpot, weight: 2, signed: true},
	"GET /api/v1/hf/fills":                       {class: exchange.ClassRead, pool: PoolSpot, weight: 2, signed: true},
	"DELETE /api/v1/hf/orders/{orderId}":         {class: exchange.ClassCancel, pool: PoolSpot, weight: 1, signed: true},
	"DELETE /api/v1/hf/orders/sync/{orderId}":    {class: exchange.ClassCancel, pool: PoolSpot, weight: 1, signed: true},
	"DELETE /api/v1/hf/orders/client-order/{id}": {class: exchange.ClassCancel, pool: PoolSpot, weight: 1, signed: true},
	"DELETE /api/v1/hf/orders/cancelAll":         {class: exchange.ClassCancel, pool: PoolSpot, weight: 30, signed: true},
	"DELETE /api/v1/hf/orders":                   {class: exchange.ClassCancel, pool: PoolSpot, weight: 2, signed: true},

	// Every route that creates or changes orders.
	"POST /api/v1/hf/orders":            {class: exchange.ClassTrade, pool: PoolSpot, weight: 1, signed: true, kind: kindOrder, orders: 1},
	"POST /api/v1/hf/orders/sync":       {class: exchange.ClassTrade, pool: PoolSpot, weight: 1, signed: true, kind: kindOrder, orders: 1},
	"POST /api/v1/hf/orders/test":       {class: exchange.ClassTrade, pool: PoolSpot, weight: 1, signed: true, kind: kindOrder, test: true},
	"POST /api/v1/hf/orders/multi":      {class: exchange.ClassTrade, pool: PoolSpot, weight: 1, signed: true, kind: kindMulti},
	"POST /api/v1/hf/orders/multi/sync": {class: exchange.ClassTrade, pool: PoolSpot, weight: 1, signed: true, kind: kindMulti},
	"POST /api/v1/hf/orders/alter":      {class: exchange.ClassTrade, pool: PoolSpot, weight: 3, signed: true, kind: kindAlter},

	// Value-moving and key-management routes, classified so that the guard
	// refuses them.
	"POST /api/v1/withdrawals":                 {class: exchange.ClassWithdraw, pool: PoolManagement, weight: 5, signed: true},
	"POST /api/v3/withdrawals":                 {class: exchange.ClassWithdraw, pool: PoolManagement, weight: 5, signed: true},
	"POST /api/v2/accounts/inner-transfer":     {class: exchange.ClassTransfer, pool: PoolManagement, weight: 10, signed: true},
	"POST /api/v3/accounts/universal-transfer": {class: exchange.ClassTransfer, pool: PoolManagement, weight: 4, signed: true},
	"POST /api/v2/accounts/sub-transfer":       {class: exchange.ClassTransfer, pool: PoolManagement, weight: 30, signed: true},
	"POST /api/v1/sub/api-key":                 {class: exchange.ClassKeys, pool: PoolManagement, weight: 20, signed: true},
	"POST /api/v1/sub/api-key/update":          {class: exchange.ClassKeys, pool: PoolManagement, weight: 30, signed: true},
	"DELETE /api/v1/sub/api-key":               {class: exchange.ClassKeys, pool: PoolManagement, weight: 30, signed: true},
}

// prefixRoutes classify whole families of refused routes: any method, any
// path at or below the prefix. Exact entries above win.
var prefixRoutes = []struct {
	prefix string
	class  exchange.Class
}{
	{"/api/v1/withdrawals", exchange.ClassWithdraw},
	{"/api/v3/withdrawals", exchange.ClassWithdraw},
	{"/api/v1/accounts/inner-transfer", exchange.ClassTransfer},
	{"/api/v2/accounts/inner-transfer", exchange.ClassTransfer},
	{"/api/v3/accounts/universal-transfer", exchange.ClassTransfer},
	{"/api/v1/accounts/sub-transfer", exchange.ClassTransfer},
	{"/api/v2/accounts/sub-transfer", exchange.ClassTransfer},
	{"/api/v1/sub/api-key", exchange.ClassKeys},
}

// refusedWeight is charged to refused-class routes found by prefix.
const refusedWeight = 1

type routeKey struct{ method, path string }

type namedRoute struct {
	name string
	spec *routeSpec
}

// routes indexes the exact entries of routeTable; templates holds those
// with a path parameter, by method and the path before it.
var routes, templates = func() (map[routeKey]namedRoute, map[routeKey]namedRoute) {
	exact := make(map[routeKey]namedRoute, len(routeTable))
	tmpl := make(map[routeKey]namedRoute)
	for name, spec := range routeTable {
		method, path, _ := strings.Cut(name, " ")
		if i := strings.IndexByte(path, '{'); i >= 0 {
			tmpl[routeKey{method, path[:i]}] = namedRoute{name, spec}
			continue
		}
		exact[routeKey{method, path}] = namedRoute{name, spec}
	}
	return exact, tmpl
}()

// maxIDLen bounds an order id or client order id in a path.
const maxIDLen = 64

// validID reports whether s can be a path parameter: 1 to 64 letters,
// digits, '-' or '_' (nothing that needs escaping or changes the path).
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// lookup finds the route of a method and path. It returns the route's name
// (its table entry, e.g. "DELETE /api/v1/hf/orders/{orderId}") and, for
// templated routes, the path parameter.
func lookup(method, path string) (name string, spec *routeSpec, param string, ok bool) {
	if r, ok := routes[routeKey{method, path}]; ok {
		return r.name, r.spec, "", true
	}
	name = method + " " + path
	if !exchange.CleanPath(path) {
		return name, nil, "", false
	}
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		if r, ok := templates[routeKey{method, path[:i+1]}]; ok && validID(path[i+1:]) {
			return r.name, r.spec, path[i+1:], true
		}
	}
	for _, pr := range prefixRoutes {
		if path == pr.prefix || strings.HasPrefix(path, pr.prefix+"/") {
			return name, &routeSpec{class: pr.class, pool: PoolManagement, weight: refusedWeight, signed: true}, "", true
		}
	}
	return name, nil, "", false
}
