package binance

import (
	"fmt"
	"sort"
	"strings"

	"github.com/keyfence/keyfence/exchange"
)

// routeKind says how the intent of a route is parsed.
type routeKind uint8

const (
	kindNone      routeKind = iota // no orders created (reads, cancels, public, refused classes)
	kindOrder                      // one order from symbol, side, type, ...
	kindAmend                      // quantity reduction of a resting order
	kindOCO                        // orderList/oco: above and below legs
	kindOTO                        // orderList/oto: working and pending legs
	kindOTOCO                      // orderList/otoco: working, pending above and below legs
	kindOPO                        // orderList/opo: like OTO, pending quantity = working quantity
	kindOPOCO                      // orderList/opoco: like OTOCO, pending quantity = working quantity
	kindLegacyOCO                  // order/oco: LIMIT_MAKER leg and stop leg
)

// routeSpec is one entry of the route table.
type routeSpec struct {
	class  exchange.Class
	weight int
	orders int
	signed bool
	kind   routeKind
	test   bool // a venue dry run
	// otherHost names the Binance host that serves a route when it is not
	// the Spot API's (api.binance.com): public market data of another
	// product that clients such as CCXT ask for while loading markets. A
	// Spot base URL does not serve it; see OtherHostAnswer.
	otherHost string
	// keyOnly: the request carries the API key and no signature (the
	// user-data-stream listen key); signed is set too, so that it goes
	// through the Authorizer for its credential.
	keyOnly bool
	sor     bool // smart order routing (LIMIT and MARKET only)
	// weightOf computes a weight that depends on the parameters.
	weightOf func(exchange.Params) int
	// params is the allow-list of parameters of order-creating routes; nil
	// allows any parameter (routes that create nothing).
	params map[string]bool
	// allowed is params for lookups, set up with the routes index.
	allowed *paramSet
}

// paramID numbers a parameter name of the allow-lists, from 1; 0 numbers
// no name. The intent parser finds a request's parameters by number.
type paramID uint8

// maxParamIDs bounds the numbers: every name of every allow-list together
// is numbered below it.
const maxParamIDs = 128

// paramIDs numbers every name of every allow-list, in sorted order.
var paramIDs = func() map[string]paramID {
	var names []string
	seen := make(map[string]bool)
	for _, spec := range routeTable {
		for k, ok := range spec.params {
			if ok && !seen[k] {
				seen[k] = true
				names = append(names, k)
			}
		}
	}
	if len(names) >= maxParamIDs {
		panic("binance: the allow-lists name more parameters than maxParamIDs numbers")
	}
	sort.Strings(names)
	m := make(map[string]paramID, len(names))
	for i, k := range names {
		m[k] = paramID(i + 1)
	}
	return m
}()

// param is a parameter name with its number (0 for a name in no
// allow-list).
type param struct {
	name string
	id   paramID
}

// paramOf returns the parameter named k.
func paramOf(k string) param { return param{k, paramIDs[k]} }

// paramSet is a set of parameter names, looked up by length first: the
// allow-lists hold at most a few names of each length.
type paramSet struct {
	byLen [][]param // names by length
}

// newParamSet returns the set of the keys of m that are true, or nil for a
// nil map.
func newParamSet(m map[string]bool) *paramSet {
	if m == nil {
		return nil
	}
	ps := new(paramSet)
	for k, ok := range m {
		if !ok {
			continue
		}
		for len(ps.byLen) <= len(k) {
			ps.byLen = append(ps.byLen, nil)
		}
		ps.byLen[len(k)] = append(ps.byLen[len(k)], paramOf(k))
	}
	return ps
}

// has reports whether k is in the set.
func (ps *paramSet) has(k string) bool {
	_, ok := ps.id(k)
	return ok
}

// id returns the number of k and whether k is in the set.
func (ps *paramSet) id(k string) (paramID, bool) {
	if len(k) >= len(ps.byLen) {
		return 0, false
	}
	for _, c := range ps.byLen[len(k)] {
		if c.name == k {
			return c.id, true
		}
	}
	return 0, false
}

