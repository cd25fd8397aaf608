package exchangetest

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// The JSON shapes below follow the Binance Spot REST API documentation:
// decimals as strings with eight places, times in Unix milliseconds.

func fx(d decimal.Decimal) string { return d.StringFixed(8) }

func ms(t time.Time) int64 { return t.UnixMilli() }

var (
	decimalRE  = regexp.MustCompile(`^[0-9]{1,20}(\.[0-9]{1,20})?$`)
	clientIDRE = regexp.MustCompile(`^[\.A-Z:/a-z0-9_-]{1,36}$`)
)

func errIllegal(name string) *apiError {
	return &apiError{http.StatusBadRequest, -1100,
		"Illegal characters found in parameter '" + name + "'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."}
}

func errNotRequired(name string) *apiError {
	return &apiError{http.StatusBadRequest, -1106, "Parameter '" + name + "' sent when not required."}
}

var (
	errBadSymbol     = &apiError{http.StatusBadRequest, -1121, "Invalid symbol."}
	errNoSuchOrder   = &apiError{http.StatusBadRequest, -2013, "Order does not exist."}
	errCancelUnknown = &apiError{http.StatusBadRequest, -2011, "Unknown order sent."}
)

// decParam reads an optional decimal parameter.
func decParam(p exchange.Params, name string) (decimal.Decimal, bool, *apiError) {
	v, ok := p.Get(name)
	if !ok {
		return decimal.Decimal{}, false, nil
	}
	if v == "" {
		return decimal.Decimal{}, false, errMandatory(name)
	}
	if !decimalRE.MatchString(v) {
		return decimal.Decimal{}, false, errIllegal(name)
	}
	d, err := decimal.NewFromString(v)
	if err != nil {
		return decimal.Decimal{}, false, errIllegal(name)
	}
	if d.Exponent() < -8 && !d.Equal(d.Truncate(8)) {
		return decimal.Decimal{}, false, &apiError{http.StatusBadRequest, -1111, "Precision is over the maximum defined for this asset."}
	}
	return d, true, nil
}

// symbolParam reads a mandatory, known symbol.
func (b *Binance) symbolParam(p exchange.Params) (Symbol, *apiError) {
	name, ok := p.Get("symbol")
	if !ok || name == "" {
		return Symbol{}, errMandatory("symbol")
	}
	s, ok := b.mkt.symbol(name)
	if !ok {
		return Symbol{}, errBadSymbol
	}
	return s, nil
}

// symbolsParam returns the symbols a market-data request asks for: one
// (single is true), a JSON list, or all.
func (b *Binance) symbolsParam(p exchange.Params) (syms []Symbol, single bool, aerr *apiError) {
	if p.Has("symbol") && p.Has("symbols") {
		return nil, false, &apiError{http.StatusBadRequest, -1128, "Combination of optional parameters invalid."}
	}
	if p.Has("symbol") {
		s, aerr := b.symbolParam(p)
		return []Symbol{s}, true, aerr
	}
	list, ok := p.Get("symbols")
	if !ok {
		return b.mkt.symbolList(), false, nil
	}
	var names []string
	if err := json.Unmarshal([]byte(list), &names); err != nil || len(names) == 0 {
		return nil, false, errMandatory("symbols")
	}
	for _, n := range names {
		s, ok := b.mkt.symbol(n)
		if !ok {
			return nil, false, errBadSymbol
		}
		syms = append(syms, s)
	}
	return syms, false, nil
}

func (b *Binance) ping(*call) (any, *apiError) { return struct{}{}, nil }

func (b *Binance) time(*call) (any, *apiError) {
	return map[string]int64{"serverTime": ms(b.now())}, nil
}

type rateLimitJSON struct {
	RateLimitType string `json:"rateLimitType"`
	Interval      string `json:"interval"`
	IntervalNum   int    `json:"intervalNum"`
	Limit         int    `json:"limit"`
}

