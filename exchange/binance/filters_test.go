package binance

import (
	"errors"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

const testExchangeInfo = `{
 "timezone": "UTC", "serverTime": 1700000000000,
 "rateLimits": [
  {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
  {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
  {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
  {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000}
 ],
 "symbols": [
  {"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "quoteAsset": "USDT", "quoteOrderQtyMarketAllowed": true,
   "filters": [
    {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
    {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
    {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "100.00000000", "stepSize": "0.00000000"},
    {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true, "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5},
    {"filterType": "ICEBERG_PARTS", "limit": 10},
    {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "5", "bidMultiplierDown": "0.2", "askMultiplierUp": "5", "askMultiplierDown": "0.2", "avgPriceMins": 5}
   ]},
  {"symbol": "ETHBTC", "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "BTC", "quoteOrderQtyMarketAllowed": false,
   "filters": [
    {"filterType": "PRICE_FILTER", "minPrice": "0.00001000", "maxPrice": "922327.00000000", "tickSize": "0.00001000"},
    {"filterType": "LOT_SIZE", "minQty": "0.00010000", "maxQty": "100000.00000000", "stepSize": "0.00010000"},
    {"filterType": "MIN_NOTIONAL", "minNotional": "0.00010000", "applyToMarket": true, "avgPriceMins": 5}
   ]},
  {"symbol": "LUNABTC", "status": "BREAK", "baseAsset": "LUNA", "quoteAsset": "BTC", "quoteOrderQtyMarketAllowed": true, "filters": []}
 ]
}`

func testRules(t *testing.T) map[string]*symbolRules {
	t.Helper()
	rules, rls, err := parseExchangeInfo([]byte(testExchangeInfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(rls) != 4 || rls[1].Interval.Seconds() != 10 || rls[2].Interval.Hours() != 24 || rls[0].Limit != 6000 {
		t.Fatalf("rate limits %+v", rls)
	}
	return rules
}

func TestExchangeInfoParsed(t *testing.T) {
	rules := testRules(t)
	b := rules["BTCUSDT"]
	if b.info.Base != "BTC" || b.info.Quote != "USDT" || !b.info.Trading || !b.info.Filters.MarketByQuote ||
		!b.info.Filters.TickSize.Equal(dec("0.01")) || !b.info.Filters.MinNotional.Equal(dec("5")) ||
		!b.marketMaxQty.Equal(dec("100")) || !b.minToMarket || b.maxToMarket {
		t.Fatalf("BTCUSDT %+v", b)
	}
	if rules["LUNABTC"].info.Trading {
		t.Fatal("BREAK symbol reported trading")
	}
	if _, _, err := parseExchangeInfo([]byte(`{"symbols":[{"symbol":"X","filters":[{"filterType":"LOT_SIZE","minQty":"-1"}]}]}`)); err == nil {
		t.Fatal("negative filter value accepted")
	}
	if _, _, err := parseExchangeInfo([]byte(`{"rateLimits":[{"rateLimitType":"ORDERS","interval":"WEEK","intervalNum":1,"limit":1}]}`)); err == nil {
		t.Fatal("unknown interval accepted")
	}
}

func TestFilters(t *testing.T) {
	rules := testRules(t)
	lim := func(sym, qty, price string) exchange.Order {
		return exchange.Order{Symbol: sym, Side: exchange.Buy, Type: exchange.Limit, TimeInForce: exchange.GTC, Quantity: dec(qty), Price: dec(price)}
	}
	mkt := func(sym, qty, quote string) exchange.Order {
		o := exchange.Order{Symbol: sym, Side: exchange.Buy, Type: exchange.Market}
		if qty != "" {
			o.Quantity = dec(qty)
		}
		if quote != "" {
			o.QuoteQuantity = dec(quote)
		}
		return o
	}
	cases := []struct {
		name   string
		o      exchange.Order
		ref    string
		filter string
		detail string
	}{
		{"ok", lim("BTCUSDT", "0.001", "50000.01"), "", "", ""},
		{"tick", lim("BTCUSDT", "0.001", "100.005"), "", "PRICE_FILTER tickSize", "price 100.005 is not a multiple of tickSize 0.01 (nearest 100.00 or 100.01)"},
		{"min price", lim("BTCUSDT", "1", "0.001"), "", "PRICE_FILTER minPrice", "price 0.001 is below minPrice 0.01"},
		{"max price", lim("BTCUSDT", "0.001", "1000000.01"), "", "PRICE_FILTER maxPrice", "price 1000000.01 is above maxPrice 1000000"},
		{"step", lim("BTCUSDT", "0.000015", "50000"), "", "LOT_SIZE stepSize", "quantity 0.000015 is not a multiple of stepSize 0.00001 (nearest 0.00001 or 0.00002)"},
		{"min qty", lim("BTCUSDT", "0.000001", "50000"), "", "LOT_SIZE minQty", "quantity 0.000001 is below minQty 0.00001"},
		{"max qty", lim("BTCUSDT", "9000.1", "1"), "", "LOT_SIZE maxQty", "quantity 9000.1 is above maxQty 9000"},
		{"min notional", lim("BTCUSDT", "0.00032", "10000"), "", "NOTIONAL minNotional", "notional 3.2 USDT is below minNotional 5 (short by 1.8)"},
		{"max notional", lim("BTCUSDT", "100", "100000"), "", "NOTIONAL maxNotional", "notional 10000000 USDT is above maxNotional 9000000 (over by 1000000)"},
		{"market lot", mkt("BTCUSDT", "101", ""), "1", "MARKET_LOT_SIZE maxQty", "quantity 101 is above maxQty 100"},
		{"market notional by ref", mkt("BTCUSDT", "0.0001", ""), "40000", "NOTIONAL minNotional", "notional 4 USDT is below minNotional 5 (short by 1)"},
		{"market notional without ref", mkt("BTCUSDT", "0.0001", ""), "", "", ""},
		{"market max notional not applied", mkt("BTCUSDT", "99", ""), "100000", "", ""},
		{"quote ok", mkt("BTCUSDT", "", "10"), "", "", ""},
		{"quote small", mkt("BTCUSDT", "", "4.99"), "", "NOTIONAL minNotional", "notional 4.99 USDT is below minNotional 5 (short by 0.01)"},
		{"quote not allowed", mkt("ETHBTC", "", "1"), "", "quoteOrderQtyMarketAllowed", "market orders by quote amount are not allowed; give a base quantity"},
		{"legacy min notional", lim("ETHBTC", "0.001", "0.05"), "", "MIN_NOTIONAL minNotional", "notional 0.00005 BTC is below minNotional 0.0001 (short by 0.00005)"},
		{"halted", lim("LUNABTC", "1", "1"), "", "status", "symbol status is BREAK, not TRADING; the venue takes no orders on it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := decimal.Decimal{}
			if tc.ref != "" {
				ref = dec(tc.ref)
			}
			err := checkFilters(rules[tc.o.Symbol], tc.o, ref)
			if tc.filter == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			var fe *exchange.FilterError
			if !errors.As(err, &fe) || !errors.Is(err, exchange.ErrFilter) {
				t.Fatalf("err = %v, want a FilterError", err)
			}
			if fe.Filter != tc.filter || fe.Detail != tc.detail || fe.Symbol != tc.o.Symbol {
				t.Fatalf("got %q: %q\nwant %q: %q", fe.Filter, fe.Detail, tc.filter, tc.detail)
			}
		})
	}
}
