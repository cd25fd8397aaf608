package binance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// orderJSON is an order as Binance reports it.
type orderJSON struct {
	Symbol              string      `json:"symbol"`
	OrderID             json.Number `json:"orderId"`
	ClientOrderID       string      `json:"clientOrderId"`
	Price               string      `json:"price"`
	StopPrice           string      `json:"stopPrice"`
	OrigQty             string      `json:"origQty"`
	ExecutedQty         string      `json:"executedQty"`
	CummulativeQuoteQty string      `json:"cummulativeQuoteQty"`
	OrigQuoteOrderQty   string      `json:"origQuoteOrderQty"`
	Status              string      `json:"status"`
	TimeInForce         string      `json:"timeInForce"`
	Type                string      `json:"type"`
	Side                string      `json:"side"`
	Time                int64       `json:"time"`
	TransactTime        int64       `json:"transactTime"`
}

// orderAnswer is the answer of any order-creating route: a plain order, an
// order list (orderReports, or with newOrderRespType=ACK only orders), a
// cancel-replace (cancelResponse and newOrderResponse) or an amend
// (amendedOrder).
type orderAnswer struct {
	orderJSON
	OrderReports     []orderJSON `json:"orderReports"`
	Orders           []orderJSON `json:"orders"`
	NewOrderResponse *orderJSON  `json:"newOrderResponse"`
	CancelResponse   *orderJSON  `json:"cancelResponse"`
	AmendedOrder     *orderJSON  `json:"amendedOrder"`
}

func (a *orderAnswer) orders() []orderJSON {
	switch {
	case len(a.OrderReports) > 0:
		return a.OrderReports
	case len(a.Orders) > 0:
		return a.Orders
	case a.NewOrderResponse != nil:
		return []orderJSON{*a.NewOrderResponse}
	case a.AmendedOrder != nil:
		return []orderJSON{*a.AmendedOrder}
	case a.OrderID != "":
		return []orderJSON{a.orderJSON}
	}
	return nil
}