func (b *Binance) exchangeInfo(c *call) (any, *apiError) {
	syms, _, aerr := b.symbolsParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	rls := make([]rateLimitJSON, 0, len(b.lim.limits))
	for _, l := range b.lim.limits {
		name, num, _ := intervalParts(l.Interval)
		rls = append(rls, rateLimitJSON{l.Type, name, num, l.Limit})
	}
	out := make([]map[string]any, 0, len(syms))
	for _, s := range syms {
		status := "TRADING"
		if s.Halted {
			status = "HALT"
		}
		f := s.Filters
		marketMax := s.MarketMaxQty
		if marketMax.IsZero() {
			marketMax = f.MaxQty
		}
		filters := []map[string]any{
			{"filterType": "PRICE_FILTER", "minPrice": fx(f.MinPrice), "maxPrice": fx(f.MaxPrice), "tickSize": fx(f.TickSize)},
			{"filterType": "LOT_SIZE", "minQty": fx(f.MinQty), "maxQty": fx(f.MaxQty), "stepSize": fx(f.StepSize)},
			{"filterType": "MARKET_LOT_SIZE", "minQty": fx(decimal.Zero), "maxQty": fx(marketMax), "stepSize": fx(decimal.Zero)},
			{"filterType": "NOTIONAL", "minNotional": fx(f.MinNotional), "applyMinToMarket": true,
				"maxNotional": fx(f.MaxNotional), "applyMaxToMarket": false, "avgPriceMins": 5},
		}
		if s.MaxNumOrders > 0 {
			filters = append(filters, map[string]any{"filterType": "MAX_NUM_ORDERS", "maxNumOrders": s.MaxNumOrders})
		}
		out = append(out, map[string]any{
			"symbol": s.Symbol, "status": status,
			"baseAsset": s.Base, "baseAssetPrecision": 8,
			"quoteAsset": s.Quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
			"baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
			"orderTypes":                      []string{"LIMIT", "LIMIT_MAKER", "MARKET"},
			"icebergAllowed":                  false,
			"ocoAllowed":                      false,
			"otoAllowed":                      false,
			"quoteOrderQtyMarketAllowed":      f.MarketByQuote,
			"allowTrailingStop":               false,
			"cancelReplaceAllowed":            false,
			"amendAllowed":                    false,
			"isSpotTradingAllowed":            true,
			"isMarginTradingAllowed":          false,
			"filters":                         filters,
			"permissions":                     []string{},
			"permissionSets":                  [][]string{{"SPOT"}},
			"defaultSelfTradePreventionMode":  "NONE",
			"allowedSelfTradePreventionModes": []string{"NONE"},
		})
	}
	return map[string]any{
		"timezone":        "UTC",
		"serverTime":      ms(b.now()),
		"rateLimits":      rls,
		"exchangeFilters": []any{},
		"symbols":         out,
	}, nil
}

type bookTickerJSON struct {
	Symbol   string `json:"symbol"`
	BidPrice string `json:"bidPrice"`
	BidQty   string `json:"bidQty"`
	AskPrice string `json:"askPrice"`
	AskQty   string `json:"askQty"`
}

// unlimitedQty is the quantity shown at the best price of a book with
// unlimited liquidity.
var unlimitedQty = decimal.NewFromInt(1000000)

func (b *Binance) bookTicker(c *call) (any, *apiError) {
	syms, single, aerr := b.symbolsParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	out := make([]bookTickerJSON, 0, len(syms))
	for _, s := range syms {
		bid, ask, depth, _ := b.mkt.quote(s.Symbol)
		if depth.IsZero() {
			depth = unlimitedQty
		}
		out = append(out, bookTickerJSON{s.Symbol, fx(bid), fx(depth), fx(ask), fx(depth)})
	}
	if single {
		return out[0], nil
	}
	return out, nil
}

type priceJSON struct {
	Symbol string `json:"symbol"`
	Price  string `json:"price"`
}

func (b *Binance) tickerPrice(c *call) (any, *apiError) {
	syms, single, aerr := b.symbolsParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	out := make([]priceJSON, 0, len(syms))
	for _, s := range syms {
		out = append(out, priceJSON{s.Symbol, fx(s.Price)})
	}
	if single {
		return out[0], nil
	}
	return out, nil
}

