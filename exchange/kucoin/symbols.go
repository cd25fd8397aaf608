package kucoin

import (
	"encoding/json"
	"fmt"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// symbolRules are a symbol's order rules as /api/v2/symbols states them.
type symbolRules struct {
	info                                exchange.SymbolInfo
	quoteMin, quoteMax, minFunds        decimal.Decimal
	baseMin, baseMax, baseInc, priceInc decimal.Decimal
	quoteInc                            decimal.Decimal
}

// symbolJSON is one element of GET /api/v2/symbols.
type symbolJSON struct {
	Symbol         string `json:"symbol"`
	BaseCurrency   string `json:"baseCurrency"`
	QuoteCurrency  string `json:"quoteCurrency"`
	BaseMinSize    string `json:"baseMinSize"`
	QuoteMinSize   string `json:"quoteMinSize"`
	BaseMaxSize    string `json:"baseMaxSize"`
	QuoteMaxSize   string `json:"quoteMaxSize"`
	BaseIncrement  string `json:"baseIncrement"`
	QuoteIncrement string `json:"quoteIncrement"`
	PriceIncrement string `json:"priceIncrement"`
	MinFunds       string `json:"minFunds"`
	EnableTrading  bool   `json:"enableTrading"`
}

// parseSymbols reads the data of GET /api/v2/symbols.
func parseSymbols(data json.RawMessage) (map[string]*symbolRules, error) {
	var list []symbolJSON
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("kucoin: symbols: %w", err)
	}
	out := make(map[string]*symbolRules, len(list))
	for _, s := range list {
		var err error
		d := func(v string) decimal.Decimal {
			if v == "" || err != nil {
				return decimal.Decimal{}
			}
			var x decimal.Decimal
			x, err = decimal.NewFromString(v)
			if err == nil && x.Sign() < 0 {
				err = fmt.Errorf("negative value %s", v)
			}
			return x
		}
		r := &symbolRules{
			baseMin: d(s.BaseMinSize), baseMax: d(s.BaseMaxSize), baseInc: d(s.BaseIncrement),
			quoteMin: d(s.QuoteMinSize), quoteMax: d(s.QuoteMaxSize), quoteInc: d(s.QuoteIncrement),
			priceInc: d(s.PriceIncrement), minFunds: d(s.MinFunds),
		}
		if err != nil {
			return nil, fmt.Errorf("kucoin: symbols: %s: %w", s.Symbol, err)
		}
		r.info = exchange.SymbolInfo{
			Symbol: s.Symbol, Base: s.BaseCurrency, Quote: s.QuoteCurrency, Trading: s.EnableTrading,
			Filters: exchange.Filters{
				TickSize: r.priceInc, StepSize: r.baseInc, MinQty: r.baseMin, MaxQty: r.baseMax,
				MinNotional: r.minFunds, MaxNotional: r.quoteMax, QuoteStep: r.quoteInc, MarketByQuote: true,
			},
		}
		out[s.Symbol] = r
	}
	return out, nil
}
