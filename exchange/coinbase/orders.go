package coinbase

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/internal/venue"
	"github.com/shopspring/decimal"
)

// maxPages bounds the pages read of a paginated list.
const maxPages = 100

// orderJSON is an order as Coinbase reports it
// (GET /orders/historical/{id} and /orders/historical/batch).
type orderJSON struct {
	OrderID            string          `json:"order_id"`
	ProductID          string          `json:"product_id"`
	Side               string          `json:"side"`
	ClientOrderID      string          `json:"client_order_id"`
	Status             string          `json:"status"`
	TimeInForce        string          `json:"time_in_force"`
	CreatedTime        string          `json:"created_time"`
	FilledSize         string          `json:"filled_size"`
	FilledValue        string          `json:"filled_value"`
	AverageFilledPrice string          `json:"average_filled_price"`
	OrderType          string          `json:"order_type"`
	OrderConfiguration json.RawMessage `json:"order_configuration"`
}

func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}
	}
	return d
}

func (j *orderJSON) order() exchange.Order {
	o := exchange.Order{Symbol: j.ProductID, Side: exchange.Side(j.Side), ClientID: j.ClientOrderID, ID: j.OrderID,
		Executed: dec(j.FilledSize), ExecutedQuo: dec(j.FilledValue)}
	configOf(&o, j.OrderConfiguration)
	if o.Type == "" {
		o.Type = exchange.OrderType(j.OrderType)
	}
	switch j.Status {
	case "OPEN", "PENDING", "QUEUED", "CANCEL_QUEUED":
		o.Status = exchange.StatusNew
		if o.Executed.Sign() > 0 {
			o.Status = exchange.StatusPartiallyFilled
		}
	case "FILLED":
		o.Status = exchange.StatusFilled
	case "CANCELLED":
		o.Status = exchange.StatusCanceled
	case "EXPIRED":
		o.Status = exchange.StatusExpired
	case "FAILED":
		o.Status = exchange.StatusRejected
	default:
		o.Status = exchange.StatusUnknown
	}
	if t, err := time.Parse(time.RFC3339Nano, j.CreatedTime); err == nil {
		o.Created = t.UTC()
	}
	return o
}

// newClientID returns a random client order id, so that an order whose
// answer is lost can be looked up.
func newClientID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "kf-" + hex.EncodeToString(b[:]), nil
}

// orderBody builds the create-order body of o.
func orderBody(o exchange.Order) ([]byte, error) {
	cfg := map[string]any{}
	size := func() {
		if !o.QuoteQuantity.IsZero() {
			cfg["quote_size"] = o.QuoteQuantity.String()
		} else {
			cfg["base_size"] = o.Quantity.String()
		}
	}
	var name string
	switch {
	case o.Type == exchange.Market:
		name = "market_market_ioc"
		size()
	case o.Type == exchange.LimitMaker || (o.Type == exchange.Limit && o.TimeInForce == exchange.GTC):
		name = "limit_limit_gtc"
		size()
		cfg["limit_price"] = o.Price.String()
		cfg["post_only"] = o.Type == exchange.LimitMaker
	case o.Type == exchange.Limit && o.TimeInForce == exchange.IOC:
		name = "sor_limit_ioc"
		size()
		cfg["limit_price"] = o.Price.String()
	case o.Type == exchange.Limit && o.TimeInForce == exchange.FOK:
		name = "limit_limit_fok"
		size()
		cfg["limit_price"] = o.Price.String()
	default:
		return nil, fmt.Errorf("%w: coinbase: PlaceOrder takes MARKET, LIMIT (GTC, IOC, FOK) and LIMIT_MAKER orders; send %s %s through Do",
			exchange.ErrMalformedRequest, o.Type, o.TimeInForce)
	}
	return json.Marshal(struct {
		ClientOrderID string                    `json:"client_order_id"`
		ProductID     string                    `json:"product_id"`
		Side          string                    `json:"side"`
		Config        map[string]map[string]any `json:"order_configuration"`
	}{o.ClientID, o.Symbol, string(o.Side), map[string]map[string]any{name: cfg}})
}