func (b *Binance) avgPrice(c *call) (any, *apiError) {
	s, aerr := b.symbolParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	return struct {
		Mins      int    `json:"mins"`
		Price     string `json:"price"`
		CloseTime int64  `json:"closeTime"`
	}{5, fx(s.Price), ms(b.now())}, nil
}

type balanceJSON struct {
	Asset  string `json:"asset"`
	Free   string `json:"free"`
	Locked string `json:"locked"`
}

func (b *Binance) account(c *call) (any, *apiError) {
	omitZero := false
	if v, ok := c.params.Get("omitZeroBalances"); ok {
		omitZero = v == "true"
	}
	bals := []balanceJSON{}
	for _, bl := range b.mkt.balances(c.apiKey) {
		if omitZero && bl.Total().IsZero() {
			continue
		}
		bals = append(bals, balanceJSON{bl.Asset, fx(bl.Free), fx(bl.Locked)})
	}
	p := c.key.key.Permissions
	maker := b.mkt.makerFee
	taker := b.mkt.takerFee
	return map[string]any{
		"makerCommission": maker.Mul(decimal.NewFromInt(10000)).IntPart(),
		"takerCommission": taker.Mul(decimal.NewFromInt(10000)).IntPart(),
		"buyerCommission": 0, "sellerCommission": 0,
		"commissionRates": map[string]string{
			"maker": fx(maker), "taker": fx(taker), "buyer": fx(decimal.Zero), "seller": fx(decimal.Zero),
		},
		"canTrade": p.Trade, "canWithdraw": p.Withdraw, "canDeposit": true,
		"brokered": false, "requireSelfTradePrevention": false, "preventSor": false,
		"updateTime":  ms(b.now()),
		"accountType": "SPOT",
		"balances":    bals,
		"permissions": []string{"SPOT"},
		"uid":         accountUID(c.apiKey),
	}, nil
}

// accountUID derives a stable numeric account id from the API key.
func accountUID(apiKey string) int64 {
	var h uint32 = 2166136261
	for i := 0; i < len(apiKey); i++ {
		h = (h ^ uint32(apiKey[i])) * 16777619
	}
	return int64(h%900000000) + 100000000
}

// parsedOrder is a new-order request after parameter validation.
type parsedOrder struct {
	req      placeRequest
	respType string
}

