package exchangetest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

func cbTimeString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (cb *Coinbase) cbTime(*cbCall) cbAnswer {
	now := cb.now()
	return cbAnswer{http.StatusOK, map[string]string{
		"iso": cbTimeString(now), "epochSeconds": strconv.FormatInt(now.Unix(), 10), "epochMillis": strconv.FormatInt(now.UnixMilli(), 10),
	}}
}

// productJSON is a product as Coinbase reports it (products/get-product).
// The 24-hour figures come from the simulated trades; the simulator has no
// aliases, sessions or listing dates.
func (cb *Coinbase) productJSON(p *CoinbaseProduct) map[string]any {
	s, _ := cb.mkt.symbol(p.Symbol.Symbol)
	f := s.Filters
	st, _ := cb.mkt.symbolStats(s.Symbol, 24*time.Hour)
	change := decimal.Zero
	if st.openPrice.Sign() > 0 {
		change = st.last.Sub(st.openPrice).Div(st.openPrice).Mul(decimal.NewFromInt(100)).Round(8)
	}
	bid, ask, _, _ := cb.mkt.quote(s.Symbol)
	return map[string]any{
		"product_id": s.Symbol, "price": s.Price.String(), "price_percentage_change_24h": change.String(),
		"volume_24h": st.volume.String(), "volume_percentage_change_24h": "0",
		"base_increment": f.StepSize.String(), "quote_increment": f.QuoteStep.String(), "price_increment": f.TickSize.String(),
		"base_min_size": f.MinQty.String(), "base_max_size": f.MaxQty.String(),
		"quote_min_size": f.MinNotional.String(), "quote_max_size": f.MaxNotional.String(),
		"base_name": s.Base, "quote_name": s.Quote, "base_currency_id": s.Base, "quote_currency_id": s.Quote,
		"base_display_symbol": s.Base, "quote_display_symbol": s.Quote, "display_name": s.Base + "-" + s.Quote,
		"watched": false, "is_disabled": false, "new": false, "status": p.status(),
		"cancel_only": p.CancelOnly, "limit_only": p.LimitOnly, "post_only": p.PostOnly,
		"trading_disabled": p.TradingDisabled, "view_only": p.ViewOnly, "auction_mode": false,
		"product_type": "SPOT", "fcm_trading_session_details": nil,
		"mid_market_price": bid.Add(ask).Div(decimal.NewFromInt(2)).String(),
		"alias":            "", "alias_to": []string{}, "product_venue": "CBE",
		"approximate_quote_24h_volume": st.quoteVolume.String(), "new_at": "",
	}
}

func (cb *Coinbase) cbProducts(c *cbCall) cbAnswer {
	want := c.r.URL.Query()["product_ids"]
	out := []map[string]any{}
	ids := make([]string, 0, len(cb.products))
	for id := range cb.products {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if len(want) == 0 || slices.Contains(want, id) {
			out = append(out, cb.productJSON(cb.products[id]))
		}
	}
	return cbAnswer{http.StatusOK, map[string]any{"products": out, "num_products": len(out)}}
}

func (cb *Coinbase) cbProduct(c *cbCall) cbAnswer {
	p := cb.products[c.id]
	if p == nil {
		return cbFail(http.StatusNotFound, "NOT_FOUND", "ProductID is invalid")
	}
	return cbAnswer{http.StatusOK, cb.productJSON(p)}
}

func (cb *Coinbase) cbBestBidAsk(c *cbCall) cbAnswer {
	type level struct {
		Price string `json:"price"`
		Size  string `json:"size"`
	}
	type book struct {
		ProductID string  `json:"product_id"`
		Bids      []level `json:"bids"`
		Asks      []level `json:"asks"`
		Time      string  `json:"time"`
	}
	out := []book{}
	for _, id := range c.r.URL.Query()["product_ids"] {
		bid, ask, depth, ok := cb.mkt.quote(id)
		if !ok {
			return cbFail(http.StatusNotFound, "NOT_FOUND", "ProductID is invalid")
		}
		size := "1000000"
		if depth.Sign() > 0 {
			size = depth.String()
		}
		out = append(out, book{id, []level{{bid.String(), size}}, []level{{ask.String(), size}}, cbTimeString(cb.now())})
	}
	return cbAnswer{http.StatusOK, map[string]any{"pricebooks": out}}
}

