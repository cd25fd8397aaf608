package binance

import (
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

// Every name of every allow-list has its own number below maxParamIDs,
// and each route's paramSet hands out the name's number.
func TestParamIDs(t *testing.T) {
	if len(paramIDs) == 0 || len(paramIDs) >= maxParamIDs {
		t.Fatalf("%d parameter names, want 1..%d", len(paramIDs), maxParamIDs-1)
	}
	byID := make(map[paramID]string)
	for k, id := range paramIDs {
		if id == 0 || int(id) >= maxParamIDs {
			t.Fatalf("%q numbered %d", k, id)
		}
		if prev, ok := byID[id]; ok {
			t.Fatalf("%q and %q share number %d", k, prev, id)
		}
		byID[id] = k
	}
	for name, spec := range routeTable {
		if spec.kind != kindNone && spec.allowed == nil {
			t.Errorf("order route %s has no allow-list", name)
		}
		for k := range spec.params {
			if id, ok := spec.allowed.id(k); !ok || id != paramIDs[k] {
				t.Errorf("%s: %q numbered %d, %v; want %d", name, k, id, ok, paramIDs[k])
			}
		}
	}
	if p := paramOf("notAParameter"); p.id != 0 || p.name != "notAParameter" {
		t.Fatalf("unknown name: %+v", p)
	}
}

// The names the legs and the parser read are names of the allow-lists.
func TestLegParamsNumbered(t *testing.T) {
	legs := []*legSpec{&orderLeg, &sorLeg, &ocoAbove, &ocoBelow, &workingLeg, &otoPending,
		&otocoAbove, &otocoBelow, &opoPending, &opocoAbove, &opocoBelow}
	for _, l := range legs {
		for _, k := range []param{l.side, l.qty, l.typ, l.price, l.tif, l.stop, l.trail, l.iceberg, l.clientID} {
			if k.id == 0 || paramIDs[k.name] != k.id {
				t.Errorf("leg parameter %q numbered %d", k.name, k.id)
			}
		}
		if l.quote.name != "" && l.quote.id == 0 {
			t.Errorf("quote parameter %q not numbered", l.quote.name)
		}
	}
	for _, k := range []param{pSymbol, pSide, pQuantity, pPrice, pOrderID, pOrigClientOrderID, pNewQty,
		pLimitClientOrderID, pStopClientOrderID, pStopPrice, pTrailingDelta, pStopLimitTimeInForce,
		pStopLimitPrice, pLimitIcebergQty, pStopIcebergQty} {
		if k.id == 0 || paramIDs[k.name] != k.id {
			t.Errorf("parameter %q numbered %d", k.name, k.id)
		}
	}
}

// typeSet holds exactly the types it was built from, and no other string.
func TestTypeSet(t *testing.T) {
	all := []exchange.OrderType{exchange.Limit, exchange.Market, exchange.LimitMaker, exchange.StopLoss,
		exchange.StopLimit, exchange.TakeProfit, exchange.TakeLimit}
	for i, in := range all {
		s := newTypeSet(in)
		for j, t2 := range all {
			if s.has(t2) != (i == j) {
				t.Errorf("set of %s: has(%s) = %v", in, t2, s.has(t2))
			}
		}
	}
	for _, odd := range []exchange.OrderType{"", "limit", "LIMIT ", "ICEBERG", "STOP"} {
		if allTypes.has(odd) {
			t.Errorf("allTypes has %q", odd)
		}
	}
}

// The first parameter at fault, in request order (query, then body), gives
// the error, whether it is unknown or repeated.
func TestIntentFirstFaultyParameter(t *testing.T) {
	s := mustScheme(t, 0)
	order := []string{"symbol", "BTCUSDT", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "price", "1"}
	cases := []struct {
		name  string
		query exchange.Params
		body  string
		msg   string
	}{
		{"unknown before repeat", params(append(order, "quantity", "1", "Foo", "2", "quantity", "3")...), "",
			`parameter "Foo" is not accepted on this route`},
		{"repeat before unknown", params(append(order, "quantity", "1", "quantity", "3", "Foo", "2")...), "",
			`parameter "quantity" is given more than once`},
		{"repeat across query and body", params(append(order, "quantity", "1")...), "quantity=2",
			`parameter "quantity" is given more than once`},
		{"unknown in body", params(order...), "quantity=1&pegOffsetValue=2",
			`parameter "pegOffsetValue" is not accepted on this route`},
		{"repeated unknown", params(append(order, "Foo", "1", "Foo", "2")...), "",
			`parameter "Foo" is not accepted on this route`},
		{"another route's parameter", params(append(order, "quantity", "1", "newQty", "2")...), "",
			`parameter "newQty" is not accepted on this route`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &exchange.Request{Method: "POST", Path: "/api/v3/order", Params: tc.query}
			if tc.body != "" {
				req.Body = []byte(tc.body)
			}
			route, err := s.Classify(req)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Intent(req, route, &exchange.Intent{})
			want := "exchange: malformed request: binance POST /api/v3/order: " + tc.msg
			if err == nil || err.Error() != want {
				t.Fatalf("err = %v, want %q", err, want)
			}
		})
	}
	// Without the fault the same request parses, from query and body alike.
	req := &exchange.Request{Method: "POST", Path: "/api/v3/order", Params: params(order...), Body: []byte("quantity=2&newClientOrderId=c1")}
	route, err := s.Classify(req)
	if err != nil {
		t.Fatal(err)
	}
	var in exchange.Intent
	err = s.Intent(req, route, &in)
	if err != nil || len(in.Orders) != 1 || in.Orders[0].String() != "BUY LIMIT 2 BTCUSDT @ 1 GTC" || in.Orders[0].ClientID != "c1" {
		t.Fatalf("intent %+v, %v", in, err)
	}
}