// PlaceOrder places a MARKET order (by Quantity, or by QuoteQuantity), a
// LIMIT order (GTC by default, IOC or FOK) or a LIMIT_MAKER (post-only GTC)
// order. The order is checked against the product's flags and increments
// before anything is signed (an *exchange.FilterError), then runs through
// the guard. Without a ClientID the client sets a random one. After the
// venue accepts the order, the client reads it back for its status and
// fills. When the venue's answer is lost or is a 5xx, the error wraps
// exchange.ErrOutcomeUnknown and the returned order has StatusUnknown and
// its ClientID: look it up before placing it again.
func (c *Client) PlaceOrder(ctx context.Context, o exchange.Order) (exchange.Order, error) {
	p, ok := c.product(o.Symbol)
	if !ok {
		return o, fmt.Errorf("%w: coinbase: product %q is not listed", exchange.ErrMalformedRequest, o.Symbol)
	}
	switch o.Type {
	case exchange.Limit:
		if o.TimeInForce == "" {
			o.TimeInForce = exchange.GTC
		}
	case exchange.LimitMaker:
		if o.TimeInForce != "" && o.TimeInForce != exchange.GTC {
			return o, fmt.Errorf("%w: coinbase: post-only orders are GTC here; send GTD through Do", exchange.ErrMalformedRequest)
		}
		o.TimeInForce = exchange.GTC
	case exchange.Market:
		if o.TimeInForce != "" {
			return o, fmt.Errorf("%w: coinbase: market orders take no time in force", exchange.ErrMalformedRequest)
		}
	}
	if o.ClientID == "" {
		id, err := newClientID()
		if err != nil {
			return o, fmt.Errorf("coinbase: client order id: %w", err)
		}
		o.ClientID = id
	}
	ref := venue.MarketReference(ctx, c.prices, o)
	if err := checkProduct(p, o, ref); err != nil {
		return o, err
	}
	body, err := orderBody(o)
	if err != nil {
		return o, err
	}
	resp, err := c.signedRequest(ctx, http.MethodPost, "/orders", nil, body)
	if err != nil {
		if errors.Is(err, exchange.ErrOutcomeUnknown) {
			o.Status, o.ID = exchange.StatusUnknown, ""
		}
		return o, err
	}
	var ans struct {
		SuccessResponse struct {
			OrderID string `json:"order_id"`
		} `json:"success_response"`
	}
	_ = json.Unmarshal(resp.Body, &ans)
	o.ID, o.Status = ans.SuccessResponse.OrderID, exchange.StatusNew
	placed, err := c.GetOrder(ctx, o.Symbol, o.ID)
	if err != nil {
		// Placed, but not read back: the guard keeps it open until it is.
		c.conn.Logger().LogAttrs(ctx, slog.LevelWarn, "coinbase: order placed but not read back",
			slog.String("order", o.ID), slog.String("error", err.Error()))
		return o, nil
	}
	return placed, nil
}

// EditOrder changes the price and size of an open limit order this client
// placed or read (POST /orders/edit). The guard values the edit as a new
// limit order at the new price and size.
func (c *Client) EditOrder(ctx context.Context, id string, price, size decimal.Decimal) error {
	body, err := json.Marshal(struct {
		OrderID string `json:"order_id"`
		Price   string `json:"price"`
		Size    string `json:"size"`
	}{id, price.String(), size.String()})
	if err != nil {
		return err
	}
	_, err = c.signedRequest(ctx, http.MethodPost, "/orders/edit", nil, body)
	return err
}

