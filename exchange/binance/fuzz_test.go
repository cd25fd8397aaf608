package binance

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// FuzzIntent feeds arbitrary query strings and bodies to every
// order-creating route. The parser must not panic, must fail only with
// ErrMalformedRequest, and an accepted request must have no duplicate
// parameter and yield orders the guard can value.
func FuzzIntent(f *testing.F) {
	f.Add(uint8(0), "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1", "")
	f.Add(uint8(0), "symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=10", "")
	f.Add(uint8(0), "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC", "quantity=1&price=0.1")
	f.Add(uint8(0), "symbol=%EF%BC%91&side=SELL&type=STOP_LOSS_LIMIT&timeInForce=IOC&quantity=1&price=2&stopPrice=3", "")
	f.Add(uint8(0), "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&quantity=100&price=1&timeInForce=GTC", "")
	f.Add(uint8(1), "symbol=BTCUSDT&side=SELL&quantity=1&aboveType=LIMIT_MAKER&abovePrice=2&belowType=STOP_LOSS&belowStopPrice=1", "")
	f.Add(uint8(2), "symbol=BTCUSDT&workingType=LIMIT&workingSide=BUY&workingPrice=1&workingQuantity=1&workingTimeInForce=GTC&pendingType=MARKET&pendingSide=SELL&pendingQuantity=1", "")
	f.Add(uint8(3), "symbol=BTCUSDT&workingType=LIMIT_MAKER&workingSide=BUY&workingPrice=1&workingQuantity=2&pendingSide=SELL&pendingQuantity=2&pendingAboveType=LIMIT_MAKER&pendingAbovePrice=3&pendingBelowType=STOP_LOSS&pendingBelowTrailingDelta=10", "")
	f.Add(uint8(6), "symbol=BTCUSDT&side=SELL&quantity=1&price=2&stopPrice=1&stopLimitPrice=0.9&stopLimitTimeInForce=GTC", "")
	f.Add(uint8(7), "symbol=BTCUSDT&orderId=1&newQty=0.5", "")
	f.Add(uint8(8), "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1e3", "")
	f.Add(uint8(0), "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=-1&price=1", "%zz")
	f.Add(uint8(0), "symbol=BTCUSDT&side=BUY&type=STOP_LOSS&quantity=1&stopPrice=500000", "")
	f.Add(uint8(0), "symbol=BTCUSDT&side=SELL&type=TAKE_PROFIT_LIMIT&timeInForce=GTC&quantity=1&price=2", "stopPrice=3&trailingDelta=150")
	f.Add(uint8(1), "symbol=BTCUSDT&side=BUY&quantity=1&aboveType=STOP_LOSS_LIMIT&aboveStopPrice=9&abovePrice=10&aboveTimeInForce=GTC&belowType=TAKE_PROFIT_LIMIT&belowStopPrice=1&belowPrice=1.5&belowTimeInForce=GTC", "")
	f.Add(uint8(2), "symbol=BTCUSDT&workingType=LIMIT&workingSide=BUY&workingPrice=1&workingQuantity=1&workingTimeInForce=GTC&pendingType=STOP_LOSS_LIMIT&pendingSide=SELL&pendingQuantity=1&pendingStopPrice=0.5&pendingPrice=0.4&pendingTimeInForce=GTC&pendingTrailingDelta=20", "")
	f.Add(uint8(3), "symbol=BTCUSDT&workingType=LIMIT&workingSide=BUY&workingPrice=1&workingQuantity=2&workingTimeInForce=GTC&pendingSide=SELL&pendingQuantity=2&pendingAboveType=TAKE_PROFIT_LIMIT&pendingAbovePrice=3&pendingAboveStopPrice=2.9&pendingAboveTimeInForce=GTC&pendingBelowType=STOP_LOSS_LIMIT&pendingBelowStopPrice=0.5&pendingBelowPrice=0.4&pendingBelowTimeInForce=GTC", "")
	f.Add(uint8(6), "symbol=BTCUSDT&side=BUY&quantity=1&price=2&trailingDelta=300&stopLimitPrice=3&stopLimitTimeInForce=GTC", "")

	s, err := NewScheme(0)
	if err != nil {
		f.Fatal(err)
	}
	var routes []string
	for name, spec := range routeTable {
		if spec.kind != kindNone {
			routes = append(routes, name)
		}
	}
	sort.Strings(routes)
	f.Fuzz(func(t *testing.T, which uint8, query, body string) {
		name := routes[int(which)%len(routes)]
		_, spec, _ := lookup(splitRoute(name))
		p, err := exchange.ParseParams(query)
		if err != nil {
			return
		}
		method, path := splitRoute(name)
		req := &exchange.Request{Method: method, Path: path, Params: p}
		if body != "" {
			req.Body = []byte(body)
		}
		route, err := s.Classify(req)
		if err != nil {
			t.Fatalf("classify %s: %v", name, err)
		}
		var in exchange.Intent
		err = s.Intent(req, route, &in)
		if err != nil {
			if !errors.Is(err, exchange.ErrMalformedRequest) {
				t.Fatalf("error does not wrap ErrMalformedRequest: %v", err)
			}
			return
		}
		all := append(exchange.Params(nil), p...)
		if body != "" {
			bp, err := exchange.ParseParams(body)
			if err != nil {
				t.Fatalf("accepted an unparsable body %q", body)
			}
			all = append(all, bp...)
		}
		seen := map[string]bool{}
		for _, kv := range all {
			if seen[kv.Key] {
				t.Fatalf("accepted duplicate parameter %q", kv.Key)
			}
			seen[kv.Key] = true
			if !spec.params[kv.Key] {
				t.Fatalf("accepted parameter %q outside the route's list", kv.Key)
			}
		}
		if len(in.Orders) == 0 {
			t.Fatalf("%s: accepted with no orders", name)
		}
		sym, _ := all.Get("symbol")
		for _, o := range in.Orders {
			if o.Symbol != sym || o.Symbol == "" {
				t.Fatalf("order symbol %q, request symbol %q", o.Symbol, sym)
			}
			if o.Quantity.Sign() <= 0 && o.QuoteQuantity.Sign() <= 0 {
				t.Fatalf("order without a positive quantity: %+v", o)
			}
			if o.Price.Sign() < 0 {
				t.Fatalf("negative price: %+v", o)
			}
			if spec.kind != kindAmend && o.Side != exchange.Buy && o.Side != exchange.Sell {
				t.Fatalf("order without a side: %+v", o)
			}
		}
		checkPricesCarried(t, spec.kind, all, in.Orders)
		// The payload is the query as sent with the timestamp after it,
		// then the body.
		payload, err := s.Prepare(nil, req, signer.KeyInfo{}, time.UnixMilli(7))
		if err != nil {
			t.Fatalf("Prepare of an accepted request: %v", err)
		}
		query, ok := strings.CutSuffix(string(payload), body)
		if !ok {
			t.Fatalf("payload %q does not end with the body %q", payload, body)
		}
		sent, err := exchange.ParseParams(query)
		want := append(exchange.Params(nil), p...)
		if !all.Has("timestamp") {
			want = append(want, exchange.Param{Key: "timestamp", Value: "7"})
		}
		if err != nil || !slices.Equal(sent, want) {
			t.Fatalf("payload query %q (%v) holds %v, want %v", query, err, sent, want)
		}
		// Re-encoding what was accepted parses to the same orders.
		var again exchange.Intent
		err = s.Intent(&exchange.Request{Method: method, Path: path, Params: all}, route, &again)
		if err != nil || len(again.Orders) != len(in.Orders) {
			t.Fatalf("re-encoded request: %v", err)
		}
		for i := range in.Orders {
			if again.Orders[i].String() != in.Orders[i].String() {
				t.Fatalf("re-encoded order %q != %q", again.Orders[i].String(), in.Orders[i].String())
			}
		}
	})
}

