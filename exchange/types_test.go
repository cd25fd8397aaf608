package exchange_test

import (
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestOrderString(t *testing.T) {
	tests := []struct {
		o    exchange.Order
		want string
	}{
		{exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit, TimeInForce: exchange.GTC,
			Price: dec("50000.10"), Quantity: dec("0.01")}, "BUY LIMIT 0.01 BTCUSDT @ 50000.1 GTC"},
		{exchange.Order{Symbol: "BTC-USD", Side: exchange.Sell, Type: exchange.Market, Quantity: dec("2")}, "SELL MARKET 2 BTC-USD"},
		{exchange.Order{Symbol: "ETHUSDT", Side: exchange.Buy, Type: exchange.Market, QuoteQuantity: dec("100"), Quantity: dec("5")},
			"BUY MARKET quote=100 ETHUSDT"},
		{exchange.Order{Symbol: "X", Side: exchange.Sell, Type: exchange.StopLimit, TimeInForce: exchange.IOC, Price: dec("1"), Quantity: dec("0.5")},
			"SELL STOP_LOSS_LIMIT 0.5 X @ 1 IOC"},
		{exchange.Order{Symbol: "X", Side: exchange.Buy, Type: exchange.StopLimit, TimeInForce: exchange.GTC, Price: dec("1.1"), StopPrice: dec("1.05"), Quantity: dec("2")},
			"BUY STOP_LOSS_LIMIT 2 X @ 1.1 stop 1.05 GTC"},
		{exchange.Order{Symbol: "X", Side: exchange.Sell, Type: exchange.StopLoss, StopPrice: dec("0.9"), TrailingDelta: dec("150"), Quantity: dec("2")},
			"SELL STOP_LOSS 2 X stop 0.9 trail 150bps"},
		{exchange.Order{}, "  0 "},
	}
	for _, tt := range tests {
		if got := tt.o.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestIntentString(t *testing.T) {
	buy := exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit, Price: dec("1"), Quantity: dec("2")}
	sell := exchange.Order{Symbol: "BTCUSDT", Side: exchange.Sell, Type: exchange.LimitMaker, Price: dec("3"), Quantity: dec("2")}
	route := exchange.Route{Name: "POST /api/v3/order", Class: exchange.ClassTrade}
	tests := []struct {
		in   exchange.Intent
		want string
	}{
		{exchange.Intent{Route: exchange.Route{Name: "GET /api/v3/account", Class: exchange.ClassRead}}, "GET /api/v3/account"},
		{exchange.Intent{Route: route, Orders: []exchange.Order{buy}}, "POST /api/v3/order: BUY LIMIT 2 BTCUSDT @ 1"},
		{exchange.Intent{Route: route, Orders: []exchange.Order{buy, sell}}, "POST /api/v3/order: BUY LIMIT 2 BTCUSDT @ 1; SELL LIMIT_MAKER 2 BTCUSDT @ 3"},
		{exchange.Intent{Route: route, Test: true, Orders: []exchange.Order{buy}}, "POST /api/v3/order (test): BUY LIMIT 2 BTCUSDT @ 1"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	in := exchange.Intent{Route: route}
	if in.Class() != exchange.ClassTrade {
		t.Errorf("Class() = %q", in.Class())
	}
}

func TestQuoteMid(t *testing.T) {
	tests := []struct {
		bid, ask, want string
	}{
		{"100", "102", "101"},
		{"0.1", "0.2", "0.15"},
		{"0", "102", "102"},
		{"100", "0", "100"},
		{"0", "0", "0"},
		{"1", "2", "1.5"},
	}
	for _, tt := range tests {
		q := exchange.Quote{Bid: dec(tt.bid), Ask: dec(tt.ask)}
		if got := q.Mid(); !got.Equal(dec(tt.want)) {
			t.Errorf("Mid(bid %s, ask %s) = %s, want %s", tt.bid, tt.ask, got, tt.want)
		}
	}
}

func TestBalanceTotal(t *testing.T) {
	b := exchange.Balance{Asset: "BTC", Free: dec("0.1"), Locked: dec("0.2")}
	if !b.Total().Equal(dec("0.3")) {
		t.Errorf("Total() = %s, want exactly 0.3", b.Total())
	}
}

func TestParseSide(t *testing.T) {
	tests := []struct {
		in   string
		want exchange.Side
		ok   bool
	}{
		{"BUY", exchange.Buy, true},
		{"buy", exchange.Buy, true},
		{"Sell", exchange.Sell, true},
		{"SELL", exchange.Sell, true},
		{"", "", false},
		{"long", "", false},
		{" BUY", "", false},
	}
	for _, tt := range tests {
		got, err := exchange.ParseSide(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSide(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseClass(t *testing.T) {
	for _, c := range exchange.Classes() {
		got, err := exchange.ParseClass(string(c))
		if err != nil || got != c {
			t.Errorf("ParseClass(%q) = %q, %v", c, got, err)
		}
	}
	if len(exchange.Classes()) != 7 {
		t.Errorf("%d classes, want 7", len(exchange.Classes()))
	}
	cs := exchange.Classes()
	cs[0] = exchange.ClassWithdraw
	if got := exchange.Classes()[0]; got != exchange.ClassPublic {
		t.Errorf("a caller's change to Classes() reached the package: first class %q", got)
	}
	for _, s := range []string{"", "Trade", "admin", "withdrawal"} {
		if got, err := exchange.ParseClass(s); err == nil {
			t.Errorf("ParseClass(%q) = %q, want an error", s, got)
		}
	}
}

func TestOrderStatusOpen(t *testing.T) {
	open := map[exchange.OrderStatus]bool{
		exchange.StatusNew:             true,
		exchange.StatusPartiallyFilled: true,
		exchange.StatusFilled:          false,
		exchange.StatusCanceled:        false,
		exchange.StatusRejected:        false,
		exchange.StatusExpired:         false,
		exchange.StatusUnknown:         false,
		"":                             false,
	}
	for s, want := range open {
		if got := s.Open(); got != want {
			t.Errorf("%q.Open() = %v, want %v", s, got, want)
		}
	}
}

func TestBucketKey(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		want     string
	}{
		{"REQUEST_WEIGHT", time.Minute, "REQUEST_WEIGHT:1m"},
		{"ORDERS", 10 * time.Second, "ORDERS:10s"},
		{"ORDERS", 24 * time.Hour, "ORDERS:1d"},
		{"RAW_REQUESTS", 5 * time.Minute, "RAW_REQUESTS:5m"},
		{"X", time.Hour, "X:1h"},
		{"X", 2 * time.Hour, "X:2h"},
		{"X", 90 * time.Second, "X:90s"},
		{"X", 90 * time.Minute, "X:90m"},
		{"X", 36 * time.Hour, "X:36h"},
		{"X", 48 * time.Hour, "X:2d"},
		{"X", time.Second, "X:1s"},
		{"X", 60 * time.Minute, "X:1h"},
	}
	for _, tt := range tests {
		if got := exchange.BucketKey(tt.name, tt.interval); got != tt.want {
			t.Errorf("BucketKey(%q, %v) = %q, want %q", tt.name, tt.interval, got, tt.want)
		}
	}
}
