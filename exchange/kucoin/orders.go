package kucoin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// placed is the answer of an order-creating route for one order: orderId
// and clientOid, and on the sync routes the state after matching.
type placed struct {
	OrderID    string `json:"orderId"`
	NewOrderID string `json:"newOrderId"` // alter
	ClientOid  string `json:"clientOid"`
	Success    *bool  `json:"success"` // batch elements
	FailMsg    string `json:"failMsg"`
	Status     string `json:"status"` // sync: "open" or "done"
	DealSize   string `json:"dealSize"`
	DealFunds  string `json:"dealFunds"`
	OrderTime  int64  `json:"orderTime"`
}

// outcomeOf reads what the venue made of an accepted order request,
// order by order. Only the sync routes state an order's status and fills
// ("status" open or done, "dealFunds"); the other routes answer an orderId
// and a clientOid (an alter, the new order's id), so their orders hold
// their whole reservation until a look-up sees them closed, whatever
// their type. A batch lists its orders with success true or false; an
// order of the request the answer leaves out is of unknown outcome.
// any is false when the venue refused every order.
func outcomeOf(in *exchange.Intent, data json.RawMessage) (out exchange.Outcome, any, ok bool) {
	var list []placed
	if err := json.Unmarshal(data, &list); err != nil {
		var one placed
		if err := json.Unmarshal(data, &one); err != nil {
			return exchange.Outcome{}, false, false
		}
		list = []placed{one}
	}
	answered := make(map[string]bool, len(list))
	symbol := ""
	if len(in.Orders) > 0 {
		symbol = in.Orders[0].Symbol
	}
	for i, p := range list {
		answered[p.ClientOid] = true
		if p.Success != nil && !*p.Success {
			continue
		}
		id := p.OrderID
		if p.NewOrderID != "" {
			id = p.NewOrderID
		}
		if id == "" {
			return exchange.Outcome{}, false, false
		}
		any = true
		sym := symbol
		if i < len(in.Orders) && in.Orders[i].Symbol != "" {
			sym = in.Orders[i].Symbol
		}
		ref := exchange.OrderRef{ID: id, ClientID: p.ClientOid, Symbol: sym}
		switch {
		case p.Status == "done" && p.DealFunds != "":
			out.FilledQuote = out.FilledQuote.Add(dec(p.DealFunds))
		case p.Status == "open":
			out.Orders = append(out.Orders, ref)
		default:
			ref.Unknown = true
			out.Orders = append(out.Orders, ref)
		}
	}
	for i := range in.Orders {
		o := &in.Orders[i]
		if o.ID == "" && (o.ClientID == "" || !answered[o.ClientID]) {
			any = true // the venue may have placed it
			out.Orders = append(out.Orders, exchange.OrderRef{ClientID: o.ClientID, Symbol: o.Symbol, Unknown: true})
		}
	}
	return out, any, true
}

func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}
	}
	return d
}

// orderJSON is an order as GET /api/v1/hf/orders/{orderId} reports it.
type orderJSON struct {
	ID          string `json:"id"`
	ClientOid   string `json:"clientOid"`
	Symbol      string `json:"symbol"`
	Type        string `json:"type"`
	Side        string `json:"side"`
	Price       string `json:"price"`
	Size        string `json:"size"`
	Funds       string `json:"funds"`
	DealSize    string `json:"dealSize"`
	DealFunds   string `json:"dealFunds"`
	TimeInForce string `json:"timeInForce"`
	PostOnly    bool   `json:"postOnly"`
	Active      *bool  `json:"active"` // nil: the answer does not say
	InOrderBook bool   `json:"inOrderBook"`
	CancelExist bool   `json:"cancelExist"`
	CreatedAt   int64  `json:"createdAt"`
}

