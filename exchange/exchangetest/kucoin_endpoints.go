package exchangetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// The JSON shapes below follow KuCoin's Spot HF REST documentation:
// {"code":"200000","data":...}, decimals as strings, times in Unix
// milliseconds. Order errors on the HF routes are answered with HTTP 200
// and an error code, as the venue does.

// kcEndpoint is one route of the simulated API.
type kcEndpoint struct {
	pool   string
	weight int
	signed bool
	perm   kcPerm
	handle func(k *KuCoin, c *kcCall) (any, *kcError)
}

// kcCall is one request being served.
type kcCall struct {
	w      http.ResponseWriter
	r      *http.Request
	body   []byte
	query  exchange.Params
	param  string // path parameter of templated routes
	apiKey string
	key    *kcKeyEntry
	ep     *kcEndpoint
}

var kcRoutes = map[string]*kcEndpoint{
	"GET /api/v1/timestamp":                      {pool: kcPoolPublic, weight: 3, handle: (*KuCoin).timestamp},
	"GET /api/v2/symbols":                        {pool: kcPoolPublic, weight: 4, handle: (*KuCoin).symbolList},
	"GET /api/v1/market/orderbook/level1":        {pool: kcPoolPublic, weight: 2, handle: (*KuCoin).level1},
	"GET /api/v1/accounts":                       {pool: kcPoolManagement, weight: 5, signed: true, perm: kcPermGeneral, handle: (*KuCoin).accounts},
	"GET /api/v1/user/api-key":                   {pool: kcPoolManagement, weight: 20, signed: true, handle: (*KuCoin).apiKeyInfo},
	"POST /api/v1/hf/orders":                     {pool: kcPoolSpot, weight: 1, signed: true, perm: kcPermSpot, handle: kcPlace(false, false)},
	"POST /api/v1/hf/orders/sync":                {pool: kcPoolSpot, weight: 1, signed: true, perm: kcPermSpot, handle: kcPlace(true, false)},
	"POST /api/v1/hf/orders/test":                {pool: kcPoolSpot, weight: 1, signed: true, perm: kcPermSpot, handle: kcPlace(false, true)},
	"POST /api/v1/hf/orders/multi":               {pool: kcPoolSpot, weight: 1, signed: true, perm: kcPermSpot, handle: kcMulti(false)},
	"POST /api/v1/hf/orders/multi/sync":          {pool: kcPoolSpot, weight: 1, signed: true, perm: kcPermSpot, handle: kcMulti(true)},
	"GET /api/v1/hf/orders/active":               {pool: kcPoolSpot, weight: 2, signed: true, perm: kcPermGeneral, handle: (*KuCoin).activeOrders},
	"GET /api/v1/hf/fills":                       {pool: kcPoolSpot, weight: 2, signed: true, perm: kcPermGeneral, handle: (*KuCoin).fills},
	"GET /api/v1/hf/orders/{id}":                 {pool: kcPoolSpot, weight: 2, signed: true, perm: kcPermGeneral, handle: kcGetOrder(false)},
	"GET /api/v1/hf/orders/client-order/{id}":    {pool: kcPoolSpot, weight: 2, signed: true, perm: kcPermGeneral, handle: kcGetOrder(true)},
	"DELETE /api/v1/hf/orders/{id}":              {pool: kcPoolSpot, weight: 1, signed: true, perm: kcPermSpot, handle: kcCancel(false)},
	"DELETE /api/v1/hf/orders/client-order/{id}": {pool: kcPoolSpot, weight: 1, signed: true, perm: kcPermSpot, handle: kcCancel(true)},
	"DELETE /api/v1/hf/orders":                   {pool: kcPoolSpot, weight: 2, signed: true, perm: kcPermSpot, handle: (*KuCoin).cancelSymbol},
	"DELETE /api/v1/hf/orders/cancelAll":         {pool: kcPoolSpot, weight: 30, signed: true, perm: kcPermSpot, handle: (*KuCoin).cancelEverything},
	"POST /api/v1/withdrawals":                   {pool: kcPoolManagement, weight: 5, signed: true, perm: kcPermWithdraw, handle: kcWithdraw("address")},
	"POST /api/v3/withdrawals":                   {pool: kcPoolManagement, weight: 5, signed: true, perm: kcPermWithdraw, handle: kcWithdraw("toAddress")},
	"POST /api/v2/accounts/inner-transfer":       {pool: kcPoolManagement, weight: 10, signed: true, perm: kcPermTransfer, handle: (*KuCoin).innerTransfer},

	"GET /api/v1/market/allTickers":           {pool: kcPoolPublic, weight: 15, handle: (*KuCoin).allTickers},
	"GET /api/v1/market/stats":                {pool: kcPoolPublic, weight: 15, handle: (*KuCoin).marketStats},
	"GET /api/v1/market/orderbook/level2_20":  {pool: kcPoolPublic, weight: 2, handle: kcOrderBook(20)},
	"GET /api/v1/market/orderbook/level2_100": {pool: kcPoolPublic, weight: 4, handle: kcOrderBook(100)},
	"GET /api/v3/market/orderbook/level2":     {pool: kcPoolSpot, weight: 3, signed: true, perm: kcPermGeneral, handle: kcOrderBook(wholeBook)},
	"GET /api/v1/market/candles":              {pool: kcPoolPublic, weight: 3, handle: (*KuCoin).candles},
	"GET /api/v1/market/histories":            {pool: kcPoolPublic, weight: 3, handle: (*KuCoin).histories},
	"GET /api/v3/currencies":                  {pool: kcPoolPublic, weight: 3, handle: (*KuCoin).currencies},
	"GET /api/v3/currencies/{id}":             {pool: kcPoolPublic, weight: 3, handle: (*KuCoin).currency},
	"GET /api/v1/contracts/active":            {pool: kcPoolPublic, weight: 3, handle: (*KuCoin).contractsActive},
	"GET /api/ua/v1/account/mode":             {pool: kcPoolManagement, weight: 30, signed: true, perm: kcPermGeneral, handle: (*KuCoin).accountMode},
	"GET /api/v1/hf/accounts/opened":          {pool: kcPoolSpot, weight: 2, signed: true, perm: kcPermGeneral, handle: (*KuCoin).hfOpened},
	"GET /api/v3/margin/symbols":              {pool: kcPoolSpot, weight: 3, signed: true, perm: kcPermGeneral, handle: (*KuCoin).marginSymbols},
	"GET /api/v1/isolated/symbols":            {pool: kcPoolSpot, weight: 20, signed: true, perm: kcPermGeneral, handle: (*KuCoin).isolatedSymbols},
	"GET /api/v1/trade-fees":                  {pool: kcPoolSpot, weight: 3, signed: true, perm: kcPermGeneral, handle: (*KuCoin).tradeFees},
	"GET /api/v1/base-fee":                    {pool: kcPoolSpot, weight: 3, signed: true, perm: kcPermGeneral, handle: (*KuCoin).baseFee},
	"GET /api/v1/hf/orders/done":              {pool: kcPoolSpot, weight: 2, signed: true, perm: kcPermGeneral, handle: (*KuCoin).doneOrders},
	"GET /api/v2/symbols/{id}":                {pool: kcPoolPublic, weight: 4, handle: (*KuCoin).symbolOne},
	"GET /api/v1/status":                      {pool: kcPoolPublic, weight: 3, handle: (*KuCoin).status},
	"GET /api/v1/hf/orders/active/symbols":    {pool: kcPoolSpot, weight: 2, signed: true, perm: kcPermGeneral, handle: (*KuCoin).activeSymbols},
}

