package kucoin

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// venueOrders are the client's look-ups for reconciliation.
type venueOrders struct{ c *Client }

// AllOpenOrders lists the open orders of every symbol that has some (GET
// /api/v1/hf/orders/active/symbols, then /api/v1/hf/orders/active per
// symbol).
func (v venueOrders) AllOpenOrders(ctx context.Context) ([]exchange.Order, error) {
	var ans struct {
		Symbols []string `json:"symbols"`
	}
	if err := v.c.signedJSON(ctx, http.MethodGet, "/api/v1/hf/orders/active/symbols", nil, &ans); err != nil {
		return nil, err
	}
	var out []exchange.Order
	for _, s := range ans.Symbols {
		os, err := v.c.OpenOrders(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, os...)
	}
	return out, nil
}

// LookUp reads an order by id, or by clientOid.
func (v venueOrders) LookUp(ctx context.Context, ref exchange.OrderRef) (exchange.Order, error) {
	id, path := ref.ID, "/api/v1/hf/orders/"
	if id == "" {
		id, path = ref.ClientID, "/api/v1/hf/orders/client-order/"
	}
	if !validID(id) {
		return exchange.Order{}, fmt.Errorf("%w: kucoin: order id %q", exchange.ErrMalformedRequest, id)
	}
	return v.c.lookUp(ctx, path+id, ref.Symbol)
}

// RecentOrders lists a symbol's closed orders since a time (GET
// /api/v1/hf/orders/done).
func (v venueOrders) RecentOrders(ctx context.Context, symbol string, since time.Time) ([]exchange.Order, error) {
	var ans struct {
		Items []orderJSON `json:"items"`
	}
	p := exchange.Params{{Key: "symbol", Value: symbol}, {Key: "startAt", Value: strconv.FormatInt(since.UnixMilli(), 10)},
		{Key: "limit", Value: "100"}}
	if err := v.c.signedJSON(ctx, http.MethodGet, "/api/v1/hf/orders/done", p, &ans); err != nil {
		return nil, err
	}
	out := make([]exchange.Order, len(ans.Items))
	for i := range ans.Items {
		out[i] = ans.Items[i].order()
	}
	return out, nil
}

// clientIDs gives the order of a POST /api/v1/hf/orders or .../sync body
// a clientOid where it has none, and refuses a batch order without one and
// a clientOid keyfence cannot record plainly (exchange.ValidClientID).
func clientIDs(req *exchange.Request) error {
	if req.Method != http.MethodPost {
		return nil
	}
	switch req.Path {
	case "/api/v1/hf/orders", "/api/v1/hf/orders/sync":
		body, err := exchange.EnsureJSONClientID(req.Body, "clientOid", newClientID)
		if err != nil {
			return err
		}
		req.Body = body
	case "/api/v1/hf/orders/multi", "/api/v1/hf/orders/multi/sync":
		return exchange.CheckJSONClientIDs(req.Body, "orderList", "clientOid")
	}
	return nil
}