func (j *orderJSON) order() exchange.Order {
	o := exchange.Order{
		Symbol: j.Symbol, Price: dec(j.Price), Quantity: dec(j.Size), QuoteQuantity: dec(j.Funds),
		ClientID: j.ClientOid, ID: j.ID, Executed: dec(j.DealSize), ExecutedQuo: dec(j.DealFunds),
	}
	switch j.Side {
	case "buy":
		o.Side = exchange.Buy
	case "sell":
		o.Side = exchange.Sell
	}
	switch j.Type {
	case "limit":
		o.Type = exchange.Limit
		if j.PostOnly {
			o.Type = exchange.LimitMaker
		}
		o.TimeInForce = exchange.TimeInForce(j.TimeInForce)
		if j.TimeInForce == "GTT" {
			o.TimeInForce = exchange.GTD
		}
	case "market":
		o.Type = exchange.Market
		o.Price = decimal.Decimal{}
	}
	switch {
	case j.Active == nil:
		// An answer that does not say whether the order is active
		// settles nothing.
		o.Status = exchange.StatusUnknown
	case *j.Active && o.Executed.Sign() > 0:
		o.Status = exchange.StatusPartiallyFilled
	case *j.Active:
		o.Status = exchange.StatusNew
	case j.CancelExist:
		o.Status = exchange.StatusCanceled
	case o.Type == exchange.Market && o.Executed.Sign() > 0:
		o.Status = exchange.StatusFilled
	case !o.Quantity.IsZero() && o.Executed.Equal(o.Quantity):
		o.Status = exchange.StatusFilled
	default:
		o.Status = exchange.StatusExpired
	}
	if j.CreatedAt > 0 {
		o.Created = time.UnixMilli(j.CreatedAt).UTC()
	}
	return o
}

// newClientID returns a random client order id (32 hex digits), so that
// an order whose answer is lost can be looked up.
func newClientID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// orderBody is the JSON of a new order, in the field order KuCoin's
// documentation shows.
type orderBody struct {
	ClientOid   string `json:"clientOid"`
	Symbol      string `json:"symbol"`
	Side        string `json:"side"`
	Type        string `json:"type"`
	Price       string `json:"price,omitempty"`
	Size        string `json:"size,omitempty"`
	Funds       string `json:"funds,omitempty"`
	TimeInForce string `json:"timeInForce,omitempty"`
	PostOnly    bool   `json:"postOnly,omitempty"`
}

// PlaceOrder places a LIMIT, LIMIT_MAKER (post-only) or MARKET order (by
// Quantity, or by QuoteQuantity as KuCoin funds) through POST
// /api/v1/hf/orders/sync, which answers after matching. The order is
// checked against the symbol's rules before anything is signed (an
// *exchange.FilterError), then runs through the guard. Without a ClientID
// the client sets a random one. When the venue's answer is lost or is a
// 5xx, the error wraps exchange.ErrOutcomeUnknown and the returned order
// has StatusUnknown and its ClientID: look it up before placing it again.
func (c *Client) PlaceOrder(ctx context.Context, o exchange.Order) (exchange.Order, error) {
	r, ok := c.rule(o.Symbol)
	if !ok {
		return o, fmt.Errorf("%w: kucoin: symbol %q is not listed in /api/v2/symbols", exchange.ErrMalformedRequest, o.Symbol)
	}
	b := orderBody{Symbol: o.Symbol, Side: strings.ToLower(string(o.Side))}
	switch o.Type {
	case exchange.Limit, exchange.LimitMaker:
		b.Type, b.Price, b.Size = "limit", o.Price.String(), o.Quantity.String()
		switch o.TimeInForce {
		case "", exchange.GTC:
			b.TimeInForce = "GTC"
		case exchange.IOC, exchange.FOK:
			b.TimeInForce = string(o.TimeInForce)
		default:
			return o, fmt.Errorf("%w: kucoin: time in force %q: PlaceOrder takes GTC, IOC and FOK", exchange.ErrMalformedRequest, o.TimeInForce)
		}
		b.PostOnly = o.Type == exchange.LimitMaker
	case exchange.Market:
		if o.TimeInForce != "" || !o.Price.IsZero() {
			return o, fmt.Errorf("%w: kucoin: market orders take no price and no time in force", exchange.ErrMalformedRequest)
		}
		b.Type = "market"
		if !o.QuoteQuantity.IsZero() {
			b.Funds = o.QuoteQuantity.String()
		} else {
			b.Size = o.Quantity.String()
		}
	default:
		return o, fmt.Errorf("%w: kucoin: PlaceOrder takes LIMIT, LIMIT_MAKER and MARKET orders, not %q", exchange.ErrMalformedRequest, o.Type)
	}
	if o.ClientID == "" {
		id, err := newClientID()
		if err != nil {
			return o, fmt.Errorf("kucoin: client order id: %w", err)
		}
		o.ClientID = id
	}
	b.ClientOid = o.ClientID
	ref := exchange.MarketReference(ctx, c.prices, o)
	if err := checkFilters(r, o, ref); err != nil {
		return o, err
	}
	body, err := json.Marshal(b)
	if err != nil {
		return o, fmt.Errorf("kucoin: encoding the order: %w", err)
	}
	_, data, err := c.conn.Signed(ctx, &exchange.Request{Credential: c.conn.Credential(), Method: http.MethodPost, Path: "/api/v1/hf/orders/sync", Body: body})
	if err != nil {
		if errors.Is(err, exchange.ErrOutcomeUnknown) {
			o.Status, o.ID = exchange.StatusUnknown, ""
		}
		return o, err
	}
	var p placed
	if err := json.Unmarshal(data, &p); err != nil || p.OrderID == "" {
		o.Status = exchange.StatusUnknown
		return o, fmt.Errorf("%w: kucoin: order accepted but the answer is unreadable (clientOid %s); look it up", exchange.ErrOutcomeUnknown, o.ClientID)
	}
	o.ID = p.OrderID
	o.Executed, o.ExecutedQuo = dec(p.DealSize), dec(p.DealFunds)
	switch {
	case p.Status != "open" && (p.Status != "done" || p.DealFunds == ""):
		o.Status = exchange.StatusUnknown
	case p.Status == "open" && o.Executed.Sign() > 0:
		o.Status = exchange.StatusPartiallyFilled
	case p.Status == "open":
		o.Status = exchange.StatusNew
	case !o.Quantity.IsZero() && o.Executed.Equal(o.Quantity), o.Type == exchange.Market && o.Executed.Sign() > 0:
		o.Status = exchange.StatusFilled
	default:
		o.Status = exchange.StatusExpired
	}
	if p.OrderTime > 0 {
		o.Created = time.UnixMilli(p.OrderTime).UTC()
	}
	return o, nil
}