// The route table: every endpoint the client uses and every endpoint that
// creates orders, with the request weight and unfilled-order count from the
// Binance Spot REST documentation. Anything else is refused.
var routeTable = map[string]*routeSpec{
	// Public market data: unsigned.
	"GET /api/v3/ping":                   {class: exchange.ClassPublic, weight: 1},
	"GET /api/v3/time":                   {class: exchange.ClassPublic, weight: 1},
	"GET /api/v3/exchangeInfo":           {class: exchange.ClassPublic, weight: 20},
	"GET /api/v3/ticker/bookTicker":      {class: exchange.ClassPublic, weightOf: symbolWeight(2, 4)},
	"GET /api/v3/ticker/price":           {class: exchange.ClassPublic, weightOf: symbolWeight(2, 4)},
	"GET /api/v3/depth":                  {class: exchange.ClassPublic, weightOf: depthWeight},
	"GET /api/v3/avgPrice":               {class: exchange.ClassPublic, weight: 2},
	"GET /api/v3/klines":                 {class: exchange.ClassPublic, weight: 2},
	"GET /api/v3/ticker/24hr":            {class: exchange.ClassPublic, weightOf: symbolWeight(2, 80)},
	"GET /api/v3/trades":                 {class: exchange.ClassPublic, weight: 25},
	"GET /api/v3/aggTrades":              {class: exchange.ClassPublic, weight: 4},
	"GET /sapi/v1/capital/config/getall": {class: exchange.ClassRead, weight: 10, signed: true},
	// The margin pair lists (read by CCXT's loadMarkets): reads on the Spot
	// host; a spot-only account gets the venue's lists, which name pairs
	// and trade nothing.
	"GET /sapi/v1/margin/allPairs":          {class: exchange.ClassRead, weight: 1, signed: true},
	"GET /sapi/v1/margin/isolated/allPairs": {class: exchange.ClassRead, weight: 10, signed: true},
	// The futures exchangeInfo of USDⓈ-M (fapi.binance.com) and COIN-M
	// (dapi.binance.com), read by CCXT's loadMarkets: public, served by
	// another host than the Spot API.
	"GET /fapi/v1/exchangeInfo":            {class: exchange.ClassPublic, weight: 1, otherHost: "fapi.binance.com"},
	"GET /dapi/v1/exchangeInfo":            {class: exchange.ClassPublic, weight: 1, otherHost: "dapi.binance.com"},
	"GET /api/v3/account":                  {class: exchange.ClassRead, weight: 20, signed: true},
	"GET /api/v3/myTrades":                 {class: exchange.ClassRead, weightOf: myTradesWeight, signed: true},
	"GET /api/v3/openOrders":               {class: exchange.ClassRead, weightOf: symbolWeight(6, 80), signed: true},
	"GET /api/v3/allOrders":                {class: exchange.ClassRead, weight: 20, signed: true},
	"GET /api/v3/order":                    {class: exchange.ClassRead, weight: 4, signed: true},
	"GET /api/v3/orderList":                {class: exchange.ClassRead, weight: 4, signed: true},
	"GET /api/v3/openOrderList":            {class: exchange.ClassRead, weight: 6, signed: true},
	"GET /api/v3/rateLimit/order":          {class: exchange.ClassRead, weight: 40, signed: true},
	"GET /sapi/v1/account/apiRestrictions": {class: exchange.ClassRead, weight: 1, signed: true},
	// The user-data-stream listen key: API key only.
	"POST /api/v3/userDataStream":   {class: exchange.ClassRead, weight: 2, signed: true, keyOnly: true},
	"PUT /api/v3/userDataStream":    {class: exchange.ClassRead, weight: 2, signed: true, keyOnly: true},
	"DELETE /api/v3/userDataStream": {class: exchange.ClassRead, weight: 2, signed: true, keyOnly: true},

	// Cancels.
	"DELETE /api/v3/order":      {class: exchange.ClassCancel, weight: 1, signed: true},
	"DELETE /api/v3/openOrders": {class: exchange.ClassCancel, weight: 1, signed: true},
	"DELETE /api/v3/orderList":  {class: exchange.ClassCancel, weight: 1, signed: true},

	// Every route that creates or changes orders.
	"POST /api/v3/order":                   {class: exchange.ClassTrade, weight: 1, orders: 1, signed: true, kind: kindOrder, params: orderParams},
	"POST /api/v3/order/test":              {class: exchange.ClassTrade, weightOf: testWeight, signed: true, kind: kindOrder, test: true, params: orderTestParams},
	"POST /api/v3/order/cancelReplace":     {class: exchange.ClassTrade, weight: 1, orders: 1, signed: true, kind: kindOrder, params: cancelReplaceParams},
	"PUT /api/v3/order/amend/keepPriority": {class: exchange.ClassTrade, weight: 4, signed: true, kind: kindAmend, params: amendParams},
	"POST /api/v3/orderList/oco":           {class: exchange.ClassTrade, weight: 1, orders: 2, signed: true, kind: kindOCO, params: ocoParams},
	"POST /api/v3/orderList/oto":           {class: exchange.ClassTrade, weight: 1, orders: 2, signed: true, kind: kindOTO, params: otoParams},
	"POST /api/v3/orderList/otoco":         {class: exchange.ClassTrade, weight: 1, orders: 3, signed: true, kind: kindOTOCO, params: otocoParams},
	"POST /api/v3/orderList/opo":           {class: exchange.ClassTrade, weight: 1, orders: 2, signed: true, kind: kindOPO, params: opoParams},
	"POST /api/v3/orderList/opoco":         {class: exchange.ClassTrade, weight: 1, orders: 3, signed: true, kind: kindOPOCO, params: opocoParams},
	"POST /api/v3/order/oco":               {class: exchange.ClassTrade, weight: 1, orders: 2, signed: true, kind: kindLegacyOCO, params: legacyOCOParams},
	"POST /api/v3/sor/order":               {class: exchange.ClassTrade, weight: 1, orders: 1, signed: true, kind: kindOrder, sor: true, params: sorParams},
	"POST /api/v3/sor/order/test":          {class: exchange.ClassTrade, weightOf: testWeight, signed: true, kind: kindOrder, sor: true, test: true, params: sorTestParams},

	// Value-moving and key-management routes, classified so that the guard
	// refuses them (unless a policy explicitly allows the class).
	"POST /sapi/v1/capital/withdraw/apply":                       {class: exchange.ClassWithdraw, weight: 900, signed: true},
	"POST /sapi/v1/asset/transfer":                               {class: exchange.ClassTransfer, weight: 900, signed: true},
	"POST /sapi/v1/sub-account/universalTransfer":                {class: exchange.ClassTransfer, weight: 360, signed: true},
	"POST /sapi/v1/sub-account/futures/transfer":                 {class: exchange.ClassTransfer, weight: 1, signed: true},
	"POST /sapi/v1/sub-account/margin/transfer":                  {class: exchange.ClassTransfer, weight: 1, signed: true},
	"POST /sapi/v1/sub-account/futures/internalTransfer":         {class: exchange.ClassTransfer, weight: 1, signed: true},
	"POST /sapi/v1/sub-account/virtualSubAccount":                {class: exchange.ClassKeys, weight: 1, signed: true},
	"POST /sapi/v1/futures/transfer":                             {class: exchange.ClassTransfer, weight: 1, signed: true},
	"POST /sapi/v1/margin/transfer":                              {class: exchange.ClassTransfer, weight: 600, signed: true},
	"POST /sapi/v1/capital/withdraw/cancel":                      {class: exchange.ClassWithdraw, weight: 1, signed: true},
	"POST /sapi/v1/localentity/withdraw/apply":                   {class: exchange.ClassWithdraw, weight: 600, signed: true},
	"POST /sapi/v1/account/apiRestrictions/ipRestriction":        {class: exchange.ClassKeys, weight: 1, signed: true},
	"POST /sapi/v1/account/apiRestrictions/ipRestriction/ipList": {class: exchange.ClassKeys, weight: 1, signed: true},
}