// kcRoute finds the endpoint of a request and its path parameter.
func kcRoute(method, path string) (*kcEndpoint, string) {
	if ep := kcRoutes[method+" "+path]; ep != nil {
		return ep, ""
	}
	for _, prefix := range []string{"/api/v1/hf/orders/client-order/", "/api/v1/hf/orders/", "/api/v3/currencies/", "/api/v2/symbols/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok && rest != "" && !strings.Contains(rest, "/") {
			name := "{id}"
			if ep := kcRoutes[method+" "+prefix+name]; ep != nil {
				return ep, rest
			}
		}
	}
	return nil, ""
}

// ServeHTTP serves the simulated API.
func (k *KuCoin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.requests.Add(1)
	c := &kcCall{w: w, r: r}
	status, code := k.serve(c)
	k.log.LogAttrs(r.Context(), slog.LevelInfo, "kucoin sim",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.String("code", code), slog.String("apiKey", c.apiKey))
}

func (k *KuCoin) serve(c *kcCall) (int, string) {
	ep, param := kcRoute(c.r.Method, c.r.URL.Path)
	if ep == nil {
		return k.fail(c, &kcError{http.StatusNotFound, "404", "Not Found"})
	}
	c.ep, c.param = ep, param
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxRequestBody+1))
	if err != nil || len(body) > maxRequestBody {
		return k.fail(c, &kcError{http.StatusBadRequest, "400100", "Request body unreadable or too large."})
	}
	c.body = body
	q, err := exchange.ParseParams(c.r.URL.RawQuery)
	if err != nil {
		return k.fail(c, &kcError{http.StatusBadRequest, "400100", "Invalid query string."})
	}
	c.query = q
	who := ""
	if ep.signed {
		if aerr := k.authenticate(c); aerr != nil {
			return k.fail(c, aerr)
		}
		who = c.apiKey
	} else {
		who = remoteIP(c.r)
	}
	if aerr := k.spend(ep.pool, who, ep.weight, c.w.Header()); aerr != nil {
		return k.fail(c, aerr)
	}
	data, aerr := ep.handle(k, c)
	if aerr != nil {
		return k.fail(c, aerr)
	}
	kcWrite(c.w, http.StatusOK, struct {
		Code string `json:"code"`
		Data any    `json:"data"`
	}{"200000", data})
	return http.StatusOK, "200000"
}