// CancelOrder cancels an order by venue id (DELETE
// /api/v1/hf/orders/{orderId}), then looks it up and returns it as it
// stands; the closed order is reported to the guard.
func (c *Client) CancelOrder(ctx context.Context, symbol, id string) (exchange.Order, error) {
	if !validID(id) {
		return exchange.Order{}, fmt.Errorf("%w: kucoin: order id %q", exchange.ErrMalformedRequest, id)
	}
	if err := c.signedJSON(ctx, http.MethodDelete, "/api/v1/hf/orders/"+id, exchange.Params{{Key: "symbol", Value: symbol}}, nil); err != nil {
		return exchange.Order{}, err
	}
	o, err := c.GetOrder(ctx, symbol, id)
	if err != nil {
		return exchange.Order{ID: id, Symbol: symbol, Status: exchange.StatusCanceled}, nil
	}
	return o, nil
}

// GetOrder looks an order up by venue id; an order seen closed is
// reported to the guard.
func (c *Client) GetOrder(ctx context.Context, symbol, id string) (exchange.Order, error) {
	if !validID(id) {
		return exchange.Order{}, fmt.Errorf("%w: kucoin: order id %q", exchange.ErrMalformedRequest, id)
	}
	return c.getOrder(ctx, "/api/v1/hf/orders/"+id, symbol)
}

// GetOrderByClientID looks an order up by its clientOid, e.g. after
// PlaceOrder returned exchange.ErrOutcomeUnknown.
func (c *Client) GetOrderByClientID(ctx context.Context, symbol, clientID string) (exchange.Order, error) {
	if !validID(clientID) {
		return exchange.Order{}, fmt.Errorf("%w: kucoin: client order id %q", exchange.ErrMalformedRequest, clientID)
	}
	return c.getOrder(ctx, "/api/v1/hf/orders/client-order/"+clientID, symbol)
}

func (c *Client) getOrder(ctx context.Context, path, symbol string) (exchange.Order, error) {
	o, err := c.lookUp(ctx, path, symbol)
	if err != nil {
		return exchange.Order{}, err
	}
	c.conn.Settler().Closed(ctx, o)
	return o, nil
}

// lookUp reads an order. An order whose record lacks its quote fill has
// StatusUnknown.
func (c *Client) lookUp(ctx context.Context, path, symbol string) (exchange.Order, error) {
	var j orderJSON
	if err := c.signedJSON(ctx, http.MethodGet, path, exchange.Params{{Key: "symbol", Value: symbol}}, &j); err != nil {
		return exchange.Order{}, err
	}
	o := j.order()
	if !o.Status.Open() && j.DealFunds == "" {
		o.Status = exchange.StatusUnknown
	}
	return o, nil
}

// OpenOrders lists the open orders of a symbol (GET
// /api/v1/hf/orders/active). KuCoin needs a symbol.
func (c *Client) OpenOrders(ctx context.Context, symbol string) ([]exchange.Order, error) {
	if symbol == "" {
		return nil, fmt.Errorf("%w: kucoin: open orders need a symbol", exchange.ErrMalformedRequest)
	}
	var list []orderJSON
	if err := c.signedJSON(ctx, http.MethodGet, "/api/v1/hf/orders/active", exchange.Params{{Key: "symbol", Value: symbol}}, &list); err != nil {
		return nil, err
	}
	out := make([]exchange.Order, len(list))
	for i := range list {
		out[i] = list[i].order()
	}
	return out, nil
}

