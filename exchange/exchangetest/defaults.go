package exchangetest

import (
	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// DefaultBalances returns what every new account is funded with unless an
// option replaces it: 10,000 USDT, 1 BTC, 10 ETH, 100 LTC and 100,000 THIN.
func DefaultBalances() []exchange.Balance {
	return []exchange.Balance{
		{Asset: "USDT", Free: dec("10000")},
		{Asset: "BTC", Free: dec("1")},
		{Asset: "ETH", Free: dec("10")},
		{Asset: "LTC", Free: dec("100")},
		{Asset: "THIN", Free: dec("100000")},
	}
}

// DefaultBinanceSymbols returns the simulated Binance's default market:
// BTCUSDT, ETHUSDT, ETHBTC and LTCBTC with unlimited liquidity at the best
// price, and THINUSDT, a thin low-priced pair whose book holds 2,000 THIN
// on each of five levels 0.001 USDT apart, so a large order walks the book
// and a market order can run out of liquidity.
func DefaultBinanceSymbols() []Symbol {
	return []Symbol{
		{
			Symbol: "BTCUSDT", Base: "BTC", Quote: "USDT",
			Filters: exchange.Filters{
				TickSize: dec("0.01"), MinPrice: dec("0.01"), MaxPrice: dec("1000000"),
				StepSize: dec("0.00001"), MinQty: dec("0.00001"), MaxQty: dec("9000"),
				MinNotional: dec("5"), MaxNotional: dec("9000000"), MarketByQuote: true,
			},
			MarketMaxQty: dec("100"), MaxNumOrders: 200,
			Price: dec("50000"), Spread: dec("0.02"),
		},
		{
			Symbol: "ETHUSDT", Base: "ETH", Quote: "USDT",
			Filters: exchange.Filters{
				TickSize: dec("0.01"), MinPrice: dec("0.01"), MaxPrice: dec("1000000"),
				StepSize: dec("0.0001"), MinQty: dec("0.0001"), MaxQty: dec("9000"),
				MinNotional: dec("5"), MaxNotional: dec("9000000"), MarketByQuote: true,
			},
			MarketMaxQty: dec("1000"), MaxNumOrders: 200,
			Price: dec("3000"), Spread: dec("0.02"),
		},
		{
			Symbol: "ETHBTC", Base: "ETH", Quote: "BTC",
			Filters: exchange.Filters{
				TickSize: dec("0.00001"), MinPrice: dec("0.00001"), MaxPrice: dec("922327"),
				StepSize: dec("0.0001"), MinQty: dec("0.0001"), MaxQty: dec("100000"),
				MinNotional: dec("0.0001"), MaxNotional: dec("9000"), MarketByQuote: true,
			},
			MarketMaxQty: dec("1000"), MaxNumOrders: 200,
			Price: dec("0.05"), Spread: dec("0.00002"),
		},
		{
			Symbol: "LTCBTC", Base: "LTC", Quote: "BTC",
			Filters: exchange.Filters{
				TickSize: dec("0.000001"), MinPrice: dec("0.000001"), MaxPrice: dec("100000"),
				StepSize: dec("0.001"), MinQty: dec("0.001"), MaxQty: dec("100000"),
				MinNotional: dec("0.0001"), MaxNotional: dec("9000"), MarketByQuote: true,
			},
			MarketMaxQty: dec("10000"), MaxNumOrders: 200,
			Price: dec("0.0015"), Spread: dec("0.000002"),
		},
		{
			Symbol: "THINUSDT", Base: "THIN", Quote: "USDT",
			Filters: exchange.Filters{
				TickSize: dec("0.0001"), MinPrice: dec("0.0001"), MaxPrice: dec("1000"),
				StepSize: dec("1"), MinQty: dec("1"), MaxQty: dec("10000000"),
				MinNotional: dec("1"), MaxNotional: dec("100000"), MarketByQuote: true,
			},
			MarketMaxQty: dec("100000"), MaxNumOrders: 50,
			Price: dec("0.05"), Spread: dec("0.0002"),
			Depth: dec("2000"), Levels: 5, LevelGap: dec("0.001"),
		},
	}
}