func (k *KuCoin) fail(c *kcCall, e *kcError) (int, string) {
	if e.status == 0 {
		if dropConnection(c.w) {
			return 0, ""
		}
		e = &kcError{http.StatusServiceUnavailable, "503000", "Service Unavailable"}
	}
	switch {
	case e.status == http.StatusTooManyRequests:
		k.n429.Add(1)
	case e.status == http.StatusUnauthorized:
		k.n401.Add(1)
	}
	kcWrite(c.w, e.status, struct {
		Code string `json:"code"`
		Msg  string `json:"msg"`
	}{e.code, e.msg})
	return e.status, e.code
}

// kcReject is an order refusal: HTTP 200 with an error code.
func kcReject(code, msg string) *kcError { return &kcError{http.StatusOK, code, msg} }

func kcFx(d decimal.Decimal) string { return d.String() }

// kcOrderID formats a market order id as a KuCoin order id (24 hex digits).
func kcOrderID(id int64) string { return fmt.Sprintf("6%023x", id) }

func kcParseOrderID(s string) (int64, bool) {
	if len(s) != 24 || s[0] != '6' {
		return 0, false
	}
	n, err := strconv.ParseInt(s[1:], 16, 64)
	return n, err == nil && n > 0
}

func (k *KuCoin) timestamp(*kcCall) (any, *kcError) { return k.now().UnixMilli(), nil }

func (k *KuCoin) symbolList(*kcCall) (any, *kcError) {
	var out []map[string]any
	for _, s := range k.mkt.symbolList() {
		out = append(out, kcSymbolJSON(s))
	}
	return out, nil
}

// symbolOne serves GET /api/v2/symbols/{symbol} (spot-trading/
// market-data/get-symbol); an unknown symbol is data null.
func (k *KuCoin) symbolOne(c *kcCall) (any, *kcError) {
	s, ok := k.mkt.symbol(c.param)
	if !ok {
		return nil, nil
	}
	return kcSymbolJSON(s), nil
}

// kcSymbolJSON is a symbol as KuCoin lists it (spot-trading/market-data/
// get-all-symbols).
func kcSymbolJSON(s Symbol) map[string]any {
	f := s.Filters
	return map[string]any{
		"symbol": s.Symbol, "name": s.Symbol, "baseCurrency": s.Base, "quoteCurrency": s.Quote,
		"feeCurrency": s.Quote, "market": s.Quote,
		"baseMinSize": kcFx(f.MinQty), "quoteMinSize": kcFx(f.MinNotional),
		"baseMaxSize": kcFx(f.MaxQty), "quoteMaxSize": kcFx(f.MaxNotional),
		"baseIncrement": kcFx(f.StepSize), "quoteIncrement": kcFx(f.QuoteStep),
		"priceIncrement": kcFx(f.TickSize), "priceLimitRate": "0.1", "minFunds": kcFx(f.MinNotional),
		"isMarginEnabled": false, "enableTrading": !s.Halted,
	}
}

func (k *KuCoin) level1(c *kcCall) (any, *kcError) {
	sym, _ := c.query.Get("symbol")
	bid, ask, depth, ok := k.mkt.quote(sym)
	if !ok {
		return nil, nil // KuCoin answers data null for an unknown symbol
	}
	s, _ := k.mkt.symbol(sym)
	size := "1000000"
	if depth.Sign() > 0 {
		size = kcFx(depth)
	}
	return map[string]any{
		"time": k.now().UnixMilli(), "sequence": "1", "price": kcFx(s.Price), "size": "0",
		"bestBid": kcFx(bid), "bestBidSize": size, "bestAsk": kcFx(ask), "bestAskSize": size,
	}, nil
}