type cbAmount struct {
	Value    string `json:"value"`
	Currency string `json:"currency"`
}

func (cb *Coinbase) cbAccounts(c *cbCall) cbAnswer {
	type account struct {
		UUID              string   `json:"uuid"`
		Name              string   `json:"name"`
		Currency          string   `json:"currency"`
		AvailableBalance  cbAmount `json:"available_balance"`
		Default           bool     `json:"default"`
		Active            bool     `json:"active"`
		CreatedAt         string   `json:"created_at"`
		UpdatedAt         string   `json:"updated_at"`
		DeletedAt         *string  `json:"deleted_at"`
		Type              string   `json:"type"`
		Ready             bool     `json:"ready"`
		Hold              cbAmount `json:"hold"`
		RetailPortfolioID string   `json:"retail_portfolio_id"`
		Platform          string   `json:"platform"`
	}
	created := cbTimeString(time.Unix(1_600_000_000, 0))
	portfolio := accountUUID(c.key.Name, "portfolio")
	out := []account{}
	for _, b := range cb.mkt.balances(c.key.Name) {
		typ := "ACCOUNT_TYPE_CRYPTO"
		if b.Asset == "USD" {
			typ = "ACCOUNT_TYPE_FIAT"
		}
		out = append(out, account{UUID: accountUUID(c.key.Name, b.Asset), Name: b.Asset + " Wallet", Currency: b.Asset,
			AvailableBalance: cbAmount{b.Free.String(), b.Asset}, Active: true, CreatedAt: created, UpdatedAt: created,
			Type: typ, Ready: true, Hold: cbAmount{b.Locked.String(), b.Asset}, RetailPortfolioID: portfolio,
			Platform: "ACCOUNT_PLATFORM_CONSUMER"})
	}
	page, next, ok := cbPage(c, len(out), 49, 250)
	if !ok {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "limit or cursor is invalid")
	}
	out = out[page.from:page.to]
	return cbAnswer{http.StatusOK, map[string]any{"accounts": out, "has_next": next != "", "cursor": next, "size": len(out)}}
}

// cbRange is the part of a list one page answers.
type cbRange struct{ from, to int }

// cbPage reads the limit and cursor parameters of a paginated list of n
// items (accounts/list-accounts, orders/list-orders, orders/list-fills):
// limit defaults to def and may not exceed max (0: no bound), and cursor
// is the opaque value the previous page returned (here, the offset of
// the next item). It returns the page, the cursor of the next page ("" at
// the end) and whether the parameters were valid.
func cbPage(c *cbCall, n, def, max int) (cbRange, string, bool) {
	q := c.r.URL.Query()
	limit := def
	if v := q.Get("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 1 || (max > 0 && l > max) {
			return cbRange{}, "", false
		}
		limit = l
	}
	from := 0
	if v := q.Get("cursor"); v != "" {
		f, err := strconv.Atoi(v)
		if err != nil || f < 0 || f > n {
			return cbRange{}, "", false
		}
		from = f
	}
	to := min(from+limit, n)
	next := ""
	if to < n {
		next = strconv.Itoa(to)
	}
	return cbRange{from, to}, next, true
}

// cbOrderRequest is a create-order body as the venue reads it: with Go's
// encoding/json, so a key given twice takes its last value.
type cbOrderRequest struct {
	ClientOrderID      string                     `json:"client_order_id"`
	ProductID          string                     `json:"product_id"`
	Side               string                     `json:"side"`
	OrderConfiguration map[string]json.RawMessage `json:"order_configuration"`
}

type cbConfig struct {
	QuoteSize  string `json:"quote_size"`
	BaseSize   string `json:"base_size"`
	LimitPrice string `json:"limit_price"`
	PostOnly   bool   `json:"post_only"`
	EndTime    string `json:"end_time"`
}

// cbReject is an order refusal inside a 200 answer.
type cbReject struct{ code, msg string }

func cbOrderFailure(r *cbReject) cbAnswer {
	return cbAnswer{http.StatusOK, map[string]any{
		"success": false, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": "",
		"error_response": map[string]string{"error": r.code, "message": r.msg, "error_details": r.msg,
			"preview_failure_reason": "PREVIEW_" + r.code, "new_order_failure_reason": r.code},
	}}
}

