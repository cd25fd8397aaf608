package binance

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// ack is Binance's ACK answer for one order (newOrderRespType=ACK, the
// default of every type but LIMIT and MARKET): no status, no fills.
func ack(get func(string) string, idParam string, id int) map[string]any {
	return map[string]any{"symbol": get("symbol"), "orderId": id, "orderListId": -1, "clientOrderId": get(idParam), "transactTime": 1700000000000}
}

// listAck is an order list's ACK answer: the list's orders by id and
// client order id, with no report of their status.
func listAck(get func(string) string, idParams ...string) map[string]any {
	var orders []map[string]any
	for i, p := range idParams {
		orders = append(orders, map[string]any{"symbol": get("symbol"), "orderId": 100 + i, "clientOrderId": get(p)})
	}
	return map[string]any{"orderListId": 9, "contingencyType": "OCO", "listStatusType": "EXEC_STARTED",
		"listOrderStatus": "EXECUTING", "listClientOrderId": "list-1", "transactionTime": 1700000000000,
		"symbol": get("symbol"), "orders": orders}
}

// TestEveryOrderRouteAnswerWithoutStatusHolds: on every route of the table
// that creates orders, an accepted answer that does not state the orders'
// status and fills settles nothing: every order the request creates is
// committed as of unknown outcome, with its client order id (which the
// client adds when the request has none), and nothing is counted filled or
// released.
func TestEveryOrderRouteAnswerWithoutStatusHolds(t *testing.T) {
	type tc struct {
		route string
		p     exchange.Params
		ids   []string // the parameters naming each created order's client id
		ans   func(get func(string) string) (int, any)
	}
	one := func(idParam string) func(get func(string) string) (int, any) {
		return func(get func(string) string) (int, any) { return 200, ack(get, idParam, 42) }
	}
	list := func(ids ...string) func(get func(string) string) (int, any) {
		return func(get func(string) string) (int, any) { return 200, listAck(get, ids...) }
	}
	cases := []tc{
		{"POST /api/v3/order", params("symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "50000",
			"newOrderRespType", "ACK"), []string{"newClientOrderId"}, one("newClientOrderId")},
		{"POST /api/v3/order", params("symbol", "BTCUSDT", "side", "SELL", "type", "LIMIT_MAKER", "quantity", "0.01", "price", "50100"),
			[]string{"newClientOrderId"}, one("newClientOrderId")},
		{"POST /api/v3/sor/order", params("symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "50000",
			"newOrderRespType", "ACK"), []string{"newClientOrderId"}, one("newClientOrderId")},
		{"POST /api/v3/order/cancelReplace", params("symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "50000",
			"cancelReplaceMode", "STOP_ON_FAILURE", "cancelOrderId", "12", "newOrderRespType", "ACK"), []string{"newClientOrderId"},
			func(get func(string) string) (int, any) {
				return 200, map[string]any{"cancelResult": "SUCCESS", "newOrderResult": "SUCCESS",
					"cancelResponse": map[string]any{"symbol": "BTCUSDT", "origClientOrderId": "old", "orderId": 12, "orderListId": -1,
						"clientOrderId": "c", "price": "49000", "origQty": "0.01", "executedQty": "0.004", "cummulativeQuoteQty": "196",
						"status": "CANCELED", "timeInForce": "GTC", "type": "LIMIT", "side": "BUY"},
					"newOrderResponse": ack(get, "newClientOrderId", 13)}
			}},
		{"POST /api/v3/orderList/oco", params("symbol", "BTCUSDT", "side", "SELL", "quantity", "0.01",
			"aboveType", "LIMIT_MAKER", "abovePrice", "50500", "belowType", "STOP_LOSS_LIMIT", "belowPrice", "49600", "belowStopPrice", "49700", "belowTimeInForce", "GTC"),
			[]string{"aboveClientOrderId", "belowClientOrderId"}, list("aboveClientOrderId", "belowClientOrderId")},
		{"POST /api/v3/orderList/oto", params("symbol", "BTCUSDT", "workingType", "LIMIT", "workingSide", "BUY", "workingPrice", "50000", "workingQuantity", "0.01", "workingTimeInForce", "GTC",
			"pendingType", "LIMIT_MAKER", "pendingSide", "SELL", "pendingPrice", "50500", "pendingQuantity", "0.01"),
			[]string{"workingClientOrderId", "pendingClientOrderId"}, list("workingClientOrderId", "pendingClientOrderId")},
		{"POST /api/v3/orderList/otoco", params("symbol", "BTCUSDT", "workingType", "LIMIT_MAKER", "workingSide", "BUY", "workingPrice", "50000", "workingQuantity", "0.01",
			"pendingSide", "SELL", "pendingQuantity", "0.01", "pendingAboveType", "LIMIT_MAKER", "pendingAbovePrice", "50500",
			"pendingBelowType", "STOP_LOSS_LIMIT", "pendingBelowPrice", "49600", "pendingBelowStopPrice", "49700", "pendingBelowTimeInForce", "GTC"),
			[]string{"workingClientOrderId", "pendingAboveClientOrderId", "pendingBelowClientOrderId"},
			list("workingClientOrderId", "pendingAboveClientOrderId", "pendingBelowClientOrderId")},
		{"POST /api/v3/orderList/opo", params("symbol", "BTCUSDT", "workingType", "LIMIT", "workingSide", "BUY", "workingPrice", "50000", "workingQuantity", "0.01", "workingTimeInForce", "GTC",
			"pendingType", "LIMIT", "pendingSide", "SELL", "pendingPrice", "50500", "pendingTimeInForce", "GTC"),
			[]string{"workingClientOrderId", "pendingClientOrderId"}, list("workingClientOrderId", "pendingClientOrderId")},
		{"POST /api/v3/orderList/opoco", params("symbol", "BTCUSDT", "workingType", "LIMIT", "workingSide", "BUY", "workingPrice", "50000", "workingQuantity", "0.01", "workingTimeInForce", "GTC",
			"pendingSide", "SELL", "pendingAboveType", "LIMIT_MAKER", "pendingAbovePrice", "50500",
			"pendingBelowType", "STOP_LOSS_LIMIT", "pendingBelowPrice", "49600", "pendingBelowStopPrice", "49700", "pendingBelowTimeInForce", "GTC"),
			[]string{"workingClientOrderId", "pendingAboveClientOrderId", "pendingBelowClientOrderId"},
			list("workingClientOrderId", "pendingAboveClientOrderId", "pendingBelowClientOrderId")},
		{"POST /api/v3/order/oco", params("symbol", "BTCUSDT", "side", "SELL", "quantity", "0.01", "price", "50500", "stopPrice", "49700", "stopLimitPrice", "49600", "stopLimitTimeInForce", "GTC"),
			[]string{"limitClientOrderId", "stopClientOrderId"}, list("limitClientOrderId", "stopClientOrderId")},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		t.Run(c.route, func(t *testing.T) {
			env := mustClient(t, func(f *fakeBinance, _ *Config) {
				f.canned = map[string]func(func(string) string) (int, any){c.route: c.ans}
			})
			method, path, _ := strings.Cut(c.route, " ")
			_, before, _ := env.g.snapshot()
			if _, err := env.c.Do(context.Background(), &exchange.Request{Method: method, Path: path, Params: c.p}); err != nil {
				t.Fatal(err)
			}
			covered[c.route] = true
			commits, releases, closed := env.g.snapshot()
			if releases = releases[len(before):]; len(commits) != 1 || len(releases) != 0 {
				t.Fatalf("commits %+v releases %v, want one commit", commits, releases)
			}
			out := commits[0]
			if !out.FilledQuote.IsZero() || len(out.Orders) != len(c.ids) {
				t.Fatalf("outcome %+v: want %d orders of unknown outcome and nothing filled", out, len(c.ids))
			}
			intents := env.g.intentsSeen()
			in := intents[len(intents)-1]
			for i, o := range out.Orders {
				if !o.Unknown || o.Symbol != "BTCUSDT" || o.ClientID == "" || o.ClientID != in.Orders[i].ClientID {
					t.Errorf("order %d: %+v, want of unknown outcome with the client order id %q", i, o, in.Orders[i].ClientID)
				}
			}
			if c.route == "POST /api/v3/order/cancelReplace" && (len(closed) != 1 || closed[0] != "12") {
				t.Errorf("closed %v: the cancelled order 12 must be reported closed", closed)
			}
		})
	}
	for name, spec := range routeTable {
		if spec.kind != kindNone && spec.kind != kindAmend && !spec.test && !covered[name] {
			t.Errorf("order route %s has no settlement test", name)
		}
	}
}

