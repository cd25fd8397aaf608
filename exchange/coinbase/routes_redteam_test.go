package coinbase

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// Route confusion: a path a server could read as another path is refused
// as unknown. Before, a ';' segment parameter passed the path check:
// "POST /v2/..;/api/v3/brokerage/orders" was classified by the v2 prefix
// as a withdrawal and, with withdrawals allowed, signed; a server that
// reads "..;" as ".." (a Tomcat-style path parameter) runs an order nobody
// parsed.
func TestRedteamRouteConfusionRefused(t *testing.T) {
	s := mustScheme(t, "")
	for _, name := range []string{
		"POST /v2/..;/api/v3/brokerage/orders",
		"POST /v2/accounts/x;y/transactions",
		"POST /v2/accounts/../../api/v3/brokerage/orders",
		"POST /v2/accounts/%2e%2e/x",
		"POST /v2/accounts//x",
		"POST " + Prefix + "/orders/",
		"POST " + Prefix + "//orders",
		"POST " + Prefix + "/Orders",
		"POST " + Prefix + "/orders;x",
		"POST " + Prefix + "/orders/./",
		"POST " + Prefix + "/orders/edit/..",
		"POST " + Prefix + "/orders/batch",
		"post " + Prefix + "/orders",
		"PUT " + Prefix + "/orders",
		"HEAD " + Prefix + "/orders",
		"GET " + Prefix + "/orders/historical/a:b",
		"GET " + Prefix + "/orders/historical/a@b",
	} {
		method, path, _ := strings.Cut(name, " ")
		_, err := s.Classify(&exchange.Request{Method: method, Path: path})
		if !errors.Is(err, exchange.ErrUnknownEndpoint) {
			t.Errorf("%q: err = %v, want ErrUnknownEndpoint", name, err)
		}
	}
}

// Endpoints that move funds are either absent (refused as unknown),
// classified transfer or withdraw, or parsed trade routes that refuse
// what keyfence cannot value (conversions).
func TestRedteamFundMovingRoutesNeverTradeOrRead(t *testing.T) {
	s := mustScheme(t, "")
	for _, name := range []string{
		"POST /v2/accounts/abc/transactions", "POST /v2/accounts/abc/withdrawals", "POST /v2/accounts/abc/deposits",
		"POST /v2/accounts/abc/buys", "POST /v2/accounts/abc/sells", "POST /v2/accounts/abc/addresses",
		"POST " + Prefix + "/portfolios/move_funds", "POST " + Prefix + "/portfolios", "DELETE " + Prefix + "/portfolios/abc",
		"POST " + Prefix + "/intx/allocate", "POST " + Prefix + "/cfm/sweeps/schedule", "DELETE " + Prefix + "/cfm/sweeps",
		"POST /api/v3/brokerage/convert/quote", "POST /api/v3/brokerage/convert/trade/abc",
	} {
		method, path, _ := strings.Cut(name, " ")
		req := &exchange.Request{Method: method, Path: path, Body: []byte(`{}`)}
		r, err := s.Classify(req)
		switch {
		case errors.Is(err, exchange.ErrUnknownEndpoint):
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case r.Class == exchange.ClassTransfer || r.Class == exchange.ClassWithdraw || r.Class == exchange.ClassKeys:
		case r.Class == exchange.ClassTrade:
			var in exchange.Intent
			if err := s.Intent(req, r, &in); !errors.Is(err, exchange.ErrMalformedRequest) {
				t.Errorf("%s: a trade route that moves funds parsed: %v", name, err)
			}
		default:
			t.Errorf("%s: class %s", name, r.Class)
		}
	}
}

// Every entry of the route table: a route whose path moves funds is never
// public, read or cancel, and a trade route among them refuses to parse;
// every trade route parses its orders (an empty body is malformed).
func TestRedteamEveryRouteClassified(t *testing.T) {
	s := mustScheme(t, "")
	moves := []string{"move_funds", "allocate", "sweeps", "transactions", "convert", "withdraw", "deposit"}
	for _, p := range routePatterns {
		name := p.method + " " + p.path
		for _, m := range moves {
			if strings.Contains(p.path, m) && p.method != "GET" {
				switch {
				case p.spec.class == exchange.ClassTransfer, p.spec.class == exchange.ClassWithdraw:
				case p.spec.class == exchange.ClassTrade && p.spec.kind == kindRefused:
				default:
					t.Errorf("%s names %q but is classified %s", name, m, p.spec.class)
				}
			}
		}
		if p.spec.class != exchange.ClassTrade {
			if p.spec.kind != kindNone {
				t.Errorf("%s creates orders but is classified %s", name, p.spec.class)
			}
			continue
		}
		req := &exchange.Request{Method: p.method, Path: strings.ReplaceAll(p.path, "{id}", "abc")}
		r, err := s.Classify(req)
		if err != nil {
			t.Fatal(err)
		}
		var in exchange.Intent
		if err := s.Intent(req, r, &in); !errors.Is(err, exchange.ErrMalformedRequest) || len(in.Orders) != 0 {
			t.Errorf("%s: an empty request parsed: %v, %d orders", name, err, len(in.Orders))
		}
	}
}
