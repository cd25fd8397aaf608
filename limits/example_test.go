package limits_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
	"github.com/shopspring/decimal"
)

// tickers is a fixed reference price source; venue clients implement
// exchange.PriceSource from their public tickers.
type tickers map[string]exchange.Quote

func (t tickers) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	q, ok := t[symbol]
	if !ok {
		return exchange.Quote{}, errors.New("no ticker")
	}
	return q, nil
}

const policyYAML = `
version: 1
credentials:
  binance-main:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 10
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTCUSDT: {max_order_notional: "500"}
`

func Example() {
	policy, err := limits.ParsePolicy([]byte(policyYAML))
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prices := tickers{"BTCUSDT": {Symbol: "BTCUSDT", Bid: decimal.RequireFromString("49990"), Ask: decimal.RequireFromString("50000"), At: now}}
	guard, err := limits.NewGuard(policy, limits.NewMemoryStore(),
		limits.WithPrices("binance", prices),
		limits.WithClock(func() time.Time { return now }))
	if err != nil {
		fmt.Println(err)
		return
	}

	intent := &exchange.Intent{
		Credential: "binance-main",
		Venue:      "binance",
		Route:      exchange.Route{Name: "POST /api/v3/order", Class: exchange.ClassTrade},
		Orders: []exchange.Order{{
			Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
			Price: decimal.RequireFromString("50000"), Quantity: decimal.RequireFromString("0.02"),
		}},
	}
	_, err = guard.Check(context.Background(), intent)
	var v *limits.Violation
	if errors.As(err, &v) {
		fmt.Println("rule:", v.Rule)
		fmt.Println("limit:", v.Limit)
		fmt.Println(err)
	}
	// Output:
	// rule: order_notional
	// limit: 500 USDT
	// limits: denied by order_notional: credential "binance-main" symbol BTCUSDT: order notional over the per-order cap (notional 1000 USDT, limit 500 USDT); lower the quantity or raise credentials.binance-main.symbols.BTCUSDT.max_order_notional
}

// A reservation is settled from the venue's answer.
func ExampleGuard_Check() {
	policy, _ := limits.ParsePolicy([]byte(policyYAML))
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prices := tickers{"BTCUSDT": {Symbol: "BTCUSDT", Bid: decimal.RequireFromString("49990"), Ask: decimal.RequireFromString("50000"), At: now}}
	guard, _ := limits.NewGuard(policy, limits.NewMemoryStore(),
		limits.WithPrices("binance", prices), limits.WithClock(func() time.Time { return now }))
	ctx := context.Background()

	res, err := guard.Check(ctx, &exchange.Intent{
		Credential: "binance-main", Venue: "binance",
		Route: exchange.Route{Name: "POST /api/v3/order", Class: exchange.ClassTrade},
		Orders: []exchange.Order{{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
			Price: decimal.RequireFromString("49000"), Quantity: decimal.RequireFromString("0.01")}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// ... sign, send; the venue accepted and the order rests on the book.
	if err := res.Commit(ctx, exchange.Outcome{OrderIDs: []string{"8389765"}, Open: true}); err != nil {
		fmt.Println(err)
	}
	// Later the venue client sees the order filled.
	if err := guard.OrderClosed(ctx, "binance-main", "8389765", decimal.RequireFromString("490")); err != nil {
		fmt.Println(err)
	}
	fmt.Println("settled")
	// Output: settled
}

func ExamplePolicy_WriteText() {
	policy, err := limits.LoadPolicy("testdata/policy.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = policy.WriteText(os.Stdout)
	// Output:
	// version: 1
	// kill_switch:
	//   max_consecutive_rejections: 5
	//   max_denials: 20
	//   denial_window: 1m0s
	// credentials:
	//   binance-main:
	//     venue: binance
	//     allow: [read, trade, cancel]
	//     order_types: [LIMIT, LIMIT_MAKER]
	//     max_open_orders: 20
	//     price_band: "0.02"  # 2%
	//     reference_max_age: 5s
	//     accept_key_risks: {withdraw: false, transfer: false, unrestricted_ip: false, unknown: false}
	//     quotes:
	//       USDT: {max_order_notional: "1000", max_daily_notional: "20000"}
	//     symbols:
	//       BTCUSDT: {quote: USDT, max_order_notional: "500", max_daily_notional: "5000"}
	//         # effective: per order <= 500 USDT (symbol) and 1000 USDT (quote); rolling 24h <= 5000 USDT (symbol) and 20000 USDT (all USDT symbols)
	//       ETHUSDT: {quote: USDT}
	//         # effective: per order <= 1000 USDT (quote); rolling 24h <= 20000 USDT (all USDT symbols)
	//   coinbase-ro:
	//     venue: coinbase
	//     allow: [read]
	//     order_types: []
	//     max_open_orders: 0
	//     reference_max_age: 5s
	//     accept_key_risks: {withdraw: false, transfer: false, unrestricted_ip: false, unknown: false}
	//     quotes: {}
	//     symbols: {}  # nothing is tradable
}

// A market order by base quantity has no price bound at the venue: it is
// refused unless the symbol sets allow_market_by_base. A LIMIT IOC order
// priced inside the band takes liquidity at once with a bound, and a
// stop's trigger is held to the band like a limit price.
func ExampleGuard_Check_executablePrices() {
	policy, err := limits.ParsePolicy([]byte(`
version: 1
credentials:
  bot:
    venue: binance
    order_types: [LIMIT, MARKET, STOP_LOSS_LIMIT]
    max_open_orders: 10
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTCUSDT: {}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prices := tickers{"BTCUSDT": {Symbol: "BTCUSDT", Bid: decimal.RequireFromString("49990"), Ask: decimal.RequireFromString("50000"), At: now}}
	guard, err := limits.NewGuard(policy, limits.NewMemoryStore(),
		limits.WithPrices("binance", prices),
		limits.WithClock(func() time.Time { return now }))
	if err != nil {
		fmt.Println(err)
		return
	}
	d := decimal.RequireFromString
	for _, o := range []exchange.Order{
		{Type: exchange.Market, Quantity: d("0.01")},
		{Type: exchange.Market, QuoteQuantity: d("500")},
		{Type: exchange.Limit, TimeInForce: exchange.IOC, Price: d("51000"), Quantity: d("0.01")},
		{Type: exchange.StopLimit, TimeInForce: exchange.GTC, Price: d("50000"), StopPrice: d("500000"), Quantity: d("0.01")},
	} {
		o.Symbol, o.Side = "BTCUSDT", exchange.Buy
		in := &exchange.Intent{Credential: "bot", Venue: "binance",
			Route: exchange.Route{Name: "POST /api/v3/order", Class: exchange.ClassTrade}, Orders: []exchange.Order{o}}
		res, err := guard.Check(context.Background(), in)
		var v *limits.Violation
		switch {
		case errors.As(err, &v):
			fmt.Printf("%-42s refused by %s\n", o.String(), v.Rule)
		case err != nil:
			fmt.Println(err)
		default:
			fmt.Printf("%-42s allowed\n", o.String())
			_ = res.Release(context.Background(), nil)
		}
	}
	// Output:
	// BUY MARKET 0.01 BTCUSDT                    refused by market_by_base
	// BUY MARKET quote=500 BTCUSDT               allowed
	// BUY LIMIT 0.01 BTCUSDT @ 51000 IOC         allowed
	// BUY STOP_LOSS_LIMIT 0.01 BTCUSDT @ 50000 stop 500000 GTC refused by price_band
}