// parseCoinbaseOrder turns a create-order body into a market request.
func (cb *Coinbase) parseCoinbaseOrder(account string, body []byte, preview bool) (placeRequest, *cbOrderMeta, *cbReject) {
	var req cbOrderRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return placeRequest{}, nil, &cbReject{"INVALID_REQUEST", "request body is not a valid order"}
	}
	if !preview && req.ClientOrderID == "" {
		return placeRequest{}, nil, &cbReject{"INVALID_REQUEST", "client_order_id is required"}
	}
	p := cb.products[req.ProductID]
	if p == nil {
		return placeRequest{}, nil, &cbReject{"INVALID_PRODUCT_ID", "unknown product"}
	}
	if req.Side != "BUY" && req.Side != "SELL" {
		return placeRequest{}, nil, &cbReject{"INVALID_SIDE", "side must be BUY or SELL"}
	}
	if len(req.OrderConfiguration) != 1 {
		return placeRequest{}, nil, &cbReject{"UNSUPPORTED_ORDER_CONFIGURATION", "exactly one order configuration is required"}
	}
	r := placeRequest{account: account, symbol: req.ProductID, side: exchange.Side(req.Side), clientID: req.ClientOrderID, test: preview}
	meta := &cbOrderMeta{}
	for name, raw := range req.OrderConfiguration {
		var cfg cbConfig
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return placeRequest{}, nil, &cbReject{"INVALID_REQUEST", "order configuration is malformed"}
		}
		num := func(s string) (decimal.Decimal, bool) {
			if s == "" {
				return decimal.Decimal{}, true
			}
			d, err := decimal.NewFromString(s)
			return d, err == nil && d.Sign() > 0
		}
		base, ok1 := num(cfg.BaseSize)
		quote, ok2 := num(cfg.QuoteSize)
		price, ok3 := num(cfg.LimitPrice)
		if !ok1 || !ok2 || !ok3 || base.IsZero() == quote.IsZero() {
			return placeRequest{}, nil, &cbReject{"INVALID_REQUEST", "sizes or price are malformed"}
		}
		r.qty, r.quoteQty, r.price = base, quote, price
		limit := func(tif exchange.TimeInForce, coinbaseTIF string) *cbReject {
			if price.IsZero() || !quote.IsZero() {
				return &cbReject{"UNSUPPORTED_ORDER_CONFIGURATION", "limit orders take limit_price and base_size"}
			}
			r.typ, r.tif, meta.tif = exchange.Limit, tif, coinbaseTIF
			if cfg.PostOnly {
				r.typ = exchange.LimitMaker
			}
			return nil
		}
		var rej *cbReject
		switch name {
		case "market_market_ioc":
			r.typ, meta.tif = exchange.Market, "IMMEDIATE_OR_CANCEL"
		case "limit_limit_gtc":
			rej = limit(exchange.GTC, "GOOD_UNTIL_CANCELLED")
		case "limit_limit_gtd":
			// Resting like GTC: the simulator does not expire orders.
			if _, err := time.Parse(time.RFC3339Nano, cfg.EndTime); err != nil {
				return placeRequest{}, nil, &cbReject{"INVALID_END_TIME", "end_time is required"}
			}
			rej = limit(exchange.GTC, "GOOD_UNTIL_DATE_TIME")
		case "limit_limit_fok":
			rej = limit(exchange.FOK, "FILL_OR_KILL")
		case "sor_limit_ioc":
			rej = limit(exchange.IOC, "IMMEDIATE_OR_CANCEL")
		default:
			rej = &cbReject{"UNSUPPORTED_ORDER_CONFIGURATION", "order configuration " + name + " is not supported by the simulator"}
		}
		if rej != nil {
			return placeRequest{}, nil, rej
		}
		cfgJSON, _ := json.Marshal(map[string]json.RawMessage{name: raw})
		meta.config = cfgJSON
	}
	switch {
	case !p.takesOrders():
		return placeRequest{}, nil, &cbReject{"ORDER_ENTRY_DISABLED", "the product does not take new orders"}
	case p.LimitOnly && r.typ == exchange.Market:
		return placeRequest{}, nil, &cbReject{"UNSUPPORTED_ORDER_CONFIGURATION", "the product is in limit-only mode"}
	case p.PostOnly && r.typ != exchange.LimitMaker:
		return placeRequest{}, nil, &cbReject{"UNSUPPORTED_ORDER_CONFIGURATION", "the product is in post-only mode"}
	}
	return r, meta, nil
}