// accounts serves GET /api/v1/accounts (account-info/account-funding/
// get-account-list-spot). The simulator holds a key's funds in its
// trading account, which the high-frequency routes trade from: type
// "trade" and "trade_hf" both list it (with the type asked for), "main",
// "margin" and the other types are empty, and no type lists the trading
// account once.
func (k *KuCoin) accounts(c *kcCall) (any, *kcError) {
	typ, _ := c.query.Get("type")
	cur, _ := c.query.Get("currency")
	out := []map[string]any{}
	switch typ {
	case "":
		typ = "trade"
	case "trade", "trade_hf":
	case "main", "margin", "isolated", "margin_v2", "isolated_v2", "contract", "pool", "option":
		return out, nil
	default:
		return nil, kcReject("400100", "type invalid")
	}
	for i, b := range k.mkt.balances(c.apiKey) {
		if cur != "" && b.Asset != cur {
			continue
		}
		out = append(out, map[string]any{
			"id": fmt.Sprintf("5%023x", i+1), "currency": b.Asset, "type": typ,
			"balance": kcFx(b.Total()), "available": kcFx(b.Free), "holds": kcFx(b.Locked),
		})
	}
	return out, nil
}

func (k *KuCoin) apiKeyInfo(c *kcCall) (any, *kcError) {
	key := c.key.key
	p := key.Permissions
	var perms []string
	if p.Read {
		perms = append(perms, "General")
	}
	if p.Trade {
		perms = append(perms, "Spot")
	}
	if p.Transfer {
		perms = append(perms, "InnerTransfer")
	}
	if p.Withdraw {
		perms = append(perms, "Withdrawal")
	}
	perms = append(perms, p.Other...)
	v, _ := strconv.Atoi(key.Version)
	return map[string]any{
		"remark": "keyfence simulator", "apiKey": key.APIKey, "apiVersion": v,
		"permission": strings.Join(perms, ","), "ipWhitelist": strings.Join(key.IPWhitelist, ","),
		"createdAt": c.key.created.UnixMilli(), "uid": 1, "isMaster": true,
	}, nil
}

// kcDecimalRE admits plain decimals: digits, optionally a dot and digits.
var kcDecimalRE = regexp.MustCompile(`^[0-9]{1,20}(\.[0-9]{1,20})?$`)

// kcOrderReq is an order as the simulator parsed it.
type kcOrderReq struct {
	place placeRequest
	meta  kcOrderMeta
}

// kcString reads a JSON string or number field as text.
func kcString(m map[string]json.RawMessage, key string) (string, bool) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return string(raw), true
}

func kcDecimal(m map[string]json.RawMessage, key string) (decimal.Decimal, bool, *kcError) {
	v, ok := kcString(m, key)
	if !ok {
		return decimal.Decimal{}, false, nil
	}
	if !kcDecimalRE.MatchString(v) {
		return decimal.Decimal{}, false, kcReject("400100", key+" is invalid")
	}
	d, err := decimal.NewFromString(v)
	if err != nil || d.Sign() <= 0 {
		return decimal.Decimal{}, false, kcReject("400100", key+" is invalid")
	}
	return d, true, nil
}

// parseOrder reads one order object as the HF routes take it.
func (k *KuCoin) parseOrder(account string, raw []byte, test bool) (kcOrderReq, *kcError) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return kcOrderReq{}, kcReject("400100", "Request body is not a JSON object")
	}
	var r kcOrderReq
	r.place.account, r.place.test = account, test
	r.place.symbol, _ = kcString(m, "symbol")
	s, ok := k.mkt.symbol(r.place.symbol)
	if !ok {
		return r, kcReject("400100", "Unsupported trading pair.")
	}
	r.place.clientID, _ = kcString(m, "clientOid")
	if len(r.place.clientID) > 40 {
		return r, kcReject("400100", "clientOid is invalid")
	}
	switch side, _ := kcString(m, "side"); side {
	case "buy":
		r.place.side = exchange.Buy
	case "sell":
		r.place.side = exchange.Sell
	default:
		return r, kcReject("400100", "side is invalid")
	}
	price, hasPrice, aerr := kcDecimal(m, "price")
	if aerr != nil {
		return r, aerr
	}
	size, hasSize, aerr := kcDecimal(m, "size")
	if aerr != nil {
		return r, aerr
	}
	funds, hasFunds, aerr := kcDecimal(m, "funds")
	if aerr != nil {
		return r, aerr
	}
	postOnly := string(m["postOnly"]) == "true"
	switch typ, _ := kcString(m, "type"); typ {
	case "limit":
		if !hasPrice || !hasSize || hasFunds {
			return r, kcReject("400100", "limit orders need price and size")
		}
		r.place.typ, r.place.price, r.place.qty = exchange.Limit, price, size
		tif, _ := kcString(m, "timeInForce")
		switch tif {
		case "", "GTC", "GTT":
			r.meta.tif = "GTC"
			if tif == "GTT" {
				r.meta.tif = "GTT"
			}
			r.place.tif = exchange.GTC
		case "IOC", "FOK":
			r.meta.tif, r.place.tif = tif, exchange.TimeInForce(tif)
		default:
			return r, kcReject("400100", "timeInForce is invalid")
		}
		if postOnly {
			if r.place.tif != exchange.GTC {
				return r, kcReject("400100", "postOnly is not allowed with IOC or FOK")
			}
			r.place.typ, r.meta.postOnly = exchange.LimitMaker, true
		}
	case "market":
		if hasPrice || hasSize == hasFunds {
			return r, kcReject("400100", "market orders need size or funds")
		}
		r.place.typ, r.meta.tif = exchange.Market, "GTC"
		if hasFunds {
			f := s.Filters
			if (f.MinNotional.Sign() > 0 && funds.LessThan(f.MinNotional)) ||
				(f.MaxNotional.Sign() > 0 && funds.GreaterThan(f.MaxNotional)) ||
				(f.QuoteStep.Sign() > 0 && !funds.Mod(f.QuoteStep).IsZero()) {
				return r, kcReject("400100", "Order funds invalid.")
			}
			r.place.quoteQty = funds
		} else {
			r.place.qty = size
		}
	default:
		return r, kcReject("400100", "type is invalid")
	}
	r.meta.remark, _ = kcString(m, "remark")
	return r, nil
}