// CancelOrder cancels an order by id (POST /orders/batch_cancel), reads it
// back and reports it closed to the guard.
func (c *Client) CancelOrder(ctx context.Context, symbol, id string) (exchange.Order, error) {
	body, err := json.Marshal(struct {
		OrderIDs []string `json:"order_ids"`
	}{[]string{id}})
	if err != nil {
		return exchange.Order{}, err
	}
	var ans struct {
		Results []struct {
			Success       bool   `json:"success"`
			FailureReason string `json:"failure_reason"`
			OrderID       string `json:"order_id"`
		} `json:"results"`
	}
	if err := c.signedJSON(ctx, http.MethodPost, "/orders/batch_cancel", nil, body, &ans); err != nil {
		return exchange.Order{}, err
	}
	if len(ans.Results) != 1 || ans.Results[0].OrderID != id {
		return exchange.Order{}, fmt.Errorf("coinbase: cancel %s: the answer does not name the order; look it up", id)
	}
	if r := ans.Results[0]; !r.Success {
		return exchange.Order{}, orderFailure(r.FailureReason, "cancel refused")
	}
	o, err := c.GetOrder(ctx, symbol, id)
	if err != nil {
		o = exchange.Order{Symbol: symbol, ID: id, Status: exchange.StatusCanceled}
		c.conn.Settler().Closed(ctx, o)
	}
	return o, nil
}

// GetOrder looks an order up by id (GET /orders/historical/{id}); an
// order seen closed is reported to the guard, and the order is tracked so
// that it can be edited.
func (c *Client) GetOrder(ctx context.Context, symbol, id string) (exchange.Order, error) {
	if !idSegment(id) {
		return exchange.Order{}, fmt.Errorf("%w: coinbase: order id %q", exchange.ErrMalformedRequest, id)
	}
	var ans struct {
		Order orderJSON `json:"order"`
	}
	if err := c.signedJSON(ctx, http.MethodGet, "/orders/historical/"+id, nil, nil, &ans); err != nil {
		return exchange.Order{}, err
	}
	o := ans.Order.order()
	if symbol != "" && o.Symbol != symbol {
		return exchange.Order{}, fmt.Errorf("%w: coinbase: order %s is on %s, not %s", exchange.ErrNotFound, id, o.Symbol, symbol)
	}
	c.track(o)
	c.conn.Settler().Closed(ctx, o)
	return o, nil
}

func (c *Client) track(o exchange.Order) {
	if o.Status.Open() {
		c.scheme.track(o.ID, trackedOrder{Product: o.Symbol, Side: o.Side, PostOnly: o.Type == exchange.LimitMaker, TIF: o.TimeInForce})
	}
}

// OpenOrders lists open orders of a product, or of every product for ""
// (GET /orders/historical/batch?order_status=OPEN).
func (c *Client) OpenOrders(ctx context.Context, product string) ([]exchange.Order, error) {
	var out []exchange.Order
	cursor := ""
	for range maxPages {
		p := exchange.Params{{Key: "order_status", Value: "OPEN"}}
		if product != "" {
			p = append(p, exchange.Param{Key: "product_ids", Value: product})
		}
		if cursor != "" {
			p = append(p, exchange.Param{Key: "cursor", Value: cursor})
		}
		var ans struct {
			Orders  []orderJSON `json:"orders"`
			HasNext bool        `json:"has_next"`
			Cursor  string      `json:"cursor"`
		}
		if err := c.signedJSON(ctx, http.MethodGet, "/orders/historical/batch", p, nil, &ans); err != nil {
			return nil, err
		}
		for i := range ans.Orders {
			o := ans.Orders[i].order()
			c.track(o)
			out = append(out, o)
		}
		if !ans.HasNext || ans.Cursor == "" || ans.Cursor == cursor {
			return out, nil
		}
		cursor = ans.Cursor
	}
	return out, nil
}