// prefixRoutes classify whole families of refused routes: any method, any
// path below the prefix. Exact entries above win.
var prefixRoutes = []struct {
	prefix string
	class  exchange.Class
}{
	{"/sapi/v1/capital/withdraw/", exchange.ClassWithdraw},
	{"/sapi/v1/giftcard/", exchange.ClassWithdraw},
	{"/sapi/v1/pay/", exchange.ClassWithdraw},
	{"/sapi/v1/sub-account/transfer/", exchange.ClassTransfer},
	{"/sapi/v1/sub-account/subAccountApi/", exchange.ClassKeys},
	{"/sapi/v2/sub-account/subAccountApi/", exchange.ClassKeys},
}

// refusedWeight is the weight charged to refused-class routes found by
// prefix; they are never meant to be sent.
const refusedWeight = 1

func symbolWeight(one, all int) func(exchange.Params) int {
	return func(p exchange.Params) int {
		if p.Has("symbol") || p.Has("symbols") {
			return one
		}
		return all
	}
}

// depthWeight is the weight of the dearest limit given (100 when none).
func depthWeight(p exchange.Params) int {
	w := depthLimitWeight("")
	for _, kv := range p {
		if kv.Key == "limit" {
			w = max(w, depthLimitWeight(kv.Value))
		}
	}
	return w
}

