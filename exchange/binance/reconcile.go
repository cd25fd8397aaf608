package binance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// venueOrders are the client's look-ups for reconciliation.
type venueOrders struct{ c *Client }

// AllOpenOrders lists the open orders of every symbol
// (GET /api/v3/openOrders, weight 80).
func (v venueOrders) AllOpenOrders(ctx context.Context) ([]exchange.Order, error) {
	return v.c.OpenOrders(ctx, "")
}

// LookUp reads an order by id, or by client order id (GET /api/v3/order).
func (v venueOrders) LookUp(ctx context.Context, ref exchange.OrderRef) (exchange.Order, error) {
	p := exchange.Params{{Key: "symbol", Value: ref.Symbol}}
	if ref.ID != "" {
		p = append(p, exchange.Param{Key: "orderId", Value: ref.ID})
	} else {
		p = append(p, exchange.Param{Key: "origClientOrderId", Value: ref.ClientID})
	}
	return v.c.lookUp(ctx, p)
}

// RecentOrders lists a symbol's orders since a time
// (GET /api/v3/allOrders, weight 20).
func (v venueOrders) RecentOrders(ctx context.Context, symbol string, since time.Time) ([]exchange.Order, error) {
	var ans []orderJSON
	p := exchange.Params{{Key: "symbol", Value: symbol}, {Key: "startTime", Value: strconv.FormatInt(since.UnixMilli(), 10)},
		{Key: "limit", Value: "1000"}}
	if err := v.c.signedJSON(ctx, http.MethodGet, "/api/v3/allOrders", p, &ans); err != nil {
		return nil, err
	}
	out := make([]exchange.Order, len(ans))
	for i := range ans {
		out[i] = ans[i].order()
	}
	return out, nil
}

// clientIDParams names, per order-creating route, the parameters that
// carry the client order id of each order it creates.
var clientIDParams = map[string][]string{
	"/api/v3/order":               {"newClientOrderId"},
	"/api/v3/order/cancelReplace": {"newClientOrderId"},
	"/api/v3/sor/order":           {"newClientOrderId"},
	"/api/v3/orderList/oco":       {"aboveClientOrderId", "belowClientOrderId"},
	"/api/v3/orderList/oto":       {"workingClientOrderId", "pendingClientOrderId"},
	"/api/v3/orderList/otoco":     {"workingClientOrderId", "pendingAboveClientOrderId", "pendingBelowClientOrderId"},
	"/api/v3/orderList/opo":       {"workingClientOrderId", "pendingClientOrderId"},
	"/api/v3/orderList/opoco":     {"workingClientOrderId", "pendingAboveClientOrderId", "pendingBelowClientOrderId"},
	"/api/v3/order/oco":           {"limitClientOrderId", "stopClientOrderId"},
}

// maxClientIDLen is Binance's limit on a client order id.
const maxClientIDLen = 36

// clientIDs gives every order a POST request creates a client order id
// where it has none, and refuses one keyfence cannot record plainly
// (exchange.ValidClientID) or Binance would refuse (over 36 characters).
func clientIDs(req *exchange.Request) error {
	if req.Method != http.MethodPost {
		return nil
	}
	names := clientIDParams[req.Path]
	if len(names) == 0 {
		return nil
	}
	var body url.Values
	if len(req.Body) > 0 {
		var err error
		if body, err = url.ParseQuery(string(req.Body)); err != nil {
			return fmt.Errorf("%w: binance: unreadable body: %v", exchange.ErrMalformedRequest, err)
		}
	}
	for _, name := range names {
		id, ok := req.Params.Get(name)
		if !ok && body != nil && body.Has(name) {
			id, ok = body.Get(name), true
		}
		if !ok {
			nid, err := newClientID()
			if err != nil {
				return err
			}
			req.Params = append(req.Params, exchange.Param{Key: name, Value: nid})
			continue
		}
		if err := exchange.CheckClientID(id); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(id) > maxClientIDLen {
			return fmt.Errorf("%w: %s is longer than %d characters", exchange.ErrClientID, name, maxClientIDLen)
		}
	}
	return nil
}