// Fills lists the account's fills of a product
// (GET /orders/historical/fills). Fees are in the quote currency.
func (c *Client) Fills(ctx context.Context, product string) ([]exchange.Fill, error) {
	var out []exchange.Fill
	quote := ""
	if p, ok := c.product(product); ok {
		quote = p.Info.Quote
	}
	cursor := ""
	for range maxPages {
		p := exchange.Params{{Key: "product_ids", Value: product}}
		if cursor != "" {
			p = append(p, exchange.Param{Key: "cursor", Value: cursor})
		}
		var ans struct {
			Fills []struct {
				TradeID     string `json:"trade_id"`
				OrderID     string `json:"order_id"`
				TradeTime   string `json:"trade_time"`
				Price       string `json:"price"`
				Size        string `json:"size"`
				Commission  string `json:"commission"`
				ProductID   string `json:"product_id"`
				Side        string `json:"side"`
				SizeInQuote bool   `json:"size_in_quote"`
			} `json:"fills"`
			Cursor string `json:"cursor"`
		}
		if err := c.signedJSON(ctx, http.MethodGet, "/orders/historical/fills", p, nil, &ans); err != nil {
			return nil, err
		}
		for _, f := range ans.Fills {
			price, size := dec(f.Price), dec(f.Size)
			if f.SizeInQuote && price.Sign() > 0 {
				size = size.Div(price)
			}
			t, _ := time.Parse(time.RFC3339Nano, f.TradeTime)
			out = append(out, exchange.Fill{Symbol: f.ProductID, OrderID: f.OrderID, TradeID: f.TradeID, Side: exchange.Side(f.Side),
				Price: price, Quantity: size, Commission: dec(f.Commission), FeeAsset: quote, Time: t.UTC()})
		}
		if ans.Cursor == "" || ans.Cursor == cursor || len(ans.Fills) == 0 {
			return out, nil
		}
		cursor = ans.Cursor
	}
	return out, nil
}

// Balances returns the account's non-zero balances (GET /accounts):
// available_balance as Free, hold as Locked.
func (c *Client) Balances(ctx context.Context) ([]exchange.Balance, error) {
	type amount struct {
		Value    string `json:"value"`
		Currency string `json:"currency"`
	}
	var out []exchange.Balance
	cursor := ""
	for range maxPages {
		p := exchange.Params{{Key: "limit", Value: "250"}}
		if cursor != "" {
			p = append(p, exchange.Param{Key: "cursor", Value: cursor})
		}
		var ans struct {
			Accounts []struct {
				Currency         string `json:"currency"`
				AvailableBalance amount `json:"available_balance"`
				Hold             amount `json:"hold"`
			} `json:"accounts"`
			HasNext bool   `json:"has_next"`
			Cursor  string `json:"cursor"`
		}
		if err := c.signedJSON(ctx, http.MethodGet, "/accounts", p, nil, &ans); err != nil {
			return nil, err
		}
		for _, a := range ans.Accounts {
			b := exchange.Balance{Asset: a.Currency, Free: dec(a.AvailableBalance.Value), Locked: dec(a.Hold.Value)}
			if !b.Total().IsZero() {
				out = append(out, b)
			}
		}
		if !ans.HasNext || ans.Cursor == "" || ans.Cursor == cursor {
			break
		}
		cursor = ans.Cursor
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Asset < out[j].Asset })
	return out, nil
}

// Permissions reports what the key may do (GET /key_permissions):
// can_view is Read, can_trade Trade, can_transfer both Transfer and
// Withdraw (Coinbase's transfer scope covers sends). Coinbase does not
// report IP restrictions, so IPRestricted is always false. Other true
// can_* flags are reported in Other.
func (c *Client) Permissions(ctx context.Context) (exchange.Permissions, error) {
	var raw map[string]json.RawMessage
	if err := c.signedJSON(ctx, http.MethodGet, "/key_permissions", nil, nil, &raw); err != nil {
		return exchange.Permissions{}, err
	}
	return parsePermissions(raw)
}

// harmlessPermissions are key_permissions flags that carry no risk beyond
// what Permissions holds.
var harmlessPermissions = map[string]bool{"can_view": true, "can_trade": true, "can_transfer": true, "can_receive": true}

func parsePermissions(raw map[string]json.RawMessage) (exchange.Permissions, error) {
	flag := func(k string) bool {
		var b bool
		_ = json.Unmarshal(raw[k], &b)
		return b
	}
	if _, ok := raw["can_transfer"]; !ok {
		return exchange.Permissions{}, errors.New("coinbase: key_permissions answer lacks can_transfer")
	}
	p := exchange.Permissions{Read: flag("can_view"), Trade: flag("can_trade"), Transfer: flag("can_transfer"), Withdraw: flag("can_transfer")}
	for k := range raw {
		if len(k) > 4 && k[:4] == "can_" && !harmlessPermissions[k] && flag(k) {
			p.Other = append(p.Other, k)
		}
	}
	sort.Strings(p.Other)
	return p, nil
}
