package kucoin

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// Route confusion: a path a server could read as another path (dot
// segments, empty segments, escapes, ';' parameters, a trailing slash,
// another case) or a method the table does not name is refused as
// unknown. Before, a path below a refused-class prefix was classified by
// the prefix alone: with transfers allowed,
// "POST /api/v2/accounts/inner-transfer/../../../api/v1/hf/orders" was
// signed as a transfer.
func TestRedteamRouteConfusionRefused(t *testing.T) {
	s := mustScheme(t, "3")
	for _, name := range []string{
		"POST /api/v2/accounts/inner-transfer/../../../api/v1/hf/orders",
		"POST /api/v1/withdrawals/../hf/orders",
		"POST /api/v1/withdrawals/./x",
		"POST /api/v1/withdrawals//x",
		"POST /api/v1/withdrawals/..;/..;/hf/orders",
		"POST /api/v1/sub/api-key/%2e%2e",
		"POST /api/v1/hf/orders/",
		"POST /api/v1/hf//orders",
		"POST /api/v1/HF/orders",
		"POST /api/v1/hf/orders;x",
		"POST /api/v1/hf/orders/multi/",
		"POST /api/v1/hf/orders/test/..",
		"POST /api/v1/hf/orders?x=1",
		"post /api/v1/hf/orders",
		"PUT /api/v1/hf/orders",
		"HEAD /api/v1/hf/orders",
		"PATCH /api/v1/hf/orders/alter",
		"GET /api/v1/hf/orders/..",
		"GET /api/v1/hf/orders/.",
		"GET /api/v1/hf/orders/a.b",
		"DELETE /api/v1/hf/orders/x%2Fy",
		"DELETE /api/v1/hf/orders/client-order/",
		"POST /api/v1/stop-order",
		"POST /api/v3/oco/order",
		"POST /api/v1/orders",
		"POST /api/v1/margin/order",
		"POST /api/v3/hf/margin/order",
	} {
		method, path, _ := strings.Cut(name, " ")
		_, err := s.Classify(&exchange.Request{Method: method, Path: path})
		if !errors.Is(err, exchange.ErrUnknownEndpoint) {
			t.Errorf("%q: err = %v, want ErrUnknownEndpoint", name, err)
		}
	}
}

// Endpoints that move funds or manage keys are either absent from the
// table (refused as unknown) or classified transfer, withdraw or keys.
func TestRedteamFundMovingRoutesNeverTradeOrRead(t *testing.T) {
	s := mustScheme(t, "3")
	for _, name := range []string{
		"POST /api/v1/withdrawals", "POST /api/v3/withdrawals", "DELETE /api/v1/withdrawals/abc",
		"POST /api/v1/accounts/inner-transfer", "POST /api/v2/accounts/inner-transfer",
		"POST /api/v3/accounts/universal-transfer", "POST /api/v1/accounts/sub-transfer",
		"POST /api/v2/accounts/sub-transfer", "POST /api/v1/sub/api-key", "POST /api/v1/sub/api-key/update",
		"DELETE /api/v1/sub/api-key", "POST /api/v2/sub/user/created", "POST /api/v1/margin/borrow",
		"POST /api/v3/margin/borrow", "POST /api/v3/margin/repay", "POST /api/v1/earn/orders",
		"POST /api/v3/project/purchase", "POST /api/v1/convert/order", "POST /api/v1/transfer-out",
		"POST /api/v2/accounts/transfer-in", "POST /api/v1/deposit-addresses",
	} {
		method, path, _ := strings.Cut(name, " ")
		r, err := s.Classify(&exchange.Request{Method: method, Path: path})
		switch {
		case errors.Is(err, exchange.ErrUnknownEndpoint):
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case r.Class != exchange.ClassTransfer && r.Class != exchange.ClassWithdraw && r.Class != exchange.ClassKeys:
			t.Errorf("%s: class %s", name, r.Class)
		}
	}
}

// Every entry of the route table: a route whose path names a transfer, a
// withdrawal, a sub-account or a key is never public, read, trade or
// cancel; every trade route parses its orders.
func TestRedteamEveryRouteClassified(t *testing.T) {
	s := mustScheme(t, "3")
	moves := []string{"withdraw", "transfer", "sub", "api-key/", "borrow", "repay", "earn", "convert"}
	for name, spec := range routeTable {
		method, path, _ := strings.Cut(name, " ")
		for _, m := range moves {
			if strings.Contains(path, m) {
				switch spec.class {
				case exchange.ClassTransfer, exchange.ClassWithdraw, exchange.ClassKeys:
				default:
					t.Errorf("%s names %q but is classified %s", name, m, spec.class)
				}
			}
		}
		if spec.class != exchange.ClassTrade {
			if spec.kind != kindNone {
				t.Errorf("%s creates orders but is classified %s", name, spec.class)
			}
			continue
		}
		req := &exchange.Request{Method: method, Path: path}
		r, err := s.Classify(req)
		if err != nil {
			t.Fatal(err)
		}
		var in exchange.Intent
		if err := s.Intent(req, r, &in); !errors.Is(err, exchange.ErrMalformedRequest) || len(in.Orders) != 0 {
			t.Errorf("%s: an empty request parsed: %v, %d orders", name, err, len(in.Orders))
		}
	}
	for _, pr := range prefixRoutes {
		switch pr.class {
		case exchange.ClassTransfer, exchange.ClassWithdraw, exchange.ClassKeys:
		default:
			t.Errorf("prefix %s is classified %s", pr.prefix, pr.class)
		}
	}
}