func depthLimitWeight(v string) int {
	n := 100
	if v != "" {
		if _, err := fmt.Sscanf(v, "%d", &n); err != nil {
			n = 5000
		}
	}
	switch {
	case n <= 100:
		return 5
	case n <= 500:
		return 25
	case n <= 1000:
		return 50
	}
	return 250
}

func myTradesWeight(p exchange.Params) int {
	if p.Has("orderId") {
		return 5
	}
	return 20
}

func testWeight(p exchange.Params) int {
	for _, kv := range p {
		if kv.Key == "computeCommissionRates" && kv.Value == "true" {
			return 20
		}
	}
	return 1
}

// weightFor returns the request weight of req on this route: the fixed
// weight, or the largest weightOf gives the query alone and the query with
// the body. Binance reads both, so a parameter in the body that raises the
// weight counts; one that lowers it (an orderId, a symbol) counts only
// when the query alone has it.
func (spec *routeSpec) weightFor(req *exchange.Request) int {
	if spec.weightOf == nil {
		return spec.weight
	}
	w := spec.weightOf(req.Params)
	if len(req.Body) > 0 {
		if body, err := exchange.ParseParams(string(req.Body)); err == nil && len(body) > 0 {
			all := append(append(make(exchange.Params, 0, len(req.Params)+len(body)), req.Params...), body...)
			w = max(w, spec.weightOf(all))
		}
	}
	return w
}

// routeKey indexes the route table without building the route's name.
type routeKey struct{ method, path string }

// routes is routeTable indexed by method and path, with each route's name.
var routes = func() map[routeKey]*namedRoute {
	m := make(map[routeKey]*namedRoute, len(routeTable))
	for name, spec := range routeTable {
		spec.allowed = newParamSet(spec.params)
		method, path, _ := strings.Cut(name, " ")
		m[routeKey{method, path}] = &namedRoute{routeKey{method, path}, name, spec}
	}
	return m
}()

type namedRoute struct {
	key  routeKey
	name string
	spec *routeSpec
}