// cbMarketReject translates a market-core refusal into Coinbase's terms.
func cbMarketReject(err error) *cbReject {
	var fe *filterError
	switch {
	case errors.Is(err, errInsufficient):
		return &cbReject{"INSUFFICIENT_FUND", "Insufficient balance in source account"}
	case errors.Is(err, errWouldTake):
		return &cbReject{"INVALID_LIMIT_PRICE_POST_ONLY", "post-only order would cross the book"}
	case errors.Is(err, errHalted):
		return &cbReject{"ORDER_ENTRY_DISABLED", "the product does not take new orders"}
	case errors.As(err, &fe):
		switch fe.filter {
		case "PRICE_FILTER":
			return &cbReject{"INVALID_PRICE_PRECISION", "price is not a multiple of price_increment"}
		case "LOT_SIZE", "MARKET_LOT_SIZE":
			return &cbReject{"INVALID_SIZE_PRECISION", "size is outside the product's sizes or increment"}
		case "NOTIONAL":
			return &cbReject{"INVALID_LIMIT_PRICE", "order value is outside quote_min_size and quote_max_size"}
		}
		return &cbReject{"INVALID_REQUEST", fe.Error()}
	}
	return &cbReject{"UNKNOWN_FAILURE_REASON", err.Error()}
}

func (cb *Coinbase) cbCreateOrder(c *cbCall) cbAnswer {
	r, meta, rej := cb.parseCoinbaseOrder(c.key.Name, c.body, false)
	if rej != nil {
		return cbOrderFailure(rej)
	}
	// A client order id used before returns that order, as on Coinbase.
	for _, o := range cb.mkt.cbOrders(c.key.Name) {
		if o.clientID == r.clientID {
			return cb.createdAnswer(o, meta.config)
		}
	}
	fail, failing := cb.nextFail()
	if failing && !fail.execute {
		return cbFail(fail.status, "INTERNAL", "internal error")
	}
	o, err := cb.mkt.place(r)
	if err != nil {
		return cbOrderFailure(cbMarketReject(err))
	}
	cb.placed.Add(1)
	meta.uuid = cb.uuidOf(o.id)
	cb.mu.Lock()
	cb.meta[o.id] = meta
	cb.byUUID[meta.uuid] = o.id
	cb.mu.Unlock()
	if failing {
		return cbFail(fail.status, "INTERNAL", "internal error")
	}
	return cb.createdAnswer(o, meta.config)
}

func (cb *Coinbase) createdAnswer(o order, config json.RawMessage) cbAnswer {
	return cbAnswer{http.StatusOK, map[string]any{
		"success": true, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": cb.uuidOf(o.id),
		"success_response":    map[string]string{"order_id": cb.uuidOf(o.id), "product_id": o.symbol, "side": string(o.side), "client_order_id": o.clientID},
		"order_configuration": config,
	}}
}

func (cb *Coinbase) cbPreviewOrder(c *cbCall) cbAnswer {
	r, _, rej := cb.parseCoinbaseOrder(c.key.Name, c.body, true)
	if rej == nil {
		if _, err := cb.mkt.place(r); err != nil {
			rej = cbMarketReject(err)
		}
	}
	bid, ask, _, _ := cb.mkt.quote(r.symbol)
	errs := []string{}
	if rej != nil {
		errs = append(errs, "PREVIEW_"+rej.code)
	}
	return cbAnswer{http.StatusOK, map[string]any{
		"order_total": "0", "commission_total": "0", "errs": errs, "warning": []string{},
		"quote_size": r.quoteQty.String(), "base_size": r.qty.String(), "best_bid": bid.String(), "best_ask": ask.String(), "is_max": false,
	}}
}

// orderID resolves a Coinbase order id of an account to the market's.
func (cb *Coinbase) orderID(uuid string) (int64, bool) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	id, ok := cb.byUUID[uuid]
	return id, ok
}

func (cb *Coinbase) metaOf(id int64) *cbOrderMeta {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if m := cb.meta[id]; m != nil {
		c := *m
		return &c
	}
	return &cbOrderMeta{uuid: cb.uuidOf(id)}
}