// TestAmendSettlesAtOnce: an amend creates no order, so its reservation
// is settled at once and the amended order, whose status the answer
// states, is reported to the guard.
func TestAmendSettlesAtOnce(t *testing.T) {
	env := mustClient(t, func(f *fakeBinance, _ *Config) {
		f.canned = map[string]func(func(string) string) (int, any){"PUT /api/v3/order/amend/keepPriority": func(get func(string) string) (int, any) {
			return 200, map[string]any{"transactTime": 1700000000000, "executionId": 3, "amendedOrder": map[string]any{
				"symbol": "BTCUSDT", "orderId": 12, "orderListId": -1, "origClientOrderId": "a", "clientOrderId": "b", "price": "49000",
				"qty": "0.005", "executedQty": "0.005", "cummulativeQuoteQty": "245", "status": "FILLED", "timeInForce": "GTC", "type": "LIMIT", "side": "BUY"}}
		}}
	})
	_, before, _ := env.g.snapshot()
	if _, err := env.c.Do(context.Background(), &exchange.Request{Method: http.MethodPut, Path: "/api/v3/order/amend/keepPriority",
		Params: params("symbol", "BTCUSDT", "orderId", "12", "newQty", "0.005")}); err != nil {
		t.Fatal(err)
	}
	commits, releases, closed := env.g.snapshot()
	if releases = releases[len(before):]; len(commits) != 1 || len(commits[0].Orders) != 0 || commits[0].Open || len(releases) != 0 || len(closed) != 1 || closed[0] != "12" {
		t.Fatalf("commits %+v releases %v closed %v", commits, releases, closed)
	}
}

