package kucoin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

const testSymbols = `[{"symbol":"BTC-USDT","name":"BTC-USDT","baseCurrency":"BTC","quoteCurrency":"USDT","feeCurrency":"USDT","market":"USDS",
"baseMinSize":"0.00001","quoteMinSize":"0.1","baseMaxSize":"10000000000","quoteMaxSize":"99999999","baseIncrement":"0.00000001",
"quoteIncrement":"0.000001","priceIncrement":"0.1","priceLimitRate":"0.1","minFunds":"0.1","isMarginEnabled":true,"enableTrading":true},
{"symbol":"OFF-USDT","baseCurrency":"OFF","quoteCurrency":"USDT","baseMinSize":"1","quoteMinSize":"1","baseMaxSize":"10",
"quoteMaxSize":"10","baseIncrement":"1","quoteIncrement":"1","priceIncrement":"1","minFunds":"1","enableTrading":false}]`

func testRules(t *testing.T) map[string]*symbolRules {
	t.Helper()
	r, err := parseSymbols(json.RawMessage(testSymbols))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseSymbols(t *testing.T) {
	r := testRules(t)["BTC-USDT"]
	f := r.info.Filters
	if r.info.Base != "BTC" || r.info.Quote != "USDT" || !r.info.Trading || !f.TickSize.Equal(d("0.1")) ||
		!f.StepSize.Equal(d("0.00000001")) || !f.MinQty.Equal(d("0.00001")) || !f.MinNotional.Equal(d("0.1")) ||
		!f.QuoteStep.Equal(d("0.000001")) || !f.MarketByQuote {
		t.Fatalf("rules %+v", r.info)
	}
	if _, err := parseSymbols(json.RawMessage(`[{"symbol":"X-Y","priceIncrement":"-1"}]`)); err == nil {
		t.Fatal("negative increment accepted")
	}
}

func TestCheckFilters(t *testing.T) {
	rules := testRules(t)
	btc := rules["BTC-USDT"]
	lim := func(price, size string) exchange.Order {
		return exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit, Price: d(price), Quantity: d(size)}
	}
	funds := func(q string) exchange.Order {
		return exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: d(q)}
	}
	tests := []struct {
		name   string
		r      *symbolRules
		o      exchange.Order
		ref    string
		filter string // "" for no error
	}{
		{"ok", btc, lim("50000.1", "0.001"), "", ""},
		{"tick", btc, lim("50000.15", "0.001"), "", "priceIncrement"},
		{"min size", btc, lim("50000", "0.000001"), "", "baseMinSize"},
		{"max size", btc, lim("50000", "10000000001"), "", "baseMaxSize"},
		{"size step", btc, lim("50000", "0.000010001"), "", "baseIncrement"},
		{"min funds limit", btc, lim("1", "0.00001"), "", "minFunds"},
		{"funds ok", btc, funds("10"), "", ""},
		{"funds min", btc, funds("0.05"), "", "quoteMinSize"},
		{"funds max", btc, funds("100000000"), "", "quoteMaxSize"},
		{"funds step", btc, funds("10.0000001"), "", "quoteIncrement"},
		{"market by size valued at ref", btc, exchange.Order{Symbol: "BTC-USDT", Type: exchange.Market, Quantity: d("0.00001")}, "1000", "minFunds"},
		{"market by size without ref", btc, exchange.Order{Symbol: "BTC-USDT", Type: exchange.Market, Quantity: d("0.00001")}, "0", ""},
		{"disabled", rules["OFF-USDT"], exchange.Order{Symbol: "OFF-USDT", Type: exchange.Limit, Price: d("1"), Quantity: d("1")}, "", "enableTrading"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := decimal.Zero
			if tc.ref != "" {
				ref = d(tc.ref)
			}
			err := checkFilters(tc.r, tc.o, ref)
			if tc.filter == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *exchange.FilterError
			if !errors.As(err, &fe) || fe.Filter != tc.filter || !errors.Is(err, exchange.ErrFilter) {
				t.Fatalf("err = %v, want FilterError %s", err, tc.filter)
			}
		})
	}
	err := checkFilters(btc, lim("50000.15", "0.001"), decimal.Zero)
	if !strings.Contains(err.Error(), "nearest 50000.1 or 50000.2") {
		t.Fatalf("err = %v, want the nearest valid prices", err)
	}
}