func kcMarketError(err error) *kcError {
	var fe *filterError
	switch {
	case errors.Is(err, errInsufficient):
		return kcReject("200004", "Balance insufficient!")
	case errors.Is(err, errUnknownSymbol):
		return kcReject("400100", "Unsupported trading pair.")
	case errors.Is(err, errHalted):
		return kcReject("400100", "Trading is suspended for this symbol.")
	case errors.Is(err, errWouldTake):
		return kcReject("400100", "Post only order would take liquidity and was rejected.")
	case errors.Is(err, errDuplicateOrder):
		return kcReject("400100", "The clientOid is duplicated.")
	case errors.As(err, &fe):
		return kcReject("400100", "Order parameter invalid ("+fe.filter+").")
	}
	return &kcError{http.StatusInternalServerError, "500000", "Internal Server Error"}
}

// execute places a parsed order and returns its answer.
func (k *KuCoin) execute(r kcOrderReq, sync bool) (map[string]any, *kcError) {
	o, err := k.mkt.place(r.place)
	if err != nil {
		return nil, kcMarketError(err)
	}
	if r.place.test {
		return map[string]any{"orderId": kcOrderID(1 << 40), "clientOid": r.place.clientID}, nil
	}
	k.placed.Add(1)
	meta := r.meta
	k.mu.Lock()
	k.meta[o.id] = &meta
	k.mu.Unlock()
	ans := map[string]any{"orderId": kcOrderID(o.id), "clientOid": o.clientID}
	if sync {
		status := "done"
		if o.status.Open() {
			status = "open"
		}
		remain := o.qty.Sub(o.executed)
		if !o.status.Open() {
			remain = decimal.Zero
		}
		ans["orderTime"], ans["matchTime"] = o.created.UnixMilli(), o.updated.UnixMilli()
		ans["originSize"], ans["dealSize"], ans["remainSize"] = kcFx(o.qty), kcFx(o.executed), kcFx(remain)
		ans["canceledSize"] = kcFx(o.qty.Sub(o.executed).Sub(remain))
		ans["originFunds"], ans["dealFunds"] = kcFx(o.quoteQty), kcFx(o.executedQuo)
		ans["status"] = status
	}
	return ans, nil
}

func kcPlace(sync, test bool) func(k *KuCoin, c *kcCall) (any, *kcError) {
	return func(k *KuCoin, c *kcCall) (any, *kcError) {
		r, aerr := k.parseOrder(c.apiKey, c.body, test)
		if aerr != nil {
			return nil, aerr
		}
		fr, failing := failRule{}, false
		if !test {
			fr, failing = k.nextFail()
		}
		if failing && !fr.execute {
			return nil, kcInjected(fr.status)
		}
		ans, aerr := k.execute(r, sync)
		if aerr != nil {
			return nil, aerr
		}
		if failing {
			return nil, kcInjected(fr.status)
		}
		return ans, nil
	}
}

func kcInjected(status int) *kcError {
	if status == 0 {
		return &kcError{status: 0}
	}
	return &kcError{status, strconv.Itoa(status) + "000", http.StatusText(status)}
}

