package coinbase

import (
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
)

func orderReq(body string) *exchange.Request {
	return &exchange.Request{Method: "POST", Path: Prefix + "/orders", Body: []byte(body)}
}

func intentOf(t *testing.T, s *Scheme, req *exchange.Request) (exchange.Intent, error) {
	t.Helper()
	r, err := s.Classify(req)
	if err != nil {
		return exchange.Intent{}, err
	}
	var in exchange.Intent
	err = s.Intent(req, r, &in)
	return in, err
}

const head = `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","order_configuration":`

func TestIntentConfigurations(t *testing.T) {
	s := mustScheme(t, "")
	for _, tc := range []struct {
		name, cfg string
		want      exchange.Order
	}{
		{"market by quote", `{"market_market_ioc":{"quote_size":"100"}}`,
			exchange.Order{Type: exchange.Market, QuoteQuantity: d("100")}},
		{"market by base", `{"market_market_ioc":{"base_size":"0.5"}}`,
			exchange.Order{Type: exchange.Market, Quantity: d("0.5")}},
		{"market fok", `{"market_market_fok":{"base_size":"0.5"}}`,
			exchange.Order{Type: exchange.Market, Quantity: d("0.5")}},
		{"limit gtc", `{"limit_limit_gtc":{"base_size":"0.001","limit_price":"50000.5"}}`,
			exchange.Order{Type: exchange.Limit, TimeInForce: exchange.GTC, Quantity: d("0.001"), Price: d("50000.5")}},
		{"limit gtc post-only", `{"limit_limit_gtc":{"base_size":"0.001","limit_price":"50000","post_only":true}}`,
			exchange.Order{Type: exchange.LimitMaker, TimeInForce: exchange.GTC, Quantity: d("0.001"), Price: d("50000")}},
		{"limit gtc post_only false", `{"limit_limit_gtc":{"base_size":"1","limit_price":"2","post_only":false}}`,
			exchange.Order{Type: exchange.Limit, TimeInForce: exchange.GTC, Quantity: d("1"), Price: d("2")}},
		{"limit gtc by quote", `{"limit_limit_gtc":{"quote_size":"50","limit_price":"2"}}`,
			exchange.Order{Type: exchange.Limit, TimeInForce: exchange.GTC, QuoteQuantity: d("50"), Price: d("2")}},
		{"limit gtd", `{"limit_limit_gtd":{"base_size":"1","limit_price":"2","end_time":"2030-01-01T00:00:00Z","post_only":true}}`,
			exchange.Order{Type: exchange.LimitMaker, TimeInForce: exchange.GTD, Quantity: d("1"), Price: d("2")}},
		{"limit fok", `{"limit_limit_fok":{"base_size":"1","limit_price":"2"}}`,
			exchange.Order{Type: exchange.Limit, TimeInForce: exchange.FOK, Quantity: d("1"), Price: d("2")}},
		{"sor limit ioc", `{"sor_limit_ioc":{"base_size":"1","limit_price":"2"}}`,
			exchange.Order{Type: exchange.Limit, TimeInForce: exchange.IOC, Quantity: d("1"), Price: d("2")}},
		{"stop limit gtc", `{"stop_limit_stop_limit_gtc":{"base_size":"1","limit_price":"2","stop_price":"2.1","stop_direction":"STOP_DIRECTION_STOP_UP"}}`,
			exchange.Order{Type: exchange.StopLimit, TimeInForce: exchange.GTC, Quantity: d("1"), Price: d("2"), StopPrice: d("2.1")}},
		{"stop limit gtd", `{"stop_limit_stop_limit_gtd":{"base_size":"1","limit_price":"2","stop_price":"1.9","stop_direction":"STOP_DIRECTION_STOP_DOWN","end_time":"2030-01-01T00:00:00.5Z"}}`,
			exchange.Order{Type: exchange.StopLimit, TimeInForce: exchange.GTD, Quantity: d("1"), Price: d("2"), StopPrice: d("1.9")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := intentOf(t, s, orderReq(head+tc.cfg+`}`))
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Orders) != 1 || in.Test {
				t.Fatalf("intent %+v", in)
			}
			o, w := in.Orders[0], tc.want
			if o.Symbol != "BTC-USD" || o.Side != exchange.Buy || o.ClientID != "c1" || o.Type != w.Type || o.TimeInForce != w.TimeInForce ||
				!o.Price.Equal(w.Price) || !o.Quantity.Equal(w.Quantity) || !o.QuoteQuantity.Equal(w.QuoteQuantity) ||
				!o.StopPrice.Equal(w.StopPrice) || !o.TrailingDelta.Equal(w.TrailingDelta) {
				t.Errorf("order %+v, want %+v", o, w)
			}
		})
	}
	// Preview is a dry run of the same order, without client_order_id.
	in, err := intentOf(t, s, &exchange.Request{Method: "POST", Path: Prefix + "/orders/preview",
		Body: []byte(`{"product_id":"ETH-USD","side":"SELL","order_configuration":{"market_market_ioc":{"base_size":"1"}}}`)})
	if err != nil || !in.Test || in.Orders[0].Side != exchange.Sell || in.Orders[0].Symbol != "ETH-USD" {
		t.Errorf("preview %+v %v", in, err)
	}
}