func (cb *Coinbase) cbEditOrder(c *cbCall) cbAnswer {
	var req struct {
		OrderID string `json:"order_id"`
		Price   string `json:"price"`
		Size    string `json:"size"`
	}
	failed := func(reason string) cbAnswer {
		return cbAnswer{http.StatusOK, map[string]any{"success": false, "errors": []map[string]string{{"edit_failure_reason": reason}}}}
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "request body is not a valid edit")
	}
	price, err1 := decimal.NewFromString(req.Price)
	size, err2 := decimal.NewFromString(req.Size)
	if err1 != nil || err2 != nil || price.Sign() <= 0 || size.Sign() <= 0 {
		return failed("INVALID_EDIT_PRICE_OR_SIZE")
	}
	id, ok := cb.orderID(req.OrderID)
	if !ok {
		return failed("ORDER_NOT_FOUND")
	}
	if err := cb.mkt.cbEdit(c.key.Name, id, price, size); err != nil {
		switch {
		case errors.Is(err, errUnknownOrder), errors.Is(err, errUnknownAccount):
			return failed("ORDER_NOT_FOUND")
		case errors.Is(err, errInsufficient):
			return failed("INSUFFICIENT_FUNDS")
		}
		return failed("INVALID_EDIT_PRICE_OR_SIZE")
	}
	cb.mu.Lock()
	if m := cb.meta[id]; m != nil {
		var cfg map[string]map[string]any
		if json.Unmarshal(m.config, &cfg) == nil {
			for _, v := range cfg {
				v["limit_price"], v["base_size"] = price.String(), size.String()
			}
			m.config, _ = json.Marshal(cfg)
		}
	}
	cb.mu.Unlock()
	return cbAnswer{http.StatusOK, map[string]any{"success": true, "errors": []any{}}}
}

