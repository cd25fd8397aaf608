package binance

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// Route confusion: a path a server could read as another path (dot
// segments, empty segments, escapes, a trailing slash, another case) or a
// method the table does not name is refused as unknown, whatever prefix it
// starts with. Before, a path below a refused-class prefix was classified
// by the prefix alone, so with a policy that allows transfers
// "POST /sapi/v1/sub-account/transfer/../../../api/v3/order" was signed
// as a transfer: a server that normalises the path runs an order nobody
// parsed.
func TestRedteamRouteConfusionRefused(t *testing.T) {
	s := mustScheme(t, 0)
	for _, name := range []string{
		"POST /sapi/v1/sub-account/transfer/../../../api/v3/order",
		"POST /sapi/v1/capital/withdraw/../../../api/v3/order",
		"POST /sapi/v1/giftcard/./../../api/v3/order",
		"POST /sapi/v1/pay//x",
		"POST /sapi/v1/pay/%2E%2E/x",
		"POST /sapi/v1/pay/x\\..\\..\\api",
		"POST /sapi/v1/sub-account/subAccountApi/..",
		"POST /api/v3/order/",
		"POST /api/v3//order",
		"POST //api/v3/order",
		"POST /API/V3/ORDER",
		"POST /api/v3/Order",
		"POST /api/v3/%6Frder",
		"POST /api/v3/order/.",
		"POST /api/v3/order/test/..",
		"POST /api/v3/orderList/oco/",
		"POST /api/v3/order;x=1",
		"POST /api/v3/order?symbol=BTCUSDT",
		"POST /api/v3/order#x",
		"POST api/v3/order",
		"POST ",
		"post /api/v3/order",
		"HEAD /api/v3/order",
		"PUT /api/v3/order",
		"PATCH /api/v3/order",
		"OPTIONS /api/v3/order",
		"GET /api/v3/order/",
		"PUT /api/v3/order/amend/keepPriority/",
		"POST /api/v3/order/amend/keepPriority",
		"DELETE /api/v3/order/cancelReplace",
	} {
		method, path, _ := cutSpace(name)
		_, err := s.Classify(&exchange.Request{Method: method, Path: path})
		if !errors.Is(err, exchange.ErrUnknownEndpoint) {
			t.Errorf("%q: err = %v, want ErrUnknownEndpoint", name, err)
		}
	}
}

