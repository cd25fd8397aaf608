package binance

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// RateLimit is one entry of exchangeInfo's rateLimits.
type RateLimit struct {
	Type     string        // REQUEST_WEIGHT, ORDERS, RAW_REQUESTS
	Interval time.Duration // intervalNum × interval
	Limit    int
}

// symbolRules are a symbol's filters as Binance states them, beyond what
// exchange.Filters holds.
type symbolRules struct {
	info   exchange.SymbolInfo
	status string
	// MARKET_LOT_SIZE
	marketMinQty, marketMaxQty, marketStep decimal.Decimal
	// NOTIONAL or MIN_NOTIONAL: which apply to market orders.
	minToMarket, maxToMarket bool
	notionalFilter           string // "NOTIONAL" or "MIN_NOTIONAL"
}

// exchangeInfo is the part of GET /api/v3/exchangeInfo the client reads.
type exchangeInfo struct {
	RateLimits []struct {
		RateLimitType string `json:"rateLimitType"`
		Interval      string `json:"interval"`
		IntervalNum   int    `json:"intervalNum"`
		Limit         int    `json:"limit"`
	} `json:"rateLimits"`
	Symbols []struct {
		Symbol                     string            `json:"symbol"`
		Status                     string            `json:"status"`
		BaseAsset                  string            `json:"baseAsset"`
		QuoteAsset                 string            `json:"quoteAsset"`
		QuoteOrderQtyMarketAllowed bool              `json:"quoteOrderQtyMarketAllowed"`
		Filters                    []json.RawMessage `json:"filters"`
	} `json:"symbols"`
}

type filterJSON struct {
	FilterType       string `json:"filterType"`
	MinPrice         string `json:"minPrice"`
	MaxPrice         string `json:"maxPrice"`
	TickSize         string `json:"tickSize"`
	MinQty           string `json:"minQty"`
	MaxQty           string `json:"maxQty"`
	StepSize         string `json:"stepSize"`
	MinNotional      string `json:"minNotional"`
	MaxNotional      string `json:"maxNotional"`
	ApplyToMarket    *bool  `json:"applyToMarket"`
	ApplyMinToMarket *bool  `json:"applyMinToMarket"`
	ApplyMaxToMarket *bool  `json:"applyMaxToMarket"`
}

// parseExchangeInfo reads the symbols, their filters and the rate limits.
func parseExchangeInfo(body []byte) (map[string]*symbolRules, []RateLimit, error) {
	var ei exchangeInfo
	if err := json.Unmarshal(body, &ei); err != nil {
		return nil, nil, fmt.Errorf("binance: exchangeInfo: %w", err)
	}
	var rls []RateLimit
	for _, rl := range ei.RateLimits {
		d, ok := intervalOf(rl.Interval, rl.IntervalNum)
		if !ok || rl.Limit <= 0 {
			return nil, nil, fmt.Errorf("binance: exchangeInfo: rate limit %s has interval %d %s and limit %d", rl.RateLimitType, rl.IntervalNum, rl.Interval, rl.Limit)
		}
		rls = append(rls, RateLimit{Type: rl.RateLimitType, Interval: d, Limit: rl.Limit})
	}
	rules := make(map[string]*symbolRules, len(ei.Symbols))
	for _, s := range ei.Symbols {
		r := &symbolRules{
			status: s.Status,
			info: exchange.SymbolInfo{
				Symbol: s.Symbol, Base: s.BaseAsset, Quote: s.QuoteAsset,
				Trading: s.Status == "TRADING",
			},
		}
		r.info.Filters.MarketByQuote = s.QuoteOrderQtyMarketAllowed
		for _, raw := range s.Filters {
			var f filterJSON
			if err := json.Unmarshal(raw, &f); err != nil {
				return nil, nil, fmt.Errorf("binance: exchangeInfo: %s filter: %w", s.Symbol, err)
			}
			if err := r.apply(&f); err != nil {
				return nil, nil, fmt.Errorf("binance: exchangeInfo: %s %s: %w", s.Symbol, f.FilterType, err)
			}
		}
		rules[s.Symbol] = r
	}
	return rules, rls, nil
}

func (r *symbolRules) apply(f *filterJSON) error {
	var err error
	dec := func(s string) decimal.Decimal {
		if s == "" || err != nil {
			return decimal.Decimal{}
		}
		var d decimal.Decimal
		d, err = decimal.NewFromString(s)
		if err == nil && d.Sign() < 0 {
			err = fmt.Errorf("negative value %s", s)
		}
		return d
	}
	fl := &r.info.Filters
	switch f.FilterType {
	case "PRICE_FILTER":
		fl.MinPrice, fl.MaxPrice, fl.TickSize = dec(f.MinPrice), dec(f.MaxPrice), dec(f.TickSize)
	case "LOT_SIZE":
		fl.MinQty, fl.MaxQty, fl.StepSize = dec(f.MinQty), dec(f.MaxQty), dec(f.StepSize)
	case "MARKET_LOT_SIZE":
		r.marketMinQty, r.marketMaxQty, r.marketStep = dec(f.MinQty), dec(f.MaxQty), dec(f.StepSize)
	case "NOTIONAL":
		fl.MinNotional, fl.MaxNotional = dec(f.MinNotional), dec(f.MaxNotional)
		r.minToMarket = f.ApplyMinToMarket == nil || *f.ApplyMinToMarket
		r.maxToMarket = f.ApplyMaxToMarket != nil && *f.ApplyMaxToMarket
		r.notionalFilter = "NOTIONAL"
	case "MIN_NOTIONAL":
		if r.notionalFilter == "NOTIONAL" {
			break // NOTIONAL supersedes MIN_NOTIONAL
		}
		fl.MinNotional = dec(f.MinNotional)
		r.minToMarket = f.ApplyToMarket == nil || *f.ApplyToMarket
		r.notionalFilter = "MIN_NOTIONAL"
	}
	return err
}