func splitRoute(name string) (string, string) {
	for i := 0; i < len(name); i++ {
		if name[i] == ' ' {
			return name[:i], name[i+1:]
		}
	}
	return name, ""
}

// legIndex maps the parameter prefix of each leg to the leg's index in the
// intent, by route kind. The legacy OCO is mapped by name in
// checkPricesCarried.
var legIndex = map[routeKind]map[string]int{
	kindOrder: {"": 0},
	kindOCO:   {"above": 0, "below": 1},
	kindOTO:   {"working": 0, "pending": 1},
	kindOTOCO: {"working": 0, "pendingAbove": 1, "pendingBelow": 2},
	kindOPO:   {"working": 0, "pending": 1},
	kindOPOCO: {"working": 0, "pendingAbove": 1, "pendingBelow": 2},
}

// priceParam reports whether a parameter is a price of an order: its
// leg's prefix ("" for a plain order and the legacy OCO) and the field of
// exchange.Order it belongs in ("Price", "StopPrice", "TrailingDelta").
func priceParam(key string) (prefix, field string, ok bool) {
	switch key {
	case "price", "stopLimitPrice":
		return "", "Price", true
	case "stopPrice":
		return "", "StopPrice", true
	case "trailingDelta":
		return "", "TrailingDelta", true
	}
	for _, f := range []string{"StopPrice", "TrailingDelta", "Price"} {
		if p, ok := strings.CutSuffix(key, f); ok && p != "" {
			return p, f, true
		}
	}
	return "", "", false
}

// checkPricesCarried fails unless every price parameter of the request (a
// limit price, a stop price, a trailing delta) is in the intent, in the
// order of its leg and the field the guard checks; and unless every stop
// or take-profit order carries a trigger.
func checkPricesCarried(t *testing.T, kind routeKind, all exchange.Params, orders []exchange.Order) {
	t.Helper()
	for _, kv := range all {
		prefix, field, isPrice := priceParam(kv.Key)
		if !isPrice {
			continue
		}
		i, ok := legIndex[kind][prefix]
		if kind == kindLegacyOCO {
			// price is the LIMIT_MAKER leg's; the others the stop leg's.
			i, ok = 1, true
			if kv.Key == "price" {
				i = 0
			}
		}
		if !ok || i >= len(orders) {
			t.Fatalf("price parameter %s=%s belongs to no leg of %d orders", kv.Key, kv.Value, len(orders))
		}
		want, err := decimal.NewFromString(kv.Value)
		if err != nil {
			t.Fatalf("accepted price parameter %s=%q that is not a decimal", kv.Key, kv.Value)
		}
		o := &orders[i]
		got := map[string]decimal.Decimal{"Price": o.Price, "StopPrice": o.StopPrice, "TrailingDelta": o.TrailingDelta}[field]
		if !got.Equal(want) {
			t.Fatalf("%s=%s is not in the intent: leg %d %s is %s (%s)", kv.Key, kv.Value, i, field, got, o)
		}
	}
	for _, o := range orders {
		switch o.Type {
		case exchange.StopLoss, exchange.StopLimit, exchange.TakeProfit, exchange.TakeLimit:
			if o.StopPrice.Sign() <= 0 && o.TrailingDelta.Sign() <= 0 {
				t.Fatalf("stop order without a trigger in the intent: %s", o)
			}
		}
	}
}