func kcMulti(sync bool) func(k *KuCoin, c *kcCall) (any, *kcError) {
	return func(k *KuCoin, c *kcCall) (any, *kcError) {
		var body struct {
			OrderList []json.RawMessage `json:"orderList"`
		}
		if err := json.Unmarshal(c.body, &body); err != nil || len(body.OrderList) == 0 || len(body.OrderList) > 20 {
			return nil, kcReject("400100", "orderList is invalid")
		}
		out := make([]map[string]any, 0, len(body.OrderList))
		for _, raw := range body.OrderList {
			r, aerr := k.parseOrder(c.apiKey, raw, false)
			var ans map[string]any
			if aerr == nil {
				ans, aerr = k.execute(r, sync)
			}
			if aerr != nil {
				out = append(out, map[string]any{"success": false, "failMsg": aerr.msg, "clientOid": r.place.clientID})
				continue
			}
			ans["success"] = true
			out = append(out, ans)
		}
		return out, nil
	}
}

// ref reads the symbol query parameter and the order the path names.
func (k *KuCoin) ref(c *kcCall, byClient bool) (orderRef, *kcError) {
	sym, _ := c.query.Get("symbol")
	if sym == "" {
		return orderRef{}, kcReject("400100", "symbol is required")
	}
	if byClient {
		return orderRef{symbol: sym, clientID: c.param}, nil
	}
	id, ok := kcParseOrderID(c.param)
	if !ok {
		return orderRef{}, kcReject("400100", "The order does not exist.")
	}
	return orderRef{symbol: sym, id: id}, nil
}

func kcGetOrder(byClient bool) func(k *KuCoin, c *kcCall) (any, *kcError) {
	return func(k *KuCoin, c *kcCall) (any, *kcError) {
		ref, aerr := k.ref(c, byClient)
		if aerr != nil {
			return nil, aerr
		}
		o, err := k.mkt.get(c.apiKey, ref)
		if err != nil {
			return nil, kcReject("400100", "The order does not exist.")
		}
		return k.orderJSON(&o), nil
	}
}

func kcCancel(byClient bool) func(k *KuCoin, c *kcCall) (any, *kcError) {
	return func(k *KuCoin, c *kcCall) (any, *kcError) {
		ref, aerr := k.ref(c, byClient)
		if aerr != nil {
			return nil, aerr
		}
		o, err := k.mkt.cancel(c.apiKey, ref)
		if err != nil {
			return nil, kcReject("400100", "The order does not exist.")
		}
		if byClient {
			return map[string]any{"clientOid": o.clientID}, nil
		}
		return map[string]any{"orderId": kcOrderID(o.id)}, nil
	}
}

func (k *KuCoin) cancelSymbol(c *kcCall) (any, *kcError) {
	sym, _ := c.query.Get("symbol")
	if _, ok := k.mkt.symbol(sym); !ok {
		return nil, kcReject("400100", "Unsupported trading pair.")
	}
	if _, err := k.mkt.cancelAll(c.apiKey, sym); err != nil {
		return nil, kcMarketError(err)
	}
	return "success", nil
}

func (k *KuCoin) cancelEverything(c *kcCall) (any, *kcError) {
	done := []string{}
	for _, s := range k.mkt.symbolList() {
		closed, err := k.mkt.cancelAll(c.apiKey, s.Symbol)
		if err != nil {
			return nil, kcMarketError(err)
		}
		if len(closed) > 0 {
			done = append(done, s.Symbol)
		}
	}
	return map[string]any{"succeedSymbols": done, "failedSymbols": []string{}}, nil
}

