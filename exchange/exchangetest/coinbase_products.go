package exchangetest

import (
	"github.com/keyfence/keyfence/exchange"
)

// CoinbaseProduct is a simulated Coinbase Advanced Trade product: a
// market Symbol (its Filters give price_increment = TickSize,
// base_increment = StepSize, base_min_size and base_max_size = MinQty and
// MaxQty, quote_min_size and quote_max_size = MinNotional and
// MaxNotional, quote_increment = QuoteStep) and Coinbase's status flags.
type CoinbaseProduct struct {
	Symbol
	// Status is "online" for a trading product; empty means online.
	Status          string
	TradingDisabled bool
	CancelOnly      bool // only cancels are accepted
	LimitOnly       bool // market orders are refused
	PostOnly        bool // only post-only limit orders are accepted
	ViewOnly        bool
}

func (p *CoinbaseProduct) status() string {
	if p.Status == "" {
		return "online"
	}
	return p.Status
}

// takesOrders reports whether the product accepts new orders at all.
func (p *CoinbaseProduct) takesOrders() bool {
	return p.status() == "online" && !p.TradingDisabled && !p.CancelOnly && !p.ViewOnly
}

// DefaultCoinbaseBalances returns what every new Coinbase key's account is
// funded with: 10,000 USD, 1 BTC, 10 ETH and 100,000 THIN.
func DefaultCoinbaseBalances() []exchange.Balance {
	return []exchange.Balance{
		{Asset: "USD", Free: dec("10000")},
		{Asset: "BTC", Free: dec("1")},
		{Asset: "ETH", Free: dec("10")},
		{Asset: "THIN", Free: dec("100000")},
	}
}

// DefaultCoinbaseProducts returns the simulated Coinbase's products:
// BTC-USD, ETH-USD and ETH-BTC with unlimited liquidity at the best price,
// THIN-USD, a thin pair whose book holds 2,000 THIN on each of five levels
// 0.001 USD apart, and LIMIT-USD, a limit-only product.
func DefaultCoinbaseProducts() []CoinbaseProduct {
	return []CoinbaseProduct{
		{Symbol: Symbol{
			Symbol: "BTC-USD", Base: "BTC", Quote: "USD",
			Filters: exchange.Filters{TickSize: dec("0.01"), StepSize: dec("0.00000001"), MinQty: dec("0.00000001"), MaxQty: dec("3400"),
				MinNotional: dec("1"), MaxNotional: dec("150000000"), QuoteStep: dec("0.01"), MarketByQuote: true},
			Price: dec("50000"), Spread: dec("0.02"),
		}},
		{Symbol: Symbol{
			Symbol: "ETH-USD", Base: "ETH", Quote: "USD",
			Filters: exchange.Filters{TickSize: dec("0.01"), StepSize: dec("0.00000001"), MinQty: dec("0.00000001"), MaxQty: dec("42000"),
				MinNotional: dec("1"), MaxNotional: dec("50000000"), QuoteStep: dec("0.01"), MarketByQuote: true},
			Price: dec("3000"), Spread: dec("0.02"),
		}},
		{Symbol: Symbol{
			Symbol: "ETH-BTC", Base: "ETH", Quote: "BTC",
			Filters: exchange.Filters{TickSize: dec("0.00001"), StepSize: dec("0.00000001"), MinQty: dec("0.00000001"), MaxQty: dec("2700"),
				MinNotional: dec("0.00001"), MaxNotional: dec("500"), QuoteStep: dec("0.00000001"), MarketByQuote: true},
			Price: dec("0.06"), Spread: dec("0.00002"),
		}},
		{Symbol: Symbol{
			Symbol: "THIN-USD", Base: "THIN", Quote: "USD",
			Filters: exchange.Filters{TickSize: dec("0.0001"), StepSize: dec("1"), MinQty: dec("1"), MaxQty: dec("10000000"),
				MinNotional: dec("1"), MaxNotional: dec("100000"), QuoteStep: dec("0.0001"), MarketByQuote: true},
			Price: dec("0.05"), Spread: dec("0.0002"),
			Depth: dec("2000"), Levels: 5, LevelGap: dec("0.001"),
		}},
		{Symbol: Symbol{
			Symbol: "LIMIT-USD", Base: "LIMIT", Quote: "USD",
			Filters: exchange.Filters{TickSize: dec("0.01"), StepSize: dec("0.01"), MinQty: dec("0.01"), MaxQty: dec("100000"),
				MinNotional: dec("1"), MaxNotional: dec("1000000"), QuoteStep: dec("0.01"), MarketByQuote: true},
			Price: dec("10"), Spread: dec("0.02"),
		}, LimitOnly: true},
	}
}