func (cb *Coinbase) cbBatchCancel(c *cbCall) cbAnswer {
	var req struct {
		OrderIDs []string `json:"order_ids"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil || len(req.OrderIDs) == 0 {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "order_ids is required")
	}
	type result struct {
		Success       bool   `json:"success"`
		FailureReason string `json:"failure_reason"`
		OrderID       string `json:"order_id"`
	}
	out := make([]result, 0, len(req.OrderIDs))
	for _, uuid := range req.OrderIDs {
		res := result{OrderID: uuid, FailureReason: "UNKNOWN_CANCEL_ORDER"}
		if id, ok := cb.orderID(uuid); ok {
			if o, err := cb.mkt.get(c.key.Name, orderRef{symbol: cb.symbolOf(c.key.Name, id), id: id}); err == nil {
				if _, err := cb.mkt.cancel(c.key.Name, orderRef{symbol: o.symbol, id: id}); err == nil {
					res.Success, res.FailureReason = true, "UNKNOWN_CANCEL_FAILURE_REASON"
				} else {
					res.FailureReason = "INVALID_CANCEL_REQUEST"
				}
			}
		}
		out = append(out, res)
	}
	return cbAnswer{http.StatusOK, map[string]any{"results": out}}
}

// symbolOf returns the product of an account's order, or "".
func (cb *Coinbase) symbolOf(account string, id int64) string {
	cb.mkt.mu.Lock()
	defer cb.mkt.mu.Unlock()
	if a := cb.mkt.accounts[account]; a != nil {
		if o := a.orders[id]; o != nil {
			return o.symbol
		}
	}
	return ""
}

func cbStatus(s exchange.OrderStatus) string {
	switch s {
	case exchange.StatusNew, exchange.StatusPartiallyFilled:
		return "OPEN"
	case exchange.StatusFilled:
		return "FILLED"
	case exchange.StatusCanceled:
		return "CANCELLED"
	case exchange.StatusExpired:
		return "EXPIRED"
	case exchange.StatusRejected:
		return "FAILED"
	}
	return "UNKNOWN_ORDER_STATUS"
}

func (cb *Coinbase) orderJSON(o order) map[string]any {
	m := cb.metaOf(o.id)
	typ := "LIMIT"
	if o.typ == exchange.Market {
		typ = "MARKET"
	}
	avg := "0"
	if o.executed.Sign() > 0 {
		avg = o.executedQuo.Div(o.executed).String()
	}
	var fees decimal.Decimal
	for _, t := range o.fills {
		fees = fees.Add(t.commission)
	}
	config := m.config
	if config == nil {
		config = json.RawMessage("{}")
	}
	// How much of the order is done: of its size, or of its quote size.
	done := decimal.Zero
	switch {
	case o.qty.Sign() > 0:
		done = o.executed.Div(o.qty).Mul(decimal.NewFromInt(100)).Round(2)
	case o.quoteQty.Sign() > 0:
		done = o.executedQuo.Add(fees).Div(o.quoteQty).Mul(decimal.NewFromInt(100)).Round(2)
	}
	lastFill := ""
	if n := len(o.fills); n > 0 {
		lastFill = cbTimeString(o.fills[n-1].time)
	}
	after := o.executedQuo.Add(fees)
	if o.side == exchange.Sell {
		after = o.executedQuo.Sub(fees)
	}
	return map[string]any{
		"order_id": m.uuid, "product_id": o.symbol, "user_id": o.account, "order_configuration": config,
		"side": string(o.side), "client_order_id": o.clientID, "status": cbStatus(o.status), "time_in_force": m.tif,
		"created_time": cbTimeString(o.created), "completion_percentage": done.String(),
		"filled_size": o.executed.String(), "average_filled_price": avg, "fee": "",
		"number_of_fills": strconv.Itoa(len(o.fills)), "filled_value": o.executedQuo.String(), "pending_cancel": false,
		"size_in_quote": !o.quoteQty.IsZero(), "total_fees": fees.String(), "size_inclusive_of_fees": !o.quoteQty.IsZero(),
		"total_value_after_fees": after.String(), "trigger_status": "INVALID_ORDER_TYPE", "order_type": typ,
		"reject_reason": "REJECT_REASON_UNSPECIFIED", "settled": !o.status.Open(), "product_type": "SPOT",
		"reject_message": "", "cancel_message": "", "order_placement_source": "RETAIL_ADVANCED",
		"outstanding_hold_amount": o.locked.String(), "is_liquidation": false, "last_fill_time": lastFill,
		"edit_history": []any{}, "leverage": "", "margin_type": "UNKNOWN_MARGIN_TYPE",
		"retail_portfolio_id": accountUUID(o.account, "portfolio"), "originating_order_id": "", "attached_order_id": "",
		"attached_order_configuration": nil,
	}
}

func (cb *Coinbase) cbGetOrder(c *cbCall) cbAnswer {
	id, ok := cb.orderID(c.id)
	if ok {
		if o, err := cb.mkt.get(c.key.Name, orderRef{symbol: cb.symbolOf(c.key.Name, id), id: id}); err == nil {
			return cbAnswer{http.StatusOK, map[string]any{"order": cb.orderJSON(o)}}
		}
	}
	return cbFail(http.StatusNotFound, "NOT_FOUND", "order with this orderID was not found")
}

// cbStatuses are the order_status values of List Orders.
var cbStatuses = []string{"OPEN", "FILLED", "CANCELLED", "EXPIRED", "FAILED", "UNKNOWN_ORDER_STATUS",
	"QUEUED", "CANCEL_QUEUED", "PENDING", "EDIT_QUEUED"}

// cbTimeRange reads two RFC 3339 bounds (either may be absent).
func cbTimeRange(q url.Values, fromKey, toKey string) (from, to time.Time, ok bool) {
	parse := func(k string) (time.Time, bool) {
		v := q.Get(k)
		if v == "" {
			return time.Time{}, true
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		return t, err == nil
	}
	from, ok1 := parse(fromKey)
	to, ok2 := parse(toKey)
	return from, to, ok1 && ok2
}

// inRange reports whether at is within [from, to] (a zero bound is open).
func inRange(at, from, to time.Time) bool {
	return (from.IsZero() || !at.Before(from)) && (to.IsZero() || !at.After(to))
}

// cbListOrders serves GET /api/v3/brokerage/orders/historical/batch
// (orders/list-orders): newest first, filtered by order_status,
// product_ids, order_side, order_types and start_date/end_date, paged by
// limit and cursor.
func (cb *Coinbase) cbListOrders(c *cbCall) cbAnswer {
	q := c.r.URL.Query()
	statuses := q["order_status"]
	products := append(q["product_ids"], q["product_id"]...)
	types := q["order_types"]
	side := q.Get("order_side")
	from, to, ok := cbTimeRange(q, "start_date", "end_date")
	for _, st := range statuses {
		if !slices.Contains(cbStatuses, st) {
			ok = false
		}
	}
	for _, t := range types {
		if t != "MARKET" && t != "LIMIT" && t != "STOP" && t != "STOP_LIMIT" && t != "BRACKET" && t != "TWAP" {
			ok = false
		}
	}
	if !ok || (side != "" && side != "BUY" && side != "SELL") {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "order_status, order_types, order_side, start_date or end_date is invalid")
	}
	orders := cb.mkt.cbOrders(c.key.Name)
	out := []map[string]any{}
	for i := len(orders) - 1; i >= 0; i-- { // newest first
		o := orders[i]
		j := cb.orderJSON(o)
		if (len(statuses) > 0 && !slices.Contains(statuses, cbStatus(o.status))) ||
			(len(products) > 0 && !slices.Contains(products, o.symbol)) ||
			(len(types) > 0 && !slices.Contains(types, j["order_type"].(string))) ||
			(side != "" && string(o.side) != side) || !inRange(o.created, from, to) {
			continue
		}
		out = append(out, j)
	}
	page, next, ok := cbPage(c, len(out), 1000, 1000)
	if !ok {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "limit or cursor is invalid")
	}
	out = out[page.from:page.to]
	return cbAnswer{http.StatusOK, map[string]any{"orders": out, "sequence": "0", "has_next": next != "", "cursor": next}}
}

// cbFills serves GET /api/v3/brokerage/orders/historical/fills
// (orders/list-fills): newest first, filtered by product_ids, order_ids
// and start/end_sequence_timestamp, paged by limit and cursor.
func (cb *Coinbase) cbFills(c *cbCall) cbAnswer {
	q := c.r.URL.Query()
	products := append(q["product_ids"], q["product_id"]...)
	orderIDs := append(q["order_ids"], q["order_id"]...)
	from, to, ok := cbTimeRange(q, "start_sequence_timestamp", "end_sequence_timestamp")
	if !ok {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "start_sequence_timestamp or end_sequence_timestamp is invalid")
	}
	out := []map[string]any{}
	trades := cb.mkt.cbTrades(c.key.Name)
	for i := len(trades) - 1; i >= 0; i-- { // newest first
		t := trades[i]
		uuid := cb.uuidOf(t.orderID)
		if (len(products) > 0 && !slices.Contains(products, t.symbol)) ||
			(len(orderIDs) > 0 && !slices.Contains(orderIDs, uuid)) || !inRange(t.time, from, to) {
			continue
		}
		liq := "TAKER"
		if t.maker {
			liq = "MAKER"
		}
		out = append(out, map[string]any{
			"entry_id": strconv.FormatInt(t.id, 10), "trade_id": strconv.FormatInt(t.id, 10), "order_id": uuid,
			"trade_time": cbTimeString(t.time), "trade_type": "FILL", "price": t.price.String(), "size": t.qty.String(),
			"commission": t.commission.String(), "product_id": t.symbol, "sequence_timestamp": cbTimeString(t.time),
			"liquidity_indicator": liq, "size_in_quote": false, "user_id": c.key.Name, "side": string(t.side),
			"retail_portfolio_id": accountUUID(c.key.Name, "portfolio"),
		})
	}
	page, next, ok := cbPage(c, len(out), 1000, 0)
	if !ok {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "limit or cursor is invalid")
	}
	return cbAnswer{http.StatusOK, map[string]any{"fills": out[page.from:page.to], "cursor": next}}
}

func (cb *Coinbase) cbKeyPermissions(c *cbCall) cbAnswer {
	p := c.key.Permissions
	return cbAnswer{http.StatusOK, map[string]any{
		"can_view": p.Read, "can_trade": p.Trade, "can_transfer": p.Transfer || p.Withdraw,
		"portfolio_uuid": accountUUID(c.key.Name, "portfolio"), "portfolio_type": "DEFAULT",
	}}
}

// cbMoveFunds executes a portfolio transfer: it debits the account, as the
// venue would. keyfence must never let one through.
func (cb *Coinbase) cbMoveFunds(c *cbCall) cbAnswer {
	var req struct {
		Funds  cbAmount `json:"funds"`
		Source string   `json:"source_portfolio_uuid"`
		Target string   `json:"target_portfolio_uuid"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "request body is not a valid transfer")
	}
	amt, err := decimal.NewFromString(req.Funds.Value)
	if err != nil || amt.Sign() <= 0 || req.Target == "" {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "funds and target_portfolio_uuid are required")
	}
	if _, err := cb.mkt.withdraw(c.key.Name, req.Funds.Currency, "portfolio", req.Target, amt); err != nil {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "insufficient funds")
	}
	return cbAnswer{http.StatusOK, map[string]string{"source_portfolio_uuid": req.Source, "target_portfolio_uuid": req.Target}}
}