func (k *KuCoin) orderJSON(o *order) map[string]any {
	k.mu.Lock()
	meta := k.meta[o.id]
	k.mu.Unlock()
	if meta == nil {
		meta = &kcOrderMeta{tif: "GTC"}
	}
	typ, side := "limit", "buy"
	if o.typ == exchange.Market {
		typ = "market"
	}
	if o.side == exchange.Sell {
		side = "sell"
	}
	var fee decimal.Decimal
	feeCur := ""
	if s, ok := k.mkt.symbol(o.symbol); ok {
		feeCur = s.Quote
	}
	for _, t := range o.fills {
		fee, feeCur = fee.Add(t.commission), t.commissionAsset
	}
	open := o.status.Open()
	// What is left of the order: remaining while it is open, cancelled
	// once it closed without filling it all.
	left, leftFunds := decimal.Zero, decimal.Zero
	if o.qty.Sign() > 0 {
		left = o.qty.Sub(o.executed)
	}
	if o.quoteQty.Sign() > 0 {
		leftFunds = decimal.Max(o.quoteQty.Sub(o.executedQuo).Sub(fee), decimal.Zero)
	}
	remain, remainFunds, cancelled, cancelledFunds := left, leftFunds, decimal.Zero, decimal.Zero
	if !open {
		remain, remainFunds = decimal.Zero, decimal.Zero
		if o.status != exchange.StatusFilled {
			cancelled, cancelledFunds = left, leftFunds
		}
	}
	return map[string]any{
		"id": kcOrderID(o.id), "clientOid": o.clientID, "symbol": o.symbol, "opType": "DEAL",
		"type": typ, "side": side, "price": kcFx(o.price), "size": kcFx(o.qty), "funds": kcFx(o.quoteQty),
		"dealSize": kcFx(o.executed), "dealFunds": kcFx(o.executedQuo), "fee": kcFx(fee), "feeCurrency": feeCur,
		"stp": "", "timeInForce": meta.tif, "postOnly": meta.postOnly, "hidden": false, "iceberg": false,
		"visibleSize": "0", "cancelAfter": 0, "channel": "API", "remark": meta.remark, "tags": "",
		"cancelExist": o.status == exchange.StatusCanceled, "createdAt": o.created.UnixMilli(),
		"lastUpdatedAt": o.updated.UnixMilli(), "tradeType": "TRADE", "inOrderBook": open,
		"remainSize": kcFx(remain), "remainFunds": kcFx(remainFunds), "cancelledSize": kcFx(cancelled),
		"cancelledFunds": kcFx(cancelledFunds), "tax": "0", "active": open,
	}
}

func (k *KuCoin) activeOrders(c *kcCall) (any, *kcError) {
	sym, _ := c.query.Get("symbol")
	if sym == "" {
		return nil, kcReject("400100", "symbol is required")
	}
	out := []map[string]any{}
	for _, o := range k.mkt.openOrders(c.apiKey, sym) {
		out = append(out, k.orderJSON(&o))
	}
	return out, nil
}

// fills serves GET /api/v1/hf/fills (spot-trading/orders/
// get-trade-history): the account's trades on symbol, newest first, as
// kcPageQuery reads the filters.
func (k *KuCoin) fills(c *kcCall) (any, *kcError) {
	pq, aerr := kcPageQuery(c)
	if aerr != nil {
		return nil, aerr
	}
	if v, _ := c.query.Get("orderId"); v != "" {
		id, ok := kcParseOrderID(v)
		if !ok {
			return map[string]any{"items": []any{}, "lastId": 0}, nil
		}
		pq.orderID = id
	}
	all := k.mkt.trades(c.apiKey, pq.symbol)
	items := []map[string]any{}
	var last int64
	for i := len(all) - 1; i >= 0 && len(items) < pq.limit; i-- {
		t := all[i]
		side, liq := "buy", "taker"
		if t.side == exchange.Sell {
			side = "sell"
		}
		if t.maker {
			liq = "maker"
		}
		typ := k.orderType(c.apiKey, t.symbol, t.orderID)
		if !pq.admits(t.id, t.time, side, typ) || (pq.orderID > 0 && t.orderID != pq.orderID) {
			continue
		}
		rate := k.mkt.takerFee
		if t.maker {
			rate = k.mkt.makerFee
		}
		items = append(items, map[string]any{
			"id": t.id, "orderId": kcOrderID(t.orderID), "counterOrderId": kcOrderID(1<<41 + t.id), "tradeId": t.id,
			"symbol": t.symbol, "side": side, "liquidity": liq, "type": typ,
			"forceTaker": false, "price": kcFx(t.price), "size": kcFx(t.qty), "funds": kcFx(t.quoteQty),
			"fee": kcFx(t.commission), "feeRate": kcFx(rate), "feeCurrency": t.commissionAsset, "stop": "",
			"tradeType": "TRADE", "taxRate": "0", "tax": "0", "createdAt": t.time.UnixMilli(),
		})
		last = t.id
	}
	return map[string]any{"items": items, "lastId": last}, nil
}

func kcWithdraw(addressField string) func(k *KuCoin, c *kcCall) (any, *kcError) {
	return func(k *KuCoin, c *kcCall) (any, *kcError) {
		var m map[string]json.RawMessage
		if json.Unmarshal(c.body, &m) != nil {
			return nil, kcReject("400100", "Request body is not a JSON object")
		}
		cur, _ := kcString(m, "currency")
		addr, _ := kcString(m, addressField)
		chain, _ := kcString(m, "chain")
		amount, ok, aerr := kcDecimal(m, "amount")
		if aerr != nil || !ok || cur == "" || addr == "" {
			return nil, kcReject("400100", "currency, "+addressField+" and amount are required")
		}
		w, err := k.mkt.withdraw(c.apiKey, cur, chain, addr, amount)
		if err != nil {
			return nil, kcMarketError(err)
		}
		return map[string]any{"withdrawalId": w.ID}, nil
	}
}