func (b *Binance) parseOrder(c *call, test bool) (parsedOrder, *apiError) {
	p := c.params
	s, aerr := b.symbolParam(p)
	if aerr != nil {
		return parsedOrder{}, aerr
	}
	r := placeRequest{account: c.apiKey, symbol: s.Symbol, test: test}
	side, ok := p.Get("side")
	if !ok || side == "" {
		return parsedOrder{}, errMandatory("side")
	}
	switch side {
	case "BUY", "SELL":
		r.side = exchange.Side(side)
	default:
		return parsedOrder{}, &apiError{http.StatusBadRequest, -1117, "Invalid side."}
	}
	typ, ok := p.Get("type")
	if !ok || typ == "" {
		return parsedOrder{}, errMandatory("type")
	}
	r.typ = exchange.OrderType(typ)
	switch r.typ {
	case exchange.Limit, exchange.Market, exchange.LimitMaker, exchange.StopLimit, exchange.TakeLimit:
	case exchange.StopLoss, exchange.TakeProfit:
		return parsedOrder{}, &apiError{http.StatusBadRequest, -1013, "Unsupported order type in the simulator."}
	default:
		return parsedOrder{}, &apiError{http.StatusBadRequest, -1116, "Invalid orderType."}
	}
	var hasQty, hasQuote, hasPrice bool
	if r.qty, hasQty, aerr = decParam(p, "quantity"); aerr != nil {
		return parsedOrder{}, aerr
	}
	if r.quoteQty, hasQuote, aerr = decParam(p, "quoteOrderQty"); aerr != nil {
		return parsedOrder{}, aerr
	}
	if r.price, hasPrice, aerr = decParam(p, "price"); aerr != nil {
		return parsedOrder{}, aerr
	}
	var hasStop bool
	if r.stopPrice, hasStop, aerr = decParam(p, "stopPrice"); aerr != nil {
		return parsedOrder{}, aerr
	}
	tif, hasTIF := p.Get("timeInForce")
	switch r.typ {
	case exchange.StopLimit, exchange.TakeLimit:
		switch {
		case !hasTIF || tif == "":
			return parsedOrder{}, errMandatory("timeInForce")
		case !hasQty:
			return parsedOrder{}, errMandatory("quantity")
		case !hasPrice:
			return parsedOrder{}, errMandatory("price")
		case !hasStop:
			return parsedOrder{}, errMandatory("stopPrice")
		case hasQuote:
			return parsedOrder{}, errNotRequired("quoteOrderQty")
		case tif != string(exchange.GTC):
			return parsedOrder{}, &apiError{http.StatusBadRequest, -1013, "Stop-limit orders are GTC only in the simulator."}
		}
		r.tif = exchange.GTC
	case exchange.Limit:
		switch {
		case !hasTIF || tif == "":
			return parsedOrder{}, errMandatory("timeInForce")
		case !hasQty:
			return parsedOrder{}, errMandatory("quantity")
		case !hasPrice:
			return parsedOrder{}, errMandatory("price")
		case hasQuote:
			return parsedOrder{}, errNotRequired("quoteOrderQty")
		}
		switch exchange.TimeInForce(tif) {
		case exchange.GTC, exchange.IOC, exchange.FOK:
			r.tif = exchange.TimeInForce(tif)
		default:
			return parsedOrder{}, &apiError{http.StatusBadRequest, -1115, "Invalid timeInForce."}
		}
	case exchange.LimitMaker:
		switch {
		case hasTIF:
			return parsedOrder{}, errNotRequired("timeInForce")
		case !hasQty:
			return parsedOrder{}, errMandatory("quantity")
		case !hasPrice:
			return parsedOrder{}, errMandatory("price")
		case hasQuote:
			return parsedOrder{}, errNotRequired("quoteOrderQty")
		}
	case exchange.Market:
		switch {
		case hasTIF:
			return parsedOrder{}, errNotRequired("timeInForce")
		case hasPrice:
			return parsedOrder{}, errNotRequired("price")
		case hasQty && hasQuote:
			return parsedOrder{}, &apiError{http.StatusBadRequest, -1128, "Combination of optional parameters invalid."}
		case !hasQty && !hasQuote:
			return parsedOrder{}, &apiError{http.StatusBadRequest, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"}
		case hasQuote && !s.Filters.MarketByQuote:
			return parsedOrder{}, &apiError{http.StatusBadRequest, -1013, "Quote order qty market orders are not support for this symbol."}
		case hasQuote && r.quoteQty.Sign() <= 0:
			return parsedOrder{}, errIllegal("quoteOrderQty")
		}
	}
	if hasStop && !stopLimit(r.typ) {
		return parsedOrder{}, errNotRequired("stopPrice")
	}
	if hasQty && r.qty.Sign() <= 0 {
		return parsedOrder{}, errIllegal("quantity")
	}
	if id, ok := p.Get("newClientOrderId"); ok {
		if !clientIDRE.MatchString(id) {
			return parsedOrder{}, &apiError{http.StatusBadRequest, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'."}
		}
		r.clientID = id
	} else {
		r.clientID = randomClientID()
	}
	resp := "FULL"
	if r.typ == exchange.LimitMaker {
		resp = "ACK"
	}
	if v, ok := p.Get("newOrderRespType"); ok {
		switch v {
		case "ACK", "RESULT", "FULL":
			resp = v
		default:
			return parsedOrder{}, &apiError{http.StatusBadRequest, -1100, "Illegal characters found in parameter 'newOrderRespType'."}
		}
	}
	return parsedOrder{req: r, respType: resp}, nil
}

func randomClientID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var raw [22]byte
	_, _ = rand.Read(raw[:])
	for i := range raw {
		raw[i] = alphabet[int(raw[i])%len(alphabet)]
	}
	return string(raw[:])
}

// marketError turns a matching-engine refusal into Binance's answer.
func marketError(err error) *apiError {
	var fe *filterError
	switch {
	case errors.As(err, &fe):
		return &apiError{http.StatusBadRequest, -1013, "Filter failure: " + fe.filter}
	case errors.Is(err, errInsufficient):
		return &apiError{http.StatusBadRequest, -2010, "Account has insufficient balance for requested action."}
	case errors.Is(err, errWouldTake):
		return &apiError{http.StatusBadRequest, -2010, "Order would immediately match and take."}
	case errors.Is(err, errWouldTrigger):
		return &apiError{http.StatusBadRequest, -2010, "Order would trigger immediately."}
	case errors.Is(err, errDuplicateOrder):
		return &apiError{http.StatusBadRequest, -2010, "Duplicate order sent."}
	case errors.Is(err, errHalted):
		return &apiError{http.StatusBadRequest, -1013, "Market is closed."}
	case errors.Is(err, errUnknownSymbol):
		return errBadSymbol
	case errors.Is(err, errUnknownOrder):
		return errCancelUnknown
	}
	return &apiError{http.StatusInternalServerError, -1000, "An unknown error occurred while processing the request."}
}

// errUnknownOutcome is the answer of an injected failure.
func errUnknownOutcome(status int) *apiError {
	if status >= 500 {
		return &apiError{status, -1007, "Timeout waiting for response from backend server. Send status unknown; execution status unknown."}
	}
	return &apiError{status, -1000, "An unknown error occurred while processing the request."}
}

func (b *Binance) newOrder(c *call) (any, *apiError) {
	po, aerr := b.parseOrder(c, false)
	if aerr != nil {
		return nil, aerr
	}
	now := b.now()
	if ok, msg, retry := b.lim.reserveOrder(c.apiKey, now); !ok {
		b.lim.orderHeaders(c.apiKey, now, c.w.Header())
		c.w.Header().Set("Retry-After", strconv.Itoa(retry))
		return nil, &apiError{http.StatusTooManyRequests, -1015, msg}
	}
	fail, failing := b.nextFail()
	if failing && !fail.execute {
		b.lim.unfilled(c.apiKey, now)
		return nil, errUnknownOutcome(fail.status)
	}
	o, err := b.mkt.place(po.req)
	if err != nil {
		b.lim.unfilled(c.apiKey, now)
		return nil, marketError(err)
	}
	b.placed.Add(1)
	if o.executed.Sign() > 0 {
		b.lim.unfilled(c.apiKey, now) // traded at once: not an unfilled order
	}
	if failing {
		return nil, errUnknownOutcome(fail.status)
	}
	return newOrderJSON(&o, po.respType), nil
}

func (b *Binance) testOrder(c *call) (any, *apiError) {
	po, aerr := b.parseOrder(c, true)
	if aerr != nil {
		return nil, aerr
	}
	if _, err := b.mkt.place(po.req); err != nil {
		return nil, marketError(err)
	}
	if v, _ := c.params.Get("computeCommissionRates"); v == "true" {
		return map[string]any{
			"standardCommissionForOrder": map[string]string{"maker": fx(b.mkt.makerFee), "taker": fx(b.mkt.takerFee)},
			"taxCommissionForOrder":      map[string]string{"maker": fx(decimal.Zero), "taker": fx(decimal.Zero)},
			"discount":                   map[string]any{"enabledForAccount": false, "enabledForSymbol": false, "discountAsset": "BNB", "discount": fx(decimal.Zero)},
		}, nil
	}
	return struct{}{}, nil
}

type fillJSON struct {
	Price           string `json:"price"`
	Qty             string `json:"qty"`
	Commission      string `json:"commission"`
	CommissionAsset string `json:"commissionAsset"`
	TradeID         int64  `json:"tradeId"`
}

type ackJSON struct {
	Symbol        string `json:"symbol"`
	OrderID       int64  `json:"orderId"`
	OrderListID   int64  `json:"orderListId"`
	ClientOrderID string `json:"clientOrderId"`
	TransactTime  int64  `json:"transactTime"`
}

type resultJSON struct {
	ackJSON
	Price               string      `json:"price"`
	OrigQty             string      `json:"origQty"`
	ExecutedQty         string      `json:"executedQty"`
	OrigQuoteOrderQty   string      `json:"origQuoteOrderQty"`
	CummulativeQuoteQty string      `json:"cummulativeQuoteQty"`
	Status              string      `json:"status"`
	TimeInForce         string      `json:"timeInForce"`
	Type                string      `json:"type"`
	Side                string      `json:"side"`
	WorkingTime         int64       `json:"workingTime"`
	STPMode             string      `json:"selfTradePreventionMode"`
	Fills               *[]fillJSON `json:"fills,omitempty"`
}

func tifOf(o *order) string {
	if o.tif == "" {
		return string(exchange.GTC)
	}
	return string(o.tif)
}

func newOrderJSON(o *order, respType string) any {
	ack := ackJSON{o.symbol, o.id, -1, o.clientID, ms(o.created)}
	if respType == "ACK" {
		return ack
	}
	r := resultJSON{
		ackJSON: ack, Price: fx(o.price), OrigQty: fx(o.qty), ExecutedQty: fx(o.executed),
		OrigQuoteOrderQty: fx(o.quoteQty), CummulativeQuoteQty: fx(o.executedQuo),
		Status: string(o.status), TimeInForce: tifOf(o), Type: string(o.typ), Side: string(o.side),
		WorkingTime: ms(o.created), STPMode: "NONE",
	}
	if respType == "FULL" {
		fills := make([]fillJSON, 0, len(o.fills))
		for _, t := range o.fills {
			fills = append(fills, fillJSON{fx(t.price), fx(t.qty), fx(t.commission), t.commissionAsset, t.id})
		}
		r.Fills = &fills
	}
	return r
}

type orderJSON struct {
	Symbol              string `json:"symbol"`
	OrderID             int64  `json:"orderId"`
	OrderListID         int64  `json:"orderListId"`
	ClientOrderID       string `json:"clientOrderId"`
	Price               string `json:"price"`
	OrigQty             string `json:"origQty"`
	ExecutedQty         string `json:"executedQty"`
	CummulativeQuoteQty string `json:"cummulativeQuoteQty"`
	Status              string `json:"status"`
	TimeInForce         string `json:"timeInForce"`
	Type                string `json:"type"`
	Side                string `json:"side"`
	StopPrice           string `json:"stopPrice"`
	IcebergQty          string `json:"icebergQty"`
	Time                int64  `json:"time"`
	UpdateTime          int64  `json:"updateTime"`
	IsWorking           bool   `json:"isWorking"`
	WorkingTime         int64  `json:"workingTime"`
	OrigQuoteOrderQty   string `json:"origQuoteOrderQty"`
	STPMode             string `json:"selfTradePreventionMode"`
}

func queryOrderJSON(o *order) orderJSON {
	return orderJSON{
		Symbol: o.symbol, OrderID: o.id, OrderListID: -1, ClientOrderID: o.clientID,
		Price: fx(o.price), OrigQty: fx(o.qty), ExecutedQty: fx(o.executed), CummulativeQuoteQty: fx(o.executedQuo),
		Status: string(o.status), TimeInForce: tifOf(o), Type: string(o.typ), Side: string(o.side),
		StopPrice: fx(o.stopPrice), IcebergQty: fx(decimal.Zero),
		Time: ms(o.created), UpdateTime: ms(o.updated), IsWorking: !o.waiting, WorkingTime: ms(o.created),
		OrigQuoteOrderQty: fx(o.quoteQty), STPMode: "NONE",
	}
}

type cancelJSON struct {
	Symbol              string `json:"symbol"`
	OrigClientOrderID   string `json:"origClientOrderId"`
	OrderID             int64  `json:"orderId"`
	OrderListID         int64  `json:"orderListId"`
	ClientOrderID       string `json:"clientOrderId"`
	TransactTime        int64  `json:"transactTime"`
	Price               string `json:"price"`
	OrigQty             string `json:"origQty"`
	ExecutedQty         string `json:"executedQty"`
	CummulativeQuoteQty string `json:"cummulativeQuoteQty"`
	Status              string `json:"status"`
	TimeInForce         string `json:"timeInForce"`
	Type                string `json:"type"`
	Side                string `json:"side"`
	STPMode             string `json:"selfTradePreventionMode"`
}

func cancelOrderJSON(o *order, cancelID string) cancelJSON {
	return cancelJSON{
		Symbol: o.symbol, OrigClientOrderID: o.clientID, OrderID: o.id, OrderListID: -1, ClientOrderID: cancelID,
		TransactTime: ms(o.updated), Price: fx(o.price), OrigQty: fx(o.qty), ExecutedQty: fx(o.executed),
		CummulativeQuoteQty: fx(o.executedQuo), Status: string(o.status), TimeInForce: tifOf(o),
		Type: string(o.typ), Side: string(o.side), STPMode: "NONE",
	}
}

// orderRefParam reads symbol, orderId and origClientOrderId.
func (b *Binance) orderRefParam(p exchange.Params) (orderRef, *apiError) {
	s, aerr := b.symbolParam(p)
	if aerr != nil {
		return orderRef{}, aerr
	}
	ref := orderRef{symbol: s.Symbol}
	idRaw, hasID := p.Get("orderId")
	ref.clientID, _ = p.Get("origClientOrderId")
	if (!hasID || idRaw == "") && ref.clientID == "" {
		return orderRef{}, &apiError{http.StatusBadRequest, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"}
	}
	if hasID && idRaw != "" {
		id, err := strconv.ParseInt(idRaw, 10, 64)
		if err != nil || id <= 0 {
			return orderRef{}, errMandatory("orderId")
		}
		ref.id = id
	}
	return ref, nil
}

func (b *Binance) getOrder(c *call) (any, *apiError) {
	ref, aerr := b.orderRefParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	o, err := b.mkt.get(c.apiKey, ref)
	if err != nil {
		return nil, errNoSuchOrder
	}
	return queryOrderJSON(&o), nil
}

func (b *Binance) cancelOrder(c *call) (any, *apiError) {
	ref, aerr := b.orderRefParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	cancelID, ok := c.params.Get("newClientOrderId")
	if !ok {
		cancelID = randomClientID()
	}
	o, err := b.mkt.cancel(c.apiKey, ref)
	if err != nil {
		return nil, errCancelUnknown
	}
	return cancelOrderJSON(&o, cancelID), nil
}

func (b *Binance) openOrders(c *call) (any, *apiError) {
	symbol := ""
	if c.params.Has("symbol") {
		s, aerr := b.symbolParam(c.params)
		if aerr != nil {
			return nil, aerr
		}
		symbol = s.Symbol
	}
	out := []orderJSON{}
	for _, o := range b.mkt.openOrders(c.apiKey, symbol) {
		out = append(out, queryOrderJSON(&o))
	}
	return out, nil
}

func (b *Binance) cancelOpenOrders(c *call) (any, *apiError) {
	s, aerr := b.symbolParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	orders, err := b.mkt.cancelAll(c.apiKey, s.Symbol)
	if err != nil || len(orders) == 0 {
		return nil, errCancelUnknown
	}
	out := make([]cancelJSON, 0, len(orders))
	for _, o := range orders {
		out = append(out, cancelOrderJSON(&o, randomClientID()))
	}
	return out, nil
}

type tradeJSON struct {
	Symbol          string `json:"symbol"`
	ID              int64  `json:"id"`
	OrderID         int64  `json:"orderId"`
	OrderListID     int64  `json:"orderListId"`
	Price           string `json:"price"`
	Qty             string `json:"qty"`
	QuoteQty        string `json:"quoteQty"`
	Commission      string `json:"commission"`
	CommissionAsset string `json:"commissionAsset"`
	Time            int64  `json:"time"`
	IsBuyer         bool   `json:"isBuyer"`
	IsMaker         bool   `json:"isMaker"`
	IsBestMatch     bool   `json:"isBestMatch"`
}

func (b *Binance) myTrades(c *call) (any, *apiError) {
	s, aerr := b.symbolParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	intParam := func(name string, def int64) (int64, *apiError) {
		v, ok := c.params.Get(name)
		if !ok {
			return def, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, errMandatory(name)
		}
		return n, nil
	}
	var orderID, fromID, start, end, limit int64
	for _, x := range []struct {
		name string
		dst  *int64
		def  int64
	}{{"orderId", &orderID, 0}, {"fromId", &fromID, 0}, {"startTime", &start, 0}, {"endTime", &end, 0}, {"limit", &limit, 500}} {
		if *x.dst, aerr = intParam(x.name, x.def); aerr != nil {
			return nil, aerr
		}
	}
	if limit <= 0 || limit > 1000 {
		limit = 500
	}
	out := []tradeJSON{}
	for _, t := range b.mkt.trades(c.apiKey, s.Symbol) {
		switch {
		case orderID > 0 && t.orderID != orderID,
			fromID > 0 && t.id < fromID,
			start > 0 && ms(t.time) < start,
			end > 0 && ms(t.time) > end:
			continue
		}
		out = append(out, tradeJSON{
			Symbol: t.symbol, ID: t.id, OrderID: t.orderID, OrderListID: -1,
			Price: fx(t.price), Qty: fx(t.qty), QuoteQty: fx(t.quoteQty),
			Commission: fx(t.commission), CommissionAsset: t.commissionAsset, Time: ms(t.time),
			IsBuyer: t.side == exchange.Buy, IsMaker: t.maker, IsBestMatch: true,
		})
		if int64(len(out)) == limit {
			break
		}
	}
	return out, nil
}

func (b *Binance) orderRateLimit(c *call) (any, *apiError) {
	type countJSON struct {
		rateLimitJSON
		Count int `json:"count"`
	}
	out := []countJSON{}
	b.lim.mu.Lock()
	defer b.lim.mu.Unlock()
	for _, w := range b.lim.accountWindows(c.apiKey, b.now()) {
		name, num, _ := intervalParts(w.interval)
		out = append(out, countJSON{rateLimitJSON{BinanceOrders, name, num, w.limit}, w.used})
	}
	return out, nil
}

func (b *Binance) apiRestrictions(c *call) (any, *apiError) {
	p := c.key.key.Permissions
	out := map[string]any{
		"ipRestrict":                   p.IPRestricted,
		"createTime":                   ms(c.key.created),
		"enableReading":                p.Read,
		"enableWithdrawals":            p.Withdraw,
		"enableInternalTransfer":       p.Transfer,
		"enableMargin":                 false,
		"enableFutures":                false,
		"permitsUniversalTransfer":     p.Transfer,
		"enableVanillaOptions":         false,
		"enableFixApiTrade":            false,
		"enableFixReadOnly":            false,
		"enableSpotAndMarginTrading":   p.Trade,
		"enablePortfolioMarginTrading": false,
	}
	for _, other := range p.Other {
		if strings.HasPrefix(other, "enable") || strings.HasPrefix(other, "permits") {
			out[other] = true
		}
	}
	if p.Trade {
		out["tradingAuthorityExpirationTime"] = ms(c.key.created.Add(90 * 24 * time.Hour))
	}
	return out, nil
}

func (b *Binance) withdraw(c *call) (any, *apiError) {
	coin, _ := c.params.Get("coin")
	if coin == "" {
		return nil, errMandatory("coin")
	}
	address, _ := c.params.Get("address")
	if address == "" {
		return nil, errMandatory("address")
	}
	amount, ok, aerr := decParam(c.params, "amount")
	if aerr != nil {
		return nil, aerr
	}
	if !ok || amount.Sign() <= 0 {
		return nil, errMandatory("amount")
	}
	network, _ := c.params.Get("network")
	w, err := b.mkt.withdraw(c.apiKey, coin, network, address, amount)
	if err != nil {
		return nil, &apiError{http.StatusBadRequest, -4026, fmt.Sprintf("User has insufficient balance of %s.", coin)}
	}
	return map[string]string{"id": w.ID}, nil
}