// cbSend executes a v2 "send money" transaction: it debits the account,
// as the venue would. keyfence must never let one through.
func (cb *Coinbase) cbSend(c *cbCall) cbAnswer {
	v2err := func(status int, id, msg string) cbAnswer {
		return cbAnswer{status, map[string]any{"errors": []map[string]string{{"id": id, "message": msg}}}}
	}
	var req struct {
		Type     string `json:"type"`
		To       string `json:"to"`
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil || req.Type != "send" || req.To == "" {
		return v2err(http.StatusBadRequest, "validation_error", "type send, to, amount and currency are required")
	}
	if c.id != accountUUID(c.key.Name, req.Currency) {
		return v2err(http.StatusNotFound, "not_found", "account not found")
	}
	amt, err := decimal.NewFromString(req.Amount)
	if err != nil || amt.Sign() <= 0 {
		return v2err(http.StatusBadRequest, "validation_error", "amount must be positive")
	}
	w, err := cb.mkt.withdraw(c.key.Name, req.Currency, "send", req.To, amt)
	if err != nil {
		return v2err(http.StatusBadRequest, "insufficient_funds", "insufficient funds")
	}
	return cbAnswer{http.StatusCreated, map[string]any{"data": map[string]any{
		"id": w.ID, "type": "send", "status": "pending", "amount": map[string]string{"amount": amt.Neg().String(), "currency": req.Currency},
	}}}
}

// cbOrders returns copies of every order of an account, oldest first.
func (m *market) cbOrders(accountID string) []order {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return nil
	}
	var out []order
	for _, o := range sortedOrders(a, "", false) {
		out = append(out, *o)
	}
	return out
}