func TestIntentRefusals(t *testing.T) {
	s := mustScheme(t, "")
	for _, tc := range []struct{ name, body, why string }{
		{"unknown configuration", head + `{"twap_limit_gtd":{"base_size":"1","limit_price":"2"}}}`, "unknown"},
		{"bracket", head + `{"trigger_bracket_gtc":{"base_size":"1","limit_price":"2","stop_trigger_price":"1"}}}`, "unknown"},
		{"two configurations", head + `{"market_market_ioc":{"quote_size":"1"},"limit_limit_gtc":{"base_size":"1","limit_price":"2"}}}`, "exactly one"},
		{"no configuration", head + `{}}`, "exactly one"},
		{"configuration not an object", head + `[]}`, "must be an object"},
		{"duplicate top-level key", `{"client_order_id":"c1","product_id":"BTC-USD","product_id":"ETH-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"1"}}}`, "twice"},
		{"duplicate side", `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","side":"SELL","order_configuration":{"market_market_ioc":{"quote_size":"1"}}}`, "twice"},
		{"duplicate size", head + `{"market_market_ioc":{"quote_size":"1","quote_size":"100000"}}}`, "twice"},
		{"duplicate configuration", head + `{"limit_limit_gtc":{"base_size":"1","limit_price":"2"},"limit_limit_gtc":{"base_size":"9","limit_price":"2"}}}`, "twice"},
		{"case variant key", `{"client_order_id":"c1","product_id":"BTC-USD","Product_ID":"ETH-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"1"}}}`, "not accepted"},
		{"unknown top-level key", `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","leverage":"5","order_configuration":{"market_market_ioc":{"quote_size":"1"}}}`, "not accepted"},
		{"attached order", `{"client_order_id":"c1","product_id":"BTC-USD","side":"BUY","attached_order_configuration":{},"order_configuration":{"market_market_ioc":{"quote_size":"1"}}}`, "not accepted"},
		{"unknown config key", head + `{"limit_limit_gtc":{"base_size":"1","limit_price":"2","iceberg":"1"}}}`, "not accepted"},
		{"base and quote", head + `{"market_market_ioc":{"quote_size":"1","base_size":"1"}}}`, "exactly one"},
		{"no size", head + `{"market_market_ioc":{}}}`, "exactly one"},
		{"quote on stop", head + `{"stop_limit_stop_limit_gtc":{"quote_size":"1","limit_price":"2","stop_price":"2","stop_direction":"STOP_DIRECTION_STOP_UP"}}}`, "not accepted"},
		{"no price", head + `{"limit_limit_gtc":{"base_size":"1"}}}`, "limit_price"},
		{"numeric size", head + `{"market_market_ioc":{"quote_size":100}}}`, "string"},
		{"exponent", head + `{"market_market_ioc":{"quote_size":"1e9"}}}`, "decimal"},
		{"negative", head + `{"market_market_ioc":{"quote_size":"-1"}}}`, "decimal"},
		{"zero", head + `{"market_market_ioc":{"quote_size":"0"}}}`, "positive"},
		{"leading zero", head + `{"market_market_ioc":{"quote_size":"0100"}}}`, "leading"},
		{"spaces", head + `{"market_market_ioc":{"quote_size":" 1"}}}`, "decimal"},
		{"post_only string", head + `{"limit_limit_gtc":{"base_size":"1","limit_price":"2","post_only":"true"}}}`, "true or false"},
		{"gtd without end", head + `{"limit_limit_gtd":{"base_size":"1","limit_price":"2"}}}`, "end_time"},
		{"gtd bad end", head + `{"limit_limit_gtd":{"base_size":"1","limit_price":"2","end_time":"tomorrow"}}}`, "RFC 3339"},
		{"stop without direction", head + `{"stop_limit_stop_limit_gtc":{"base_size":"1","limit_price":"2","stop_price":"2"}}}`, "stop_direction"},
		{"lowercase side", `{"client_order_id":"c1","product_id":"BTC-USD","side":"buy","order_configuration":{"market_market_ioc":{"quote_size":"1"}}}`, "side"},
		{"no client id", `{"product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"1"}}}`, "client_order_id"},
		{"no product", `{"client_order_id":"c1","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"1"}}}`, "product_id"},
		{"trailing data", head + `{"market_market_ioc":{"quote_size":"1"}}}{}`, "after"},
		{"not an object", `[1]`, "not a JSON object"},
		{"empty", ``, "not JSON"},
		{"invalid utf-8", "{\"client_order_id\":\"c\xff\",\"product_id\":\"BTC-USD\",\"side\":\"BUY\",\"order_configuration\":{\"market_market_ioc\":{\"quote_size\":\"1\"}}}", "UTF-8"},
		{"deep nesting", head + `{"market_market_ioc":{"quote_size":"1"}},"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, "deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := intentOf(t, s, orderReq(tc.body))
			if !errors.Is(err, exchange.ErrMalformedRequest) || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("err %v, want ErrMalformedRequest mentioning %q", err, tc.why)
			}
		})
	}
	for _, path := range []string{"/orders/close_position", "/convert/quote", "/convert/trade/q1"} {
		_, err := intentOf(t, s, &exchange.Request{Method: "POST", Path: Prefix + path, Body: []byte(`{}`)})
		if !errors.Is(err, exchange.ErrMalformedRequest) {
			t.Errorf("%s: %v, want refused", path, err)
		}
	}
}

func TestIntentEdit(t *testing.T) {
	s := mustScheme(t, "")
	edit := func(body string) (exchange.Intent, error) {
		return intentOf(t, s, &exchange.Request{Method: "POST", Path: Prefix + "/orders/edit", Body: []byte(body)})
	}
	if _, err := edit(`{"order_id":"o1","price":"10","size":"2"}`); !errors.Is(err, exchange.ErrMalformedRequest) || !strings.Contains(err.Error(), "not placed or read by this client") {
		t.Errorf("edit of an unknown order: %v", err)
	}
	s.track("o1", trackedOrder{Product: "ETH-USD", Side: exchange.Sell, PostOnly: true, TIF: exchange.GTC})
	in, err := edit(`{"order_id":"o1","price":"10","size":"2"}`)
	if err != nil {
		t.Fatal(err)
	}
	o := in.Orders[0]
	if o.Symbol != "ETH-USD" || o.Side != exchange.Sell || o.Type != exchange.LimitMaker || !o.Price.Equal(d("10")) || !o.Quantity.Equal(d("2")) || o.ID != "o1" {
		t.Errorf("edit intent %+v", o)
	}
	for _, body := range []string{
		`{"order_id":"o1","price":"10"}`, `{"order_id":"o1","price":"10","size":"2","size":"200"}`,
		`{"order_id":"o1","price":"10","size":"2","product_id":"BTC-USD"}`, `{"order_id":"o1","price":"x","size":"2"}`,
	} {
		if _, err := edit(body); !errors.Is(err, exchange.ErrMalformedRequest) {
			t.Errorf("%s: %v", body, err)
		}
	}
	in, err = intentOf(t, s, &exchange.Request{Method: "POST", Path: Prefix + "/orders/edit_preview", Body: []byte(`{"order_id":"o1","price":"10","size":"2"}`)})
	if err != nil || !in.Test {
		t.Errorf("edit preview %+v %v", in, err)
	}
}

// products are the test product table.
func products() []Product {
	mk := func(id string, mut func(*Product)) Product {
		p := Product{ID: id, Status: "online", Info: exchange.SymbolInfo{Symbol: id, Base: strings.Split(id, "-")[0], Quote: "USD", Trading: true,
			Filters: exchange.Filters{TickSize: d("0.01"), StepSize: d("0.0001"), QuoteStep: d("0.01"), MinQty: d("0.001"), MaxQty: d("100"),
				MinNotional: d("1"), MaxNotional: d("1000000"), MarketByQuote: true}}}
		if mut != nil {
			mut(&p)
		}
		return p
	}
	return []Product{
		mk("BTC-USD", nil),
		mk("HALT-USD", func(p *Product) { p.TradingDisabled = true }),
		mk("CANCEL-USD", func(p *Product) { p.CancelOnly = true }),
		mk("VIEW-USD", func(p *Product) { p.ViewOnly = true }),
		mk("DELIST-USD", func(p *Product) { p.Status = "delisted" }),
		mk("LIMIT-USD", func(p *Product) { p.LimitOnly = true }),
		mk("POST-USD", func(p *Product) { p.PostOnly = true }),
	}
}

func TestCheckProduct(t *testing.T) {
	s := mustScheme(t, "")
	s.setProducts(products())
	limit := func(sym, price, size string) string {
		return `{"client_order_id":"c","product_id":"` + sym + `","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"` + size + `","limit_price":"` + price + `"}}}`
	}
	for _, tc := range []struct {
		name, body, filter string // filter "" = accepted
	}{
		{"ok", limit("BTC-USD", "100.01", "0.0101"), ""},
		{"tick", limit("BTC-USD", "100.005", "0.01"), "price_increment"},
		{"step", limit("BTC-USD", "100", "0.01005"), "base_increment"},
		{"min size", limit("BTC-USD", "10000", "0.0005"), "base_min_size"},
		{"max size", limit("BTC-USD", "1", "100.0001"), "base_max_size"},
		{"min value", limit("BTC-USD", "1", "0.5"), "quote_min_size"},
		{"max value", limit("BTC-USD", "100000", "20"), "quote_max_size"},
		{"quote step", `{"client_order_id":"c","product_id":"BTC-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10.001"}}}`, "quote_increment"},
		{"trading disabled", limit("HALT-USD", "10", "1"), "trading_disabled"},
		{"cancel only", limit("CANCEL-USD", "10", "1"), "cancel_only"},
		{"view only", limit("VIEW-USD", "10", "1"), "view_only"},
		{"delisted", limit("DELIST-USD", "10", "1"), "status"},
		{"limit only refuses market", `{"client_order_id":"c","product_id":"LIMIT-USD","side":"BUY","order_configuration":{"market_market_ioc":{"quote_size":"10"}}}`, "limit_only"},
		{"limit only takes limit", limit("LIMIT-USD", "10", "1"), ""},
		{"post only refuses plain limit", limit("POST-USD", "10", "1"), "post_only"},
		{"post only takes post-only", `{"client_order_id":"c","product_id":"POST-USD","side":"BUY","order_configuration":{"limit_limit_gtc":{"base_size":"1","limit_price":"10","post_only":true}}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := intentOf(t, s, orderReq(tc.body))
			if tc.filter == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *exchange.FilterError
			if !errors.As(err, &fe) || fe.Filter != tc.filter || !errors.Is(err, exchange.ErrFilter) {
				t.Errorf("err %v, want filter %s", err, tc.filter)
			}
		})
	}
	if _, err := intentOf(t, s, orderReq(limit("NOPE-USD", "1", "1"))); !errors.Is(err, exchange.ErrMalformedRequest) {
		t.Errorf("unlisted product: %v", err)
	}
	// The nearest valid values are named.
	err := checkProduct(products()[0], exchange.Order{Symbol: "BTC-USD", Type: exchange.Limit, Price: d("100.005"), Quantity: d("1")}, d("0"))
	if err == nil || !strings.Contains(err.Error(), "nearest 100.00 or 100.01") {
		t.Errorf("%v", err)
	}
	// A market order by base size is valued at the reference.
	err = checkProduct(products()[0], exchange.Order{Symbol: "BTC-USD", Type: exchange.Market, Quantity: d("0.001")}, d("100"))
	var fe *exchange.FilterError
	if !errors.As(err, &fe) || fe.Filter != "quote_min_size" {
		t.Errorf("market by base below quote_min_size: %v", err)
	}
}

func TestParseProducts(t *testing.T) {
	body := `{"products":[
	 {"product_id":"BTC-USD","base_currency_id":"BTC","quote_currency_id":"USD","base_increment":"0.00000001","quote_increment":"0.01","price_increment":"0.01",
	  "base_min_size":"0.00000001","base_max_size":"3400","quote_min_size":"1","quote_max_size":"150000000","status":"online","limit_only":true},
	 {"product_id":"BAD-USD","base_increment":"x","price_increment":"0.01","status":"online"},
	 {"product_id":"OFF-USD","base_increment":"1","price_increment":"0.01","status":"online","trading_disabled":true}]}`
	ps, err := parseProducts([]byte(body))
	if err != nil || len(ps) != 2 {
		t.Fatalf("%+v %v", ps, err)
	}
	b := ps[0]
	f := b.Info.Filters
	if b.ID != "BTC-USD" || !b.LimitOnly || !b.Info.Trading || b.Info.Base != "BTC" || !f.TickSize.Equal(d("0.01")) || !f.StepSize.Equal(d("0.00000001")) ||
		!f.MinNotional.Equal(d("1")) || !f.MaxQty.Equal(d("3400")) || !f.QuoteStep.Equal(d("0.01")) {
		t.Errorf("BTC-USD %+v", b)
	}
	if ps[1].Info.Trading || ps[1].Tradable() {
		t.Error("a trading_disabled product reported tradable")
	}
	if _, err := parseProducts([]byte(`{`)); err == nil {
		t.Error("unreadable products accepted")
	}
}