func cutSpace(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// Endpoints that move funds or manage keys are either absent from the
// table (refused as unknown) or classified transfer, withdraw or keys:
// never read, trade, cancel or public.
func TestRedteamFundMovingRoutesNeverTradeOrRead(t *testing.T) {
	s := mustScheme(t, 0)
	for _, name := range []string{
		"POST /sapi/v1/capital/withdraw/apply",
		"POST /sapi/v1/localentity/withdraw/apply",
		"POST /sapi/v1/asset/transfer",
		"POST /sapi/v1/asset/dust",
		"POST /sapi/v1/asset/dust-btc",
		"POST /sapi/v1/asset/convert-transfer",
		"POST /sapi/v1/sub-account/universalTransfer",
		"POST /sapi/v1/sub-account/transfer/subToMaster",
		"POST /sapi/v1/sub-account/transfer/subToSub",
		"POST /sapi/v1/sub-account/futures/transfer",
		"POST /sapi/v1/sub-account/margin/transfer",
		"POST /sapi/v1/sub-account/virtualSubAccount",
		"POST /sapi/v2/sub-account/subAccountApi/ipRestriction",
		"POST /sapi/v1/convert/acceptQuote",
		"POST /sapi/v1/convert/getQuote",
		"POST /sapi/v1/convert/limit/placeOrder",
		"POST /sapi/v1/simple-earn/flexible/subscribe",
		"POST /sapi/v1/simple-earn/flexible/redeem",
		"POST /sapi/v1/simple-earn/locked/subscribe",
		"POST /sapi/v1/giftcard/createCode",
		"POST /sapi/v1/giftcard/buyCode",
		"POST /sapi/v1/giftcard/redeemCode",
		"POST /sapi/v1/pay/transfer",
		"POST /sapi/v1/loan/borrow",
		"POST /sapi/v1/loan/vip/borrow",
		"POST /sapi/v2/loan/flexible/borrow",
		"POST /sapi/v1/margin/loan",
		"POST /sapi/v1/margin/borrow-repay",
		"POST /sapi/v1/margin/order",
		"POST /sapi/v1/margin/transfer",
		"POST /sapi/v1/futures/transfer",
		"POST /sapi/v1/lending/daily/purchase",
		"POST /sapi/v1/staking/purchase",
		"POST /sapi/v1/eth-staking/eth/stake",
		"POST /sapi/v1/bnbBurn",
		"POST /sapi/v1/account/apiRestrictions/ipRestriction",
		"POST /sapi/v1/account/apiRestrictions/ipRestriction/ipList",
		"POST /sapi/v1/c2c/orderMatch/placeOrder",
		"POST /sapi/v1/fiat/withdraw",
		"GET /sapi/v1/capital/withdraw/apply",
		"POST /fapi/v1/order",
		"POST /dapi/v1/order",
		"POST /papi/v1/um/order",
	} {
		method, path, _ := cutSpace(name)
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

// The request weight of a route whose weight depends on its parameters is
// the largest any reading gives: Binance reads the query and the body, so
// a weight-raising parameter in the body counts, and a parameter given
// twice (a public request is not parsed for an intent) counts at its
// dearest. Before, the body and the second value were ignored: 20 test
// orders with commission rates cost 20 instead of 400, and the rate guard
// let a flood through to the venue's ban.
func TestRedteamWeightReadsQueryAndBody(t *testing.T) {
	s := mustScheme(t, 0)
	for _, c := range []struct {
		method, path, query, body string
		want                      int
	}{
		{"POST", "/api/v3/order/test", "", "symbol=BTCUSDT&computeCommissionRates=true", 20},
		{"POST", "/api/v3/order/test", "computeCommissionRates=false&computeCommissionRates=true", "", 20},
		{"POST", "/api/v3/sor/order/test", "", "computeCommissionRates=true", 20},
		{"POST", "/api/v3/order/test", "symbol=BTCUSDT", "", 1},
		{"GET", "/api/v3/depth", "symbol=BTCUSDT&limit=5&limit=5000", "", 250},
		{"GET", "/api/v3/depth", "symbol=BTCUSDT&limit=5", "limit=5000", 250},
		{"GET", "/api/v3/depth", "symbol=BTCUSDT&limit=5", "", 5},
		// A weight-lowering parameter counts only where it lowers the
		// weight under every reading.
		{"GET", "/api/v3/myTrades", "symbol=BTCUSDT", "orderId=1", 20},
		{"GET", "/api/v3/myTrades", "symbol=BTCUSDT&orderId=1", "", 5},
		{"GET", "/api/v3/openOrders", "", "symbol=BTCUSDT", 80},
		{"GET", "/api/v3/openOrders", "symbol=BTCUSDT", "", 6},
	} {
		q, err := exchange.ParseParams(c.query)
		if err != nil {
			t.Fatal(err)
		}
		req := &exchange.Request{Method: c.method, Path: c.path, Params: q}
		if c.body != "" {
			req.Body = []byte(c.body)
		}
		r, err := s.Classify(req)
		if err != nil {
			t.Fatal(err)
		}
		if r.Cost.Weight != c.want {
			t.Errorf("%s %s?%s body %q: weight %d, want %d", c.method, c.path, c.query, c.body, r.Cost.Weight, c.want)
		}
	}
}

// Every entry of the route table: a route whose path names a transfer, a
// withdrawal, a sub-account, a key or a payment is never public, read,
// trade or cancel; every trade route parses its orders (an empty request
// is malformed, never an intent without orders).
func TestRedteamEveryRouteClassified(t *testing.T) {
	s := mustScheme(t, 0)
	moves := []string{"withdraw", "transfer", "sub-account", "subAccount", "apiRestrictions/ip", "giftcard", "pay/", "convert", "dust", "loan", "borrow", "earn", "staking"}
	for name, spec := range routeTable {
		method, path, _ := cutSpace(name)
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

// A route another Binance host serves is public market data only, and
// OtherHostAnswer answers no Spot route.
func TestOtherHostRoutesArePublicOnly(t *testing.T) {
	for name, spec := range routeTable {
		method, path, _ := cutSpace(name)
		host, body, ok := OtherHostAnswer(method, path, time.Unix(1, 0))
		if ok != (spec.otherHost != "") || host != spec.otherHost {
			t.Errorf("%s: OtherHostAnswer = %q, %v; the table says %q", name, host, ok, spec.otherHost)
		}
		if spec.otherHost == "" {
			continue
		}
		if spec.class != exchange.ClassPublic || spec.signed || method != "GET" {
			t.Errorf("%s is served by %s but is %s (signed %v); only public GETs may be", name, spec.otherHost, spec.class, spec.signed)
		}
		if !strings.Contains(string(body), `"symbols":[]`) {
			t.Errorf("%s: answer %s lists markets", name, body)
		}
	}
	if _, _, ok := OtherHostAnswer("POST", "/fapi/v1/order", time.Now()); ok {
		t.Error("a futures order has an answer")
	}
}
