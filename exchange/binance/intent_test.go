package binance

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

func intentOf(t *testing.T, s *Scheme, method, path string, p exchange.Params) (exchange.Intent, error) {
	t.Helper()
	req := &exchange.Request{Method: method, Path: path, Params: p}
	route, err := s.Classify(req)
	if err != nil {
		return exchange.Intent{}, err
	}
	var in exchange.Intent
	err = s.Intent(req, route, &in)
	return in, err
}

// Every order-creating route yields an intent with one order per leg.
func TestEveryOrderRouteYieldsIntent(t *testing.T) {
	s := mustScheme(t, 0)
	cases := []struct {
		route string
		p     exchange.Params
		want  []string // Order.String of each leg
		test  bool
	}{
		{"POST /api/v3/order", params("symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "0.01", "price", "50000"),
			[]string{"BUY LIMIT 0.01 BTCUSDT @ 50000 GTC"}, false},
		{"POST /api/v3/order/test", params("symbol", "BTCUSDT", "side", "SELL", "type", "MARKET", "quantity", "0.5", "computeCommissionRates", "true"),
			[]string{"SELL MARKET 0.5 BTCUSDT"}, true},
		{"POST /api/v3/order/cancelReplace", params("symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "1", "price", "10",
			"cancelReplaceMode", "STOP_ON_FAILURE", "cancelOrderId", "12"),
			[]string{"BUY LIMIT 1 BTCUSDT @ 10 GTC"}, false},
		{"PUT /api/v3/order/amend/keepPriority", params("symbol", "BTCUSDT", "orderId", "12", "newQty", "0.5"),
			[]string{"  0.5 BTCUSDT"}, false}, // no side, type or price in the request
		{"POST /api/v3/orderList/oco", params("symbol", "BTCUSDT", "side", "SELL", "quantity", "1",
			"aboveType", "LIMIT_MAKER", "abovePrice", "60000", "belowType", "STOP_LOSS_LIMIT", "belowPrice", "39000", "belowStopPrice", "40000", "belowTimeInForce", "GTC"),
			[]string{"SELL LIMIT_MAKER 1 BTCUSDT @ 60000", "SELL STOP_LOSS_LIMIT 1 BTCUSDT @ 39000 stop 40000 GTC"}, false},
		{"POST /api/v3/orderList/oto", params("symbol", "BTCUSDT", "workingType", "LIMIT", "workingSide", "BUY", "workingPrice", "50000", "workingQuantity", "1", "workingTimeInForce", "GTC",
			"pendingType", "MARKET", "pendingSide", "SELL", "pendingQuantity", "1"),
			[]string{"BUY LIMIT 1 BTCUSDT @ 50000 GTC", "SELL MARKET 1 BTCUSDT"}, false},
		{"POST /api/v3/orderList/otoco", params("symbol", "BTCUSDT", "workingType", "LIMIT_MAKER", "workingSide", "BUY", "workingPrice", "50000", "workingQuantity", "2",
			"pendingSide", "SELL", "pendingQuantity", "2", "pendingAboveType", "LIMIT_MAKER", "pendingAbovePrice", "55000",
			"pendingBelowType", "STOP_LOSS", "pendingBelowStopPrice", "45000"),
			[]string{"BUY LIMIT_MAKER 2 BTCUSDT @ 50000", "SELL LIMIT_MAKER 2 BTCUSDT @ 55000", "SELL STOP_LOSS 2 BTCUSDT stop 45000"}, false},
		{"POST /api/v3/orderList/opo", params("symbol", "BTCUSDT", "workingType", "LIMIT", "workingSide", "BUY", "workingPrice", "50000", "workingQuantity", "3", "workingTimeInForce", "IOC",
			"pendingType", "LIMIT", "pendingSide", "SELL", "pendingPrice", "51000", "pendingTimeInForce", "GTC"),
			[]string{"BUY LIMIT 3 BTCUSDT @ 50000 IOC", "SELL LIMIT 3 BTCUSDT @ 51000 GTC"}, false},
		{"POST /api/v3/orderList/opoco", params("symbol", "BTCUSDT", "workingType", "LIMIT", "workingSide", "BUY", "workingPrice", "50000", "workingQuantity", "3", "workingTimeInForce", "GTC",
			"pendingSide", "SELL", "pendingAboveType", "TAKE_PROFIT_LIMIT", "pendingAbovePrice", "56000", "pendingAboveStopPrice", "55000", "pendingAboveTimeInForce", "FOK",
			"pendingBelowType", "STOP_LOSS", "pendingBelowTrailingDelta", "100"),
			[]string{"BUY LIMIT 3 BTCUSDT @ 50000 GTC", "SELL TAKE_PROFIT_LIMIT 3 BTCUSDT @ 56000 stop 55000 FOK", "SELL STOP_LOSS 3 BTCUSDT trail 100bps"}, false},
		{"POST /api/v3/order/oco", params("symbol", "BTCUSDT", "side", "SELL", "quantity", "1", "price", "60000", "stopPrice", "40000", "stopLimitPrice", "39900", "stopLimitTimeInForce", "GTC"),
			[]string{"SELL LIMIT_MAKER 1 BTCUSDT @ 60000", "SELL STOP_LOSS_LIMIT 1 BTCUSDT @ 39900 stop 40000 GTC"}, false},
		{"POST /api/v3/order/oco", params("symbol", "BTCUSDT", "side", "BUY", "quantity", "1", "price", "40000", "stopPrice", "60000"),
			[]string{"BUY LIMIT_MAKER 1 BTCUSDT @ 40000", "BUY STOP_LOSS 1 BTCUSDT stop 60000"}, false},
		{"POST /api/v3/sor/order", params("symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "1", "price", "50000"),
			[]string{"BUY LIMIT 1 BTCUSDT @ 50000 GTC"}, false},
		{"POST /api/v3/sor/order/test", params("symbol", "BTCUSDT", "side", "SELL", "type", "MARKET", "quantity", "1"),
			[]string{"SELL MARKET 1 BTCUSDT"}, true},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		method, path, _ := strings.Cut(tc.route, " ")
		in, err := intentOf(t, s, method, path, tc.p)
		if err != nil {
			t.Errorf("%s: %v", tc.route, err)
			continue
		}
		covered[tc.route] = true
		if in.Class() != exchange.ClassTrade || in.Test != tc.test {
			t.Errorf("%s: class %s test %v", tc.route, in.Class(), in.Test)
		}
		if len(in.Orders) != len(tc.want) {
			t.Errorf("%s: %d orders, want %d", tc.route, len(in.Orders), len(tc.want))
			continue
		}
		for i, o := range in.Orders {
			if o.String() != tc.want[i] {
				t.Errorf("%s leg %d: %q, want %q", tc.route, i, o.String(), tc.want[i])
			}
		}
	}
	// The table above covers every order-creating route of the table.
	for name, spec := range routeTable {
		if spec.kind != kindNone && !covered[name] {
			t.Errorf("order route %s has no intent test", name)
		}
		if spec.class == exchange.ClassTrade && spec.kind == kindNone {
			t.Errorf("trade route %s parses no orders", name)
		}
	}
}

func TestQuoteOrderQty(t *testing.T) {
	s := mustScheme(t, 0)
	in, err := intentOf(t, s, "POST", "/api/v3/order", params("symbol", "BTCUSDT", "side", "BUY", "type", "MARKET", "quoteOrderQty", "100.5"))
	if err != nil {
		t.Fatal(err)
	}
	if o := in.Orders[0]; !o.QuoteQuantity.Equal(dec("100.5")) || !o.Quantity.IsZero() {
		t.Fatalf("order %+v", o)
	}
}

// Malformed order requests, each with the message it must give.
func TestIntentRefusals(t *testing.T) {
	s := mustScheme(t, 0)
	base := func(extra ...string) exchange.Params {
		return params(append([]string{"symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC"}, extra...)...)
	}
	cases := []struct {
		name, path string
		p          exchange.Params
		msg        string
	}{
		{"duplicate quantity", "/api/v3/order", base("quantity", "1", "price", "1", "quantity", "100"), `"quantity" is given more than once`},
		{"duplicate symbol", "/api/v3/order", append(base("quantity", "1", "price", "1"), exchange.Param{Key: "symbol", Value: "SHIBUSDT"}), `"symbol" is given more than once`},
		{"missing quantity", "/api/v3/order", base("price", "1"), "quantity is missing"},
		{"missing price", "/api/v3/order", base("quantity", "1"), "price is missing"},
		{"missing symbol", "/api/v3/order", params("side", "BUY", "type", "MARKET", "quantity", "1"), "symbol is missing"},
		{"unknown side", "/api/v3/order", params("symbol", "BTCUSDT", "side", "buy", "type", "MARKET", "quantity", "1"), `side "buy" is not BUY or SELL`},
		{"unknown type", "/api/v3/order", params("symbol", "BTCUSDT", "side", "BUY", "type", "ICEBERG", "quantity", "1"), `type "ICEBERG"`},
		{"negative quantity", "/api/v3/order", base("quantity", "-1", "price", "1"), "not an unsigned decimal"},
		{"exponent", "/api/v3/order", base("quantity", "1e3", "price", "1"), "not an unsigned decimal"},
		{"zero quantity", "/api/v3/order", base("quantity", "0", "price", "1"), "quantity must be above zero"},
		{"zero price", "/api/v3/order", base("quantity", "1", "price", "0.000"), "price must be above zero"},
		{"dot only", "/api/v3/order", base("quantity", "1.", "price", "1"), "nothing after the dot"},
		{"leading dot", "/api/v3/order", base("quantity", ".5", "price", "1"), "at most 20 digits"},
		{"spaces", "/api/v3/order", base("quantity", " 1", "price", "1"), "not an unsigned decimal"},
		{"too long", "/api/v3/order", base("quantity", "123456789012345678901", "price", "1"), "at most 20 digits"},
		{"bad tif", "/api/v3/order", params("symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTD", "quantity", "1", "price", "1"), "not GTC, IOC or FOK"},
		{"tif on market", "/api/v3/order", params("symbol", "BTCUSDT", "side", "BUY", "type", "MARKET", "timeInForce", "GTC", "quantity", "1"), "timeInForce is not accepted on MARKET"},
		{"price on market", "/api/v3/order", params("symbol", "BTCUSDT", "side", "BUY", "type", "MARKET", "quantity", "1", "price", "1"), "price is not accepted on MARKET"},
		{"qty and quote", "/api/v3/order", params("symbol", "BTCUSDT", "side", "BUY", "type", "MARKET", "quantity", "1", "quoteOrderQty", "1"), "either quantity or quoteOrderQty"},
		{"quote on limit", "/api/v3/order", base("quoteOrderQty", "1", "price", "1"), "only accepted on MARKET"},
		{"stop without trigger", "/api/v3/order", params("symbol", "BTCUSDT", "side", "SELL", "type", "STOP_LOSS", "quantity", "1"), "stopPrice or trailingDelta is needed"},
		{"pegged order", "/api/v3/order", base("quantity", "1", "pegPriceType", "PRIMARY_PEG"), `"pegPriceType" is not accepted`},
		{"unknown param", "/api/v3/order", base("quantity", "1", "price", "1", "Quantity", "100"), `"Quantity" is not accepted`},
		{"sor stop", "/api/v3/sor/order", params("symbol", "BTCUSDT", "side", "SELL", "type", "STOP_LOSS", "quantity", "1"), "not one of the order types"},
		{"sor quote", "/api/v3/sor/order", params("symbol", "BTCUSDT", "side", "BUY", "type", "MARKET", "quoteOrderQty", "1"), `"quoteOrderQty" is not accepted`},
		{"oco leg missing price", "/api/v3/orderList/oco", params("symbol", "BTCUSDT", "side", "SELL", "quantity", "1", "aboveType", "LIMIT_MAKER", "belowType", "STOP_LOSS", "belowStopPrice", "1"), "abovePrice is missing"},
		{"oco below limit maker", "/api/v3/orderList/oco", params("symbol", "BTCUSDT", "side", "SELL", "quantity", "1", "aboveType", "LIMIT_MAKER", "abovePrice", "2", "belowType", "LIMIT", "belowPrice", "1", "belowTimeInForce", "GTC"), `belowType "LIMIT"`},
		{"oto working market", "/api/v3/orderList/oto", params("symbol", "BTCUSDT", "workingType", "MARKET", "workingSide", "BUY", "workingQuantity", "1", "pendingType", "MARKET", "pendingSide", "SELL", "pendingQuantity", "1"), `workingType "MARKET"`},
		{"opo pending quantity", "/api/v3/orderList/opo", params("symbol", "BTCUSDT", "workingType", "LIMIT_MAKER", "workingSide", "BUY", "workingPrice", "1", "workingQuantity", "1", "pendingType", "MARKET", "pendingSide", "SELL", "pendingQuantity", "9"), `"pendingQuantity" is not accepted`},
		{"legacy oco no stop", "/api/v3/order/oco", params("symbol", "BTCUSDT", "side", "SELL", "quantity", "1", "price", "2"), "stopPrice or trailingDelta is missing"},
		{"legacy oco no tif", "/api/v3/order/oco", params("symbol", "BTCUSDT", "side", "SELL", "quantity", "1", "price", "2", "stopPrice", "1", "stopLimitPrice", "0.9"), "stopLimitTimeInForce is missing"},
		{"amend without order", "/api/v3/order/amend/keepPriority", params("symbol", "BTCUSDT", "newQty", "1"), "orderId or origClientOrderId is missing"},
		{"amend zero", "/api/v3/order/amend/keepPriority", params("symbol", "BTCUSDT", "orderId", "1", "newQty", "0"), "newQty must be above zero"},
		{"control char symbol", "/api/v3/order", params("symbol", "BTC\nUSDT", "side", "BUY", "type", "MARKET", "quantity", "1"), "control character"},
		{"duplicate on read", "/api/v3/account", params("recvWindow", "1", "recvWindow", "2"), `"recvWindow" is given more than once`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			switch tc.path {
			case "/api/v3/order/amend/keepPriority":
				method = "PUT"
			case "/api/v3/account":
				method = "GET"
			}
			_, err := intentOf(t, s, method, tc.path, tc.p)
			if !errors.Is(err, exchange.ErrMalformedRequest) {
				t.Fatalf("err = %v, want ErrMalformedRequest", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %q, want it to mention %q", err, tc.msg)
			}
		})
	}
}

func TestSymbolTable(t *testing.T) {
	s := mustScheme(t, 0)
	p := params("symbol", "SHIBDOGE", "side", "BUY", "type", "MARKET", "quantity", "1")
	if _, err := intentOf(t, s, "POST", "/api/v3/order", p); err != nil {
		t.Fatalf("without a table any symbol parses: %v", err)
	}
	s.SetSymbols([]exchange.SymbolInfo{{Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT"}})
	if _, err := intentOf(t, s, "POST", "/api/v3/order", p); !errors.Is(err, exchange.ErrMalformedRequest) || !strings.Contains(err.Error(), "not listed") {
		t.Fatalf("unlisted symbol: %v", err)
	}
	if si, ok := s.Symbol("BTCUSDT"); !ok || si.Quote != "USDT" {
		t.Fatalf("symbol lookup %+v", si)
	}
}

func TestClassify(t *testing.T) {
	s := mustScheme(t, 0)
	cases := []struct {
		method, path string
		p            exchange.Params
		class        exchange.Class
		cost         exchange.Cost
		signed       bool
	}{
		{"GET", "/api/v3/ping", nil, exchange.ClassPublic, exchange.Cost{Weight: 1}, false},
		{"GET", "/api/v3/exchangeInfo", nil, exchange.ClassPublic, exchange.Cost{Weight: 20}, false},
		{"GET", "/api/v3/ticker/bookTicker", params("symbol", "BTCUSDT"), exchange.ClassPublic, exchange.Cost{Weight: 2}, false},
		{"GET", "/api/v3/ticker/bookTicker", nil, exchange.ClassPublic, exchange.Cost{Weight: 4}, false},
		{"GET", "/api/v3/depth", params("limit", "1000"), exchange.ClassPublic, exchange.Cost{Weight: 50}, false},
		{"GET", "/api/v3/depth", params("limit", "x"), exchange.ClassPublic, exchange.Cost{Weight: 250}, false},
		{"GET", "/api/v3/account", nil, exchange.ClassRead, exchange.Cost{Weight: 20}, true},
		{"GET", "/api/v3/openOrders", nil, exchange.ClassRead, exchange.Cost{Weight: 80}, true},
		{"GET", "/api/v3/openOrders", params("symbol", "BTCUSDT"), exchange.ClassRead, exchange.Cost{Weight: 6}, true},
		{"GET", "/api/v3/rateLimit/order", nil, exchange.ClassRead, exchange.Cost{Weight: 40}, true},
		{"GET", "/sapi/v1/account/apiRestrictions", nil, exchange.ClassRead, exchange.Cost{Weight: 1}, true},
		{"POST", "/api/v3/order", nil, exchange.ClassTrade, exchange.Cost{Weight: 1, Orders: 1}, true},
		{"POST", "/api/v3/orderList/otoco", nil, exchange.ClassTrade, exchange.Cost{Weight: 1, Orders: 3}, true},
		{"POST", "/api/v3/order/test", params("computeCommissionRates", "true"), exchange.ClassTrade, exchange.Cost{Weight: 20}, true},
		{"DELETE", "/api/v3/order", nil, exchange.ClassCancel, exchange.Cost{Weight: 1}, true},
		{"DELETE", "/api/v3/openOrders", nil, exchange.ClassCancel, exchange.Cost{Weight: 1}, true},
		{"DELETE", "/api/v3/orderList", nil, exchange.ClassCancel, exchange.Cost{Weight: 1}, true},
		{"POST", "/sapi/v1/capital/withdraw/apply", nil, exchange.ClassWithdraw, exchange.Cost{Weight: 900}, true},
		{"POST", "/sapi/v1/giftcard/createCode", nil, exchange.ClassWithdraw, exchange.Cost{Weight: 1}, true},
		{"POST", "/sapi/v1/giftcard/buyCode", nil, exchange.ClassWithdraw, exchange.Cost{Weight: 1}, true},
		{"POST", "/sapi/v1/asset/transfer", nil, exchange.ClassTransfer, exchange.Cost{Weight: 900}, true},
		{"POST", "/sapi/v1/sub-account/universalTransfer", nil, exchange.ClassTransfer, exchange.Cost{Weight: 360}, true},
		{"POST", "/sapi/v1/sub-account/transfer/subToMaster", nil, exchange.ClassTransfer, exchange.Cost{Weight: 1}, true},
		{"POST", "/sapi/v1/sub-account/subAccountApi/ipRestriction", nil, exchange.ClassKeys, exchange.Cost{Weight: 1}, true},
		{"DELETE", "/sapi/v1/sub-account/subAccountApi/ipRestriction/ipList", nil, exchange.ClassKeys, exchange.Cost{Weight: 1}, true},
		{"POST", "/sapi/v2/sub-account/subAccountApi/ipRestriction", nil, exchange.ClassKeys, exchange.Cost{Weight: 1}, true},
	}
	for _, tc := range cases {
		r, err := s.Classify(&exchange.Request{Method: tc.method, Path: tc.path, Params: tc.p})
		if err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
			continue
		}
		if r.Class != tc.class || r.Cost != tc.cost || r.Signed != tc.signed || r.Name != tc.method+" "+tc.path {
			t.Errorf("%s %s: %+v", tc.method, tc.path, r)
		}
	}
}

func TestUnknownRoutesRefused(t *testing.T) {
	s := mustScheme(t, 0)
	for _, tc := range []struct{ method, path string }{
		{"POST", "/api/v3/order/"},
		{"post", "/api/v3/order"},
		{"GET", "/api/v3/order?quantity=100"},
		{"POST", "/api/v3/order?quantity=100"},
		{"POST", "/api/v3//order"},
		{"POST", "/api/v1/order"},
		{"POST", "/sapi/v1/convert/acceptQuote"},
		{"POST", "/sapi/v1/margin/loan"},
		{"PATCH", "/api/v3/order"},
		{"GET", "/"},
		{"GET", ""},
	} {
		_, err := s.Classify(&exchange.Request{Method: tc.method, Path: tc.path})
		if !errors.Is(err, exchange.ErrUnknownEndpoint) {
			t.Errorf("%s %q: %v, want ErrUnknownEndpoint", tc.method, tc.path, err)
		}
	}
}