// Fills lists the account's trades of a symbol (GET /api/v1/hf/fills).
func (c *Client) Fills(ctx context.Context, symbol string) ([]exchange.Fill, error) {
	var ans struct {
		Items []struct {
			ID          json.Number `json:"id"`
			TradeID     json.Number `json:"tradeId"`
			OrderID     string      `json:"orderId"`
			Symbol      string      `json:"symbol"`
			Side        string      `json:"side"`
			Price       string      `json:"price"`
			Size        string      `json:"size"`
			Fee         string      `json:"fee"`
			FeeCurrency string      `json:"feeCurrency"`
			CreatedAt   int64       `json:"createdAt"`
		} `json:"items"`
	}
	if err := c.signedJSON(ctx, http.MethodGet, "/api/v1/hf/fills", exchange.Params{{Key: "symbol", Value: symbol}}, &ans); err != nil {
		return nil, err
	}
	out := make([]exchange.Fill, len(ans.Items))
	for i, t := range ans.Items {
		side := exchange.Sell
		if t.Side == "buy" {
			side = exchange.Buy
		}
		out[i] = exchange.Fill{Symbol: t.Symbol, OrderID: t.OrderID, TradeID: t.TradeID.String(), Side: side,
			Price: dec(t.Price), Quantity: dec(t.Size), Commission: dec(t.Fee), FeeAsset: t.FeeCurrency,
			Time: time.UnixMilli(t.CreatedAt).UTC()}
	}
	return out, nil
}

// Balances returns the non-zero balances of the trade accounts (GET
// /api/v1/accounts?type=trade): available is free, holds is locked.
func (c *Client) Balances(ctx context.Context) ([]exchange.Balance, error) {
	var list []struct {
		Currency  string `json:"currency"`
		Type      string `json:"type"`
		Available string `json:"available"`
		Holds     string `json:"holds"`
	}
	if err := c.signedJSON(ctx, http.MethodGet, "/api/v1/accounts", exchange.Params{{Key: "type", Value: "trade"}}, &list); err != nil {
		return nil, err
	}
	out := make([]exchange.Balance, 0, len(list))
	for _, a := range list {
		if a.Type != "trade" {
			continue
		}
		b := exchange.Balance{Asset: a.Currency, Free: dec(a.Available), Locked: dec(a.Holds)}
		if b.Total().IsZero() {
			continue
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Asset < out[j].Asset })
	return out, nil
}

// Permissions reports what the key may do (GET /api/v1/user/api-key).
// KuCoin lists permissions by name: General is reading, Spot is spot
// trading, InnerTransfer and Transfer are transfers, a name holding
// "withdraw" (any case) is withdrawals; Margin, Futures, Earn and any name
// keyfence does not know go to Other, which a hygiene check treats as
// dangerous. An empty ipWhitelist means the key works from any address.
func (c *Client) Permissions(ctx context.Context) (exchange.Permissions, error) {
	var ans struct {
		Permission  *string `json:"permission"`
		IPWhitelist string  `json:"ipWhitelist"`
	}
	if err := c.signedJSON(ctx, http.MethodGet, "/api/v1/user/api-key", nil, &ans); err != nil {
		return exchange.Permissions{}, err
	}
	if ans.Permission == nil {
		return exchange.Permissions{}, errors.New("kucoin: api-key answer lacks permission")
	}
	return parsePermissions(*ans.Permission, ans.IPWhitelist), nil
}

func parsePermissions(list, ipWhitelist string) exchange.Permissions {
	p := exchange.Permissions{IPRestricted: strings.TrimSpace(ipWhitelist) != ""}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
		case strings.EqualFold(name, "General"):
			p.Read = true
		case strings.EqualFold(name, "Spot"):
			p.Trade = true
		case strings.EqualFold(name, "InnerTransfer"), strings.EqualFold(name, "Transfer"):
			p.Transfer = true
		case strings.Contains(strings.ToLower(name), "withdraw"):
			p.Withdraw = true
		default:
			p.Other = append(p.Other, name)
		}
	}
	sort.Strings(p.Other)
	return p
}

// signedJSON sends a signed request of the client's credential and
// decodes the answer's data into v (if not nil).
func (c *Client) signedJSON(ctx context.Context, method, path string, p exchange.Params, v any) error {
	_, data, err := c.conn.Signed(ctx, &exchange.Request{Credential: c.conn.Credential(), Method: method, Path: path, Params: p})
	if err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("kucoin: %s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}
