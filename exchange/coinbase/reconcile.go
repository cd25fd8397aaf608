package coinbase

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// venueOrders are the client's look-ups for reconciliation.
type venueOrders struct{ c *Client }

// AllOpenOrders lists the open orders of every product.
func (v venueOrders) AllOpenOrders(ctx context.Context) ([]exchange.Order, error) {
	return v.c.OpenOrders(ctx, "")
}

// LookUp reads an order by id (GET /orders/historical/{id}), or finds it
// by client order id in the product's orders: Coinbase has no look-up by
// client order id.
func (v venueOrders) LookUp(ctx context.Context, ref exchange.OrderRef) (exchange.Order, error) {
	if ref.ID != "" {
		if !idSegment(ref.ID) {
			return exchange.Order{}, fmt.Errorf("%w: coinbase: order id %q", exchange.ErrMalformedRequest, ref.ID)
		}
		var ans struct {
			Order orderJSON `json:"order"`
		}
		if err := v.c.signedJSON(ctx, http.MethodGet, "/orders/historical/"+ref.ID, nil, nil, &ans); err != nil {
			return exchange.Order{}, err
		}
		return ans.Order.order(), nil
	}
	orders, err := v.c.listOrders(ctx, exchange.Params{{Key: "product_ids", Value: ref.Symbol}})
	if err != nil {
		return exchange.Order{}, err
	}
	for _, o := range orders {
		if o.ClientID == ref.ClientID {
			return o, nil
		}
	}
	return exchange.Order{}, fmt.Errorf("%w: coinbase: no order of %s has client order id %s", exchange.ErrNotFound, ref.Symbol, ref.ClientID)
}

// RecentOrders lists a product's orders created since a time.
func (v venueOrders) RecentOrders(ctx context.Context, symbol string, since time.Time) ([]exchange.Order, error) {
	return v.c.listOrders(ctx, exchange.Params{{Key: "product_ids", Value: symbol},
		{Key: "start_date", Value: since.UTC().Format(time.RFC3339)}})
}

// listOrders reads GET /orders/historical/batch with p, every page.
func (c *Client) listOrders(ctx context.Context, p exchange.Params) ([]exchange.Order, error) {
	var out []exchange.Order
	cursor := ""
	for range maxPages {
		q := p
		if cursor != "" {
			q = append(append(exchange.Params(nil), p...), exchange.Param{Key: "cursor", Value: cursor})
		}
		var ans struct {
			Orders  []orderJSON `json:"orders"`
			HasNext bool        `json:"has_next"`
			Cursor  string      `json:"cursor"`
		}
		if err := c.signedJSON(ctx, http.MethodGet, "/orders/historical/batch", q, nil, &ans); err != nil {
			return nil, err
		}
		for i := range ans.Orders {
			out = append(out, ans.Orders[i].order())
		}
		if !ans.HasNext || ans.Cursor == "" || ans.Cursor == cursor {
			break
		}
		cursor = ans.Cursor
	}
	return out, nil
}

// clientIDs gives a create-order body a client_order_id where it has none
// and refuses one keyfence cannot record plainly (exchange.ValidClientID).
func clientIDs(req *exchange.Request) error {
	if req.Method != http.MethodPost || req.Path != Prefix+"/orders" {
		return nil
	}
	body, err := exchange.EnsureJSONClientID(req.Body, "client_order_id", newClientID)
	if err != nil {
		return err
	}
	req.Body = body
	return nil
}