// lookup finds the route of a method and path like the package-level
// lookup. The Scheme remembers the last route of the table it found:
// Classify, Intent, Prepare and Sign of one request look up the same one.
func (s *Scheme) lookup(method, path string) (string, *routeSpec, bool) {
	if r := s.lastRoute.Load(); r != nil && r.key.method == method && r.key.path == path {
		return r.name, r.spec, true
	}
	if r, ok := routes[routeKey{method, path}]; ok {
		s.lastRoute.Store(r)
		return r.name, r.spec, true
	}
	return lookup(method, path)
}

// lookup finds the route of a method and path.
func lookup(method, path string) (string, *routeSpec, bool) {
	if r, ok := routes[routeKey{method, path}]; ok {
		return r.name, r.spec, true
	}
	name := method + " " + path
	if !exchange.CleanPath(path) {
		return name, nil, false
	}
	for _, pr := range prefixRoutes {
		if strings.HasPrefix(path, pr.prefix) {
			return name, &routeSpec{class: pr.class, weight: refusedWeight, signed: true}, true
		}
	}
	return name, nil, false
}

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func union(sets ...map[string]bool) map[string]bool {
	m := make(map[string]bool)
	for _, s := range sets {
		for k := range s {
			m[k] = true
		}
	}
	return m
}

// legParams lists the parameters of one order-list leg with a prefix
// ("above" gives aboveType, abovePrice, ...).
func legParams(prefix string, extra ...string) map[string]bool {
	m := set(extra...)
	for _, k := range []string{"Type", "ClientOrderId", "IcebergQty", "Price", "StopPrice", "TrailingDelta",
		"TimeInForce", "StrategyId", "StrategyType"} {
		m[prefix+k] = true
	}
	return m
}

// Parameters of order-creating routes. Pegged orders (pegPriceType,
// pegOffsetValue, pegOffsetType) are left out on purpose: their price is set
// by the venue, so the guard cannot check it.
var (
	commonParams = set("symbol", "newOrderRespType", "selfTradePreventionMode", "recvWindow", "timestamp")
	orderParams  = union(commonParams, set("side", "type", "timeInForce", "quantity", "quoteOrderQty", "price",
		"newClientOrderId", "strategyId", "strategyType", "stopPrice", "trailingDelta", "icebergQty"))
	orderTestParams     = union(orderParams, set("computeCommissionRates"))
	cancelReplaceParams = union(orderParams, set("cancelReplaceMode", "cancelNewClientOrderId", "cancelOrigClientOrderId",
		"cancelOrderId", "cancelRestrictions", "orderRateLimitExceededMode"))
	amendParams     = set("symbol", "orderId", "origClientOrderId", "newClientOrderId", "newQty", "recvWindow", "timestamp")
	listParams      = union(commonParams, set("listClientOrderId"))
	ocoParams       = union(listParams, set("side", "quantity"), legParams("above"), legParams("below"))
	workingParams   = legParams("working", "workingSide", "workingQuantity")
	otoParams       = union(listParams, workingParams, legParams("pending", "pendingSide", "pendingQuantity"))
	otocoParams     = union(listParams, workingParams, set("pendingSide", "pendingQuantity"), legParams("pendingAbove"), legParams("pendingBelow"))
	opoParams       = union(listParams, workingParams, legParams("pending", "pendingSide"))
	opocoParams     = union(listParams, workingParams, set("pendingSide"), legParams("pendingAbove"), legParams("pendingBelow"))
	legacyOCOParams = union(listParams, set("side", "quantity", "limitClientOrderId", "price", "limitIcebergQty",
		"limitStrategyId", "limitStrategyType", "trailingDelta", "stopClientOrderId", "stopPrice", "stopStrategyId",
		"stopStrategyType", "stopLimitPrice", "stopIcebergQty", "stopLimitTimeInForce"))
	sorParams = union(commonParams, set("side", "type", "timeInForce", "quantity", "price", "newClientOrderId",
		"strategyId", "strategyType", "icebergQty"))
	sorTestParams = union(sorParams, set("computeCommissionRates"))
)