// cbTrades returns copies of every trade of an account, oldest first.
func (m *market) cbTrades(accountID string) []trade {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return nil
	}
	out := make([]trade, len(a.trades))
	for i, t := range a.trades {
		out[i] = *t
	}
	return out
}

// cbEdit changes the price and size of an open limit order and re-locks
// what it needs. An edit that would cross the book is refused (the
// simulator does not match edits).
func (m *market) cbEdit(accountID string, id int64, price, size decimal.Decimal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return errUnknownAccount
	}
	o := a.orders[id]
	if o == nil || !o.status.Open() || (o.typ != exchange.Limit && o.typ != exchange.LimitMaker) {
		return errUnknownOrder
	}
	if !size.GreaterThan(o.executed) {
		return &filterError{filter: "LOT_SIZE"}
	}
	s := m.symbols[o.symbol]
	if err := checkFilters(s, placeRequest{symbol: o.symbol, side: o.side, typ: o.typ, tif: o.tif, price: price, qty: size}, 0); err != nil {
		return err
	}
	bid, ask := bidAsk(s)
	if (o.side == exchange.Buy && price.GreaterThanOrEqual(ask)) || (o.side == exchange.Sell && price.LessThanOrEqual(bid)) {
		return errWouldTake
	}
	asset, need := s.Quote, price.Mul(size.Sub(o.executed))
	if m.feeInQuote {
		need = need.Mul(decimal.NewFromInt(1).Add(decimal.Max(m.makerFee, m.takerFee)))
	}
	if o.side == exchange.Sell {
		asset, need = s.Base, size.Sub(o.executed)
	}
	b := a.bal(asset)
	avail := b.free.Add(o.locked)
	if avail.LessThan(need) {
		return errInsufficient
	}
	b.locked = b.locked.Sub(o.locked).Add(need)
	b.free = avail.Sub(need)
	o.locked, o.price, o.qty, o.updated = need, price, size, m.now()
	return nil
}