func (k *KuCoin) innerTransfer(c *kcCall) (any, *kcError) {
	var m map[string]json.RawMessage
	if json.Unmarshal(c.body, &m) != nil {
		return nil, kcReject("400100", "Request body is not a JSON object")
	}
	cur, _ := kcString(m, "currency")
	from, _ := kcString(m, "from")
	to, _ := kcString(m, "to")
	amount, ok, aerr := kcDecimal(m, "amount")
	if aerr != nil || !ok || cur == "" || to == "" {
		return nil, kcReject("400100", "currency, from, to and amount are required")
	}
	if from != "trade" {
		return nil, kcReject("400100", "the simulator holds trade accounts only; transfer from trade")
	}
	w, err := k.mkt.withdraw(c.apiKey, cur, "inner-transfer", to, amount)
	if err != nil {
		return nil, kcMarketError(err)
	}
	return map[string]any{"orderId": w.ID}, nil
}

// orderType returns "limit" or "market" for an account's order.
func (k *KuCoin) orderType(account, symbol string, id int64) string {
	o, err := k.mkt.get(account, orderRef{symbol: symbol, id: id})
	if err == nil && o.typ == exchange.Market {
		return "market"
	}
	return "limit"
}

// doneOrders serves GET /api/v1/hf/orders/done (spot-trading/orders/
// get-closed-orders): the account's closed orders on symbol, newest
// first, as kcPageQuery reads the filters.
func (k *KuCoin) doneOrders(c *kcCall) (any, *kcError) {
	pq, aerr := kcPageQuery(c)
	if aerr != nil {
		return nil, aerr
	}
	all := k.mkt.cbOrders(c.apiKey)
	items := []map[string]any{}
	var last int64
	for i := len(all) - 1; i >= 0 && len(items) < pq.limit; i-- {
		o := all[i]
		if o.symbol != pq.symbol || o.status.Open() {
			continue
		}
		j := k.orderJSON(&o)
		if !pq.admits(o.id, o.updated, j["side"].(string), j["type"].(string)) {
			continue
		}
		items = append(items, j)
		last = o.id
	}
	return map[string]any{"lastId": last, "items": items}, nil
}

// kcPage is the filter of the HF history lists: symbol (required), side
// (buy, sell), type (limit, market), startAt and endAt (Unix ms,
// inclusive), lastId (only entries older than it: the previous page's
// lastId) and limit (1 to 100, default 20).
type kcPage struct {
	symbol, side, typ string
	start, end        time.Time
	before            int64
	limit             int
	orderID           int64
}

// kcPageQuery reads and checks a kcPage.
func kcPageQuery(c *kcCall) (kcPage, *kcError) {
	var p kcPage
	p.symbol, _ = c.query.Get("symbol")
	if p.symbol == "" {
		return p, kcReject("400100", "symbol is required")
	}
	p.side, _ = c.query.Get("side")
	p.typ, _ = c.query.Get("type")
	if (p.side != "" && p.side != "buy" && p.side != "sell") || (p.typ != "" && p.typ != "limit" && p.typ != "market") {
		return p, kcReject("400100", "side or type invalid")
	}
	// num reads an integer parameter in [min, max] into *dst, leaving
	// *dst as it is when the parameter is absent.
	num := func(key string, min, max int64, dst *int64) *kcError {
		v, _ := c.query.Get(key)
		if v == "" {
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min || n > max {
			return kcReject("400100", key+" invalid")
		}
		*dst = n
		return nil
	}
	limit, start, end := int64(20), int64(-1), int64(-1)
	for _, e := range []*kcError{
		num("limit", 1, 100, &limit), num("lastId", 0, 1<<62, &p.before),
		num("startAt", 0, 1<<50, &start), num("endAt", 0, 1<<50, &end),
	} {
		if e != nil {
			return p, e
		}
	}
	p.limit = int(limit)
	if start >= 0 {
		p.start = time.UnixMilli(start)
	}
	if end >= 0 {
		p.end = time.UnixMilli(end)
	}
	return p, nil
}

// admits reports whether an entry passes the filter.
func (p kcPage) admits(id int64, at time.Time, side, typ string) bool {
	return (p.before == 0 || id < p.before) && (p.side == "" || side == p.side) && (p.typ == "" || typ == p.typ) &&
		(p.start.IsZero() || !at.Before(p.start)) && (p.end.IsZero() || !at.After(p.end))
}