// TestCancelReplaceRefusalsSettle: a -2021 placed the new order although
// the cancel failed (committed, of unknown outcome when the answer is an
// ACK); a -2022 cancelled the old order although the new one failed (the
// old one reported closed, the reservation released).
func TestCancelReplaceRefusalsSettle(t *testing.T) {
	req := &exchange.Request{Method: http.MethodPost, Path: "/api/v3/order/cancelReplace", Params: params("symbol", "BTCUSDT", "side", "BUY",
		"type", "LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "50000", "cancelReplaceMode", "ALLOW_FAILURE", "cancelOrderId", "12")}
	t.Run("-2021", func(t *testing.T) {
		env := mustClient(t, func(f *fakeBinance, _ *Config) {
			f.canned = map[string]func(func(string) string) (int, any){"POST /api/v3/order/cancelReplace": func(get func(string) string) (int, any) {
				return 409, map[string]any{"code": -2021, "msg": "Order cancel-replace partially failed.", "data": map[string]any{
					"cancelResult": "FAILURE", "newOrderResult": "SUCCESS",
					"cancelResponse":   map[string]any{"code": -2011, "msg": "Unknown order sent."},
					"newOrderResponse": ack(get, "newClientOrderId", 13)}}
			}}
		})
		_, before, _ := env.g.snapshot()
		_, _ = env.c.Do(context.Background(), req)
		commits, releases, _ := env.g.snapshot()
		if releases = releases[len(before):]; len(commits) != 1 || len(releases) != 0 || len(commits[0].Orders) != 1 || !commits[0].Orders[0].Unknown || commits[0].Orders[0].ID != "13" {
			t.Fatalf("commits %+v releases %v", commits, releases)
		}
	})
	t.Run("-2022", func(t *testing.T) {
		env := mustClient(t, func(f *fakeBinance, _ *Config) {
			f.canned = map[string]func(func(string) string) (int, any){"POST /api/v3/order/cancelReplace": func(get func(string) string) (int, any) {
				return 400, map[string]any{"code": -2022, "msg": "Order cancel-replace failed.", "data": map[string]any{
					"cancelResult": "SUCCESS", "newOrderResult": "FAILURE",
					"cancelResponse": map[string]any{"symbol": "BTCUSDT", "orderId": 12, "origClientOrderId": "old", "clientOrderId": "c",
						"executedQty": "0", "cummulativeQuoteQty": "0", "status": "CANCELED", "type": "LIMIT", "side": "BUY"},
					"newOrderResponse": map[string]any{"code": -2010, "msg": "Order would immediately match and take."}}}
			}}
		})
		_, before, _ := env.g.snapshot()
		_, _ = env.c.Do(context.Background(), req)
		commits, releases, closed := env.g.snapshot()
		if releases = releases[len(before):]; len(commits) != 0 || len(releases) != 1 || len(closed) != 1 || closed[0] != "12" {
			t.Fatalf("commits %+v releases %v closed %v", commits, releases, closed)
		}
	})
}

func (g *recorder) intentsSeen() []exchange.Intent {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]exchange.Intent(nil), g.intents...)
}