// partialAnswer reads the data of a cancelReplace refusal: -2021, whose
// new order was placed although the cancel failed, and -2022, whose cancel
// went through although the new order failed.
func partialAnswer(body []byte) (placed []orderJSON, cancelled *orderJSON) {
	var e struct {
		Data struct {
			CancelResult     string     `json:"cancelResult"`
			NewOrderResult   string     `json:"newOrderResult"`
			CancelResponse   *orderJSON `json:"cancelResponse"`
			NewOrderResponse *orderJSON `json:"newOrderResponse"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &e) != nil {
		return nil, nil
	}
	if e.Data.NewOrderResult == "SUCCESS" && e.Data.NewOrderResponse != nil {
		placed = []orderJSON{*e.Data.NewOrderResponse}
	}
	if e.Data.CancelResult == "SUCCESS" {
		cancelled = e.Data.CancelResponse
	}
	return placed, cancelled
}

// closedKnown reports whether an order report states that the order is
// closed and what it filled: a closed status and cummulativeQuoteQty.
func (j *orderJSON) closedKnown() bool {
	switch orderStatus(j.Status) {
	case exchange.StatusFilled, exchange.StatusCanceled, exchange.StatusExpired, exchange.StatusRejected:
		return j.CummulativeQuoteQty != ""
	}
	return false
}

// outcomeOf reads an accepted answer order by order. An order the answer
// reports open, or whose status and fills it does not state (the ACK
// answers, the default of every type but LIMIT and MARKET, and an order of
// the request the answer leaves out), holds its whole reservation until
// it is seen closed; a closed one counts its fill.
func outcomeOf(in *exchange.Intent, os []orderJSON) exchange.Outcome {
	var out exchange.Outcome
	answered := make(map[string]bool, len(os))
	symbol := ""
	if len(in.Orders) > 0 {
		symbol = in.Orders[0].Symbol
	}
	for i := range os {
		j := &os[i]
		o := j.order()
		if o.Symbol == "" {
			o.Symbol = symbol
		}
		answered[o.ClientID] = true
		switch {
		case j.closedKnown():
			out.FilledQuote = out.FilledQuote.Add(o.ExecutedQuo)
		default:
			out.Orders = append(out.Orders, exchange.OrderRef{ID: o.ID, ClientID: o.ClientID, Symbol: o.Symbol,
				Unknown: !o.Status.Open()})
		}
	}
	for i := range in.Orders {
		o := &in.Orders[i]
		if o.ID == "" && (o.ClientID == "" || !answered[o.ClientID]) {
			out.Orders = append(out.Orders, exchange.OrderRef{ClientID: o.ClientID, Symbol: o.Symbol, Unknown: true})
		}
	}
	return out
}

func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}
	}
	return d
}

func (j *orderJSON) order() exchange.Order {
	o := exchange.Order{
		Symbol:        j.Symbol,
		Side:          exchange.Side(j.Side),
		Type:          exchange.OrderType(j.Type),
		TimeInForce:   exchange.TimeInForce(j.TimeInForce),
		Price:         dec(j.Price),
		StopPrice:     dec(j.StopPrice),
		Quantity:      dec(j.OrigQty),
		QuoteQuantity: dec(j.OrigQuoteOrderQty),
		ClientID:      j.ClientOrderID,
		ID:            j.OrderID.String(),
		Status:        orderStatus(j.Status),
		Executed:      dec(j.ExecutedQty),
		ExecutedQuo:   dec(j.CummulativeQuoteQty),
	}
	if o.Type == exchange.Market {
		o.TimeInForce = ""
	}
	switch {
	case j.TransactTime > 0:
		o.Created = time.UnixMilli(j.TransactTime).UTC()
	case j.Time > 0:
		o.Created = time.UnixMilli(j.Time).UTC()
	}
	return o
}

func orderStatus(s string) exchange.OrderStatus {
	switch s {
	case "NEW", "PENDING_NEW":
		return exchange.StatusNew
	case "PARTIALLY_FILLED":
		return exchange.StatusPartiallyFilled
	case "FILLED":
		return exchange.StatusFilled
	case "PENDING_CANCEL":
		// The cancel is under way: the order can still fill.
		return exchange.StatusNew
	case "CANCELED":
		return exchange.StatusCanceled
	case "REJECTED":
		return exchange.StatusRejected
	case "EXPIRED", "EXPIRED_IN_MATCH":
		return exchange.StatusExpired
	}
	// A status keyfence does not know (or none) does not say the order
	// closed: it settles nothing.
	return exchange.StatusUnknown
}

// newClientID returns a random client order id, so that an order whose
// answer is lost can be looked up.
func newClientID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "kf-" + hex.EncodeToString(b[:]), nil
}

// PlaceOrder places a LIMIT, LIMIT_MAKER or MARKET order (by Quantity, or
// by QuoteQuantity where the symbol allows it), or a STOP_LOSS_LIMIT or
// TAKE_PROFIT_LIMIT order (Quantity, Price and its trigger StopPrice; GTC
// by default); the guard checks both prices against its band. The order is checked
// against the symbol's filters before anything is signed (an
// *exchange.FilterError), then runs through the guard. Without a ClientID
// the client sets a random one. When the venue's answer is lost or is a
// 5xx, the error wraps exchange.ErrOutcomeUnknown, the returned order has
// StatusUnknown and its ClientID: look it up before placing it again.
func (c *Client) PlaceOrder(ctx context.Context, o exchange.Order) (exchange.Order, error) {
	r, ok := c.rule(o.Symbol)
	if !ok {
		return o, fmt.Errorf("%w: binance: symbol %q is not listed in exchangeInfo", exchange.ErrMalformedRequest, o.Symbol)
	}
	switch o.Type {
	case exchange.Limit:
		if o.TimeInForce == "" {
			o.TimeInForce = exchange.GTC
		}
	case exchange.LimitMaker, exchange.Market:
		if o.TimeInForce != "" {
			return o, fmt.Errorf("%w: binance: %s orders take no time in force", exchange.ErrMalformedRequest, o.Type)
		}
	case exchange.StopLimit, exchange.TakeLimit:
		if o.TimeInForce == "" {
			o.TimeInForce = exchange.GTC
		}
		if o.Price.Sign() <= 0 || o.StopPrice.Sign() <= 0 || o.Quantity.Sign() <= 0 || !o.QuoteQuantity.IsZero() {
			return o, fmt.Errorf("%w: binance: a %s order needs a Quantity, a Price and a StopPrice, and takes no QuoteQuantity", exchange.ErrMalformedRequest, o.Type)
		}
	default:
		return o, fmt.Errorf("%w: binance: PlaceOrder takes LIMIT, LIMIT_MAKER, MARKET, STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT orders; send %q through Do", exchange.ErrMalformedRequest, o.Type)
	}
	if !o.StopPrice.IsZero() && o.Type != exchange.StopLimit && o.Type != exchange.TakeLimit {
		return o, fmt.Errorf("%w: binance: a StopPrice is for STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT orders, not %s", exchange.ErrMalformedRequest, o.Type)
	}
	if o.ClientID == "" {
		id, err := newClientID()
		if err != nil {
			return o, fmt.Errorf("binance: client order id: %w", err)
		}
		o.ClientID = id
	}
	ref := exchange.MarketReference(ctx, c.prices, o)
	if err := checkFilters(r, o, ref); err != nil {
		return o, err
	}

	p := exchange.Params{{Key: "symbol", Value: o.Symbol}, {Key: "side", Value: string(o.Side)}, {Key: "type", Value: string(o.Type)}}
	if o.TimeInForce != "" {
		p = append(p, exchange.Param{Key: "timeInForce", Value: string(o.TimeInForce)})
	}
	if !o.QuoteQuantity.IsZero() {
		p = append(p, exchange.Param{Key: "quoteOrderQty", Value: o.QuoteQuantity.String()})
	} else {
		p = append(p, exchange.Param{Key: "quantity", Value: o.Quantity.String()})
	}
	if !o.Price.IsZero() {
		p = append(p, exchange.Param{Key: "price", Value: o.Price.String()})
	}
	if !o.StopPrice.IsZero() {
		p = append(p, exchange.Param{Key: "stopPrice", Value: o.StopPrice.String()})
	}
	p = append(p, exchange.Param{Key: "newClientOrderId", Value: o.ClientID},
		exchange.Param{Key: "newOrderRespType", Value: "RESULT"})

	resp, _, err := c.conn.Signed(ctx, &exchange.Request{Credential: c.conn.Credential(), Method: http.MethodPost, Path: "/api/v3/order", Params: p})
	if err != nil {
		if errors.Is(err, exchange.ErrOutcomeUnknown) {
			o.Status, o.ID = exchange.StatusUnknown, ""
		}
		return o, err
	}
	var ans orderJSON
	if err := json.Unmarshal(resp.Body, &ans); err != nil || ans.OrderID == "" {
		o.Status = exchange.StatusUnknown
		return o, fmt.Errorf("%w: binance: order accepted but the answer is unreadable (client order id %s); look it up", exchange.ErrOutcomeUnknown, o.ClientID)
	}
	placed := ans.order()
	if placed.Symbol == "" {
		placed.Symbol = o.Symbol
	}
	if placed.Status == "" {
		placed.Status = exchange.StatusUnknown
	}
	return placed, nil
}

// CancelOrder cancels an order by venue id (DELETE /api/v3/order). Like
// every cancel the client sends, the orders it closed are reported to the
// guard.
func (c *Client) CancelOrder(ctx context.Context, symbol, id string) (exchange.Order, error) {
	var ans orderJSON
	err := c.signedJSON(ctx, http.MethodDelete, "/api/v3/order", exchange.Params{{Key: "symbol", Value: symbol}, {Key: "orderId", Value: id}}, &ans)
	if err != nil {
		return exchange.Order{}, err
	}
	o := ans.order()
	if o.ID == "" {
		o.ID = id
	}
	return o, nil
}

// GetOrder looks an order up by venue id (GET /api/v3/order); an order
// seen closed is reported to the guard.
func (c *Client) GetOrder(ctx context.Context, symbol, id string) (exchange.Order, error) {
	return c.getOrder(ctx, exchange.Params{{Key: "symbol", Value: symbol}, {Key: "orderId", Value: id}})
}

// GetOrderByClientID looks an order up by its client order id, e.g. after
// PlaceOrder returned exchange.ErrOutcomeUnknown.
func (c *Client) GetOrderByClientID(ctx context.Context, symbol, clientID string) (exchange.Order, error) {
	return c.getOrder(ctx, exchange.Params{{Key: "symbol", Value: symbol}, {Key: "origClientOrderId", Value: clientID}})
}

func (c *Client) getOrder(ctx context.Context, p exchange.Params) (exchange.Order, error) {
	o, err := c.lookUp(ctx, p)
	if err != nil {
		return exchange.Order{}, err
	}
	c.conn.Settler().Closed(ctx, o)
	return o, nil
}

// lookUp reads an order (GET /api/v3/order). An order whose report lacks
// its quote fill has StatusUnknown.
func (c *Client) lookUp(ctx context.Context, p exchange.Params) (exchange.Order, error) {
	var ans orderJSON
	if err := c.signedJSON(ctx, http.MethodGet, "/api/v3/order", p, &ans); err != nil {
		return exchange.Order{}, err
	}
	o := ans.order()
	if o.Status == "" || !o.Status.Open() && !ans.closedKnown() {
		o.Status = exchange.StatusUnknown
	}
	return o, nil
}

// OpenOrders lists open orders of a symbol, or of every symbol for "".
func (c *Client) OpenOrders(ctx context.Context, symbol string) ([]exchange.Order, error) {
	var p exchange.Params
	if symbol != "" {
		p = exchange.Params{{Key: "symbol", Value: symbol}}
	}
	var ans []orderJSON
	if err := c.signedJSON(ctx, http.MethodGet, "/api/v3/openOrders", p, &ans); err != nil {
		return nil, err
	}
	out := make([]exchange.Order, len(ans))
	for i := range ans {
		out[i] = ans[i].order()
	}
	return out, nil
}

// Fills lists the account's trades of a symbol (GET /api/v3/myTrades).
func (c *Client) Fills(ctx context.Context, symbol string) ([]exchange.Fill, error) {
	var ans []struct {
		Symbol          string      `json:"symbol"`
		ID              json.Number `json:"id"`
		OrderID         json.Number `json:"orderId"`
		Price           string      `json:"price"`
		Qty             string      `json:"qty"`
		Commission      string      `json:"commission"`
		CommissionAsset string      `json:"commissionAsset"`
		Time            int64       `json:"time"`
		IsBuyer         bool        `json:"isBuyer"`
	}
	if err := c.signedJSON(ctx, http.MethodGet, "/api/v3/myTrades", exchange.Params{{Key: "symbol", Value: symbol}}, &ans); err != nil {
		return nil, err
	}
	out := make([]exchange.Fill, len(ans))
	for i, t := range ans {
		side := exchange.Sell
		if t.IsBuyer {
			side = exchange.Buy
		}
		out[i] = exchange.Fill{Symbol: t.Symbol, OrderID: t.OrderID.String(), TradeID: t.ID.String(), Side: side,
			Price: dec(t.Price), Quantity: dec(t.Qty), Commission: dec(t.Commission), FeeAsset: t.CommissionAsset,
			Time: time.UnixMilli(t.Time).UTC()}
	}
	return out, nil
}

// Balances returns the account's non-zero balances (GET /api/v3/account).
func (c *Client) Balances(ctx context.Context) ([]exchange.Balance, error) {
	var ans struct {
		Balances []struct {
			Asset  string `json:"asset"`
			Free   string `json:"free"`
			Locked string `json:"locked"`
		} `json:"balances"`
	}
	if err := c.signedJSON(ctx, http.MethodGet, "/api/v3/account", exchange.Params{{Key: "omitZeroBalances", Value: "true"}}, &ans); err != nil {
		return nil, err
	}
	out := make([]exchange.Balance, 0, len(ans.Balances))
	for _, b := range ans.Balances {
		bal := exchange.Balance{Asset: b.Asset, Free: dec(b.Free), Locked: dec(b.Locked)}
		if bal.Total().IsZero() {
			continue
		}
		out = append(out, bal)
	}
	return out, nil
}

// Permissions reports what the key may do
// (GET /sapi/v1/account/apiRestrictions). Trading permissions on other
// products (margin, futures, options, portfolio margin, FIX trading) are
// reported in Other by their field names.
func (c *Client) Permissions(ctx context.Context) (exchange.Permissions, error) {
	var raw map[string]json.RawMessage
	if err := c.signedJSON(ctx, http.MethodGet, "/sapi/v1/account/apiRestrictions", nil, &raw); err != nil {
		return exchange.Permissions{}, err
	}
	return parsePermissions(raw)
}

// knownPermissions are apiRestrictions fields that carry no risk beyond
// what Permissions holds.
var knownPermissions = map[string]bool{
	"ipRestrict": true, "enableReading": true, "enableSpotAndMarginTrading": true, "enableWithdrawals": true,
	"enableInternalTransfer": true, "permitsUniversalTransfer": true, "enableFixReadOnly": true,
}

func parsePermissions(raw map[string]json.RawMessage) (exchange.Permissions, error) {
	flag := func(k string) bool {
		var b bool
		_ = json.Unmarshal(raw[k], &b)
		return b
	}
	if _, ok := raw["enableWithdrawals"]; !ok {
		return exchange.Permissions{}, errors.New("binance: apiRestrictions answer lacks enableWithdrawals")
	}
	p := exchange.Permissions{
		Read:         flag("enableReading"),
		Trade:        flag("enableSpotAndMarginTrading"),
		Withdraw:     flag("enableWithdrawals"),
		Transfer:     flag("enableInternalTransfer") || flag("permitsUniversalTransfer"),
		IPRestricted: flag("ipRestrict"),
	}
	for k := range raw {
		if !knownPermissions[k] && flag(k) {
			p.Other = append(p.Other, k)
		}
	}
	sort.Strings(p.Other)
	return p, nil
}

// signedJSON sends a signed request of the client's credential and decodes
// a 2xx answer into v.
func (c *Client) signedJSON(ctx context.Context, method, path string, p exchange.Params, v any) error {
	resp, _, err := c.conn.Signed(ctx, &exchange.Request{Credential: c.conn.Credential(), Method: method, Path: path, Params: p})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return fmt.Errorf("binance: %s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}
