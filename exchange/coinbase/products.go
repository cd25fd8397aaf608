package coinbase

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// Product is a Coinbase product (GET /api/v3/brokerage/products): its
// filters as exchange.SymbolInfo and its status flags.
type Product struct {
	ID              string
	Status          string // "online" when it trades
	TradingDisabled bool
	CancelOnly      bool // only cancels are accepted
	LimitOnly       bool // market orders are refused
	PostOnly        bool // only post-only limit orders are accepted
	ViewOnly        bool
	AuctionMode     bool
	Info            exchange.SymbolInfo
}

// Tradable reports whether the product takes new orders.
func (p Product) Tradable() bool {
	return p.Status == "online" && !p.TradingDisabled && !p.CancelOnly && !p.ViewOnly
}

// productJSON is a product as Coinbase reports it.
type productJSON struct {
	ProductID       string `json:"product_id"`
	BaseCurrencyID  string `json:"base_currency_id"`
	QuoteCurrencyID string `json:"quote_currency_id"`
	BaseIncrement   string `json:"base_increment"`
	QuoteIncrement  string `json:"quote_increment"`
	PriceIncrement  string `json:"price_increment"`
	BaseMinSize     string `json:"base_min_size"`
	BaseMaxSize     string `json:"base_max_size"`
	QuoteMinSize    string `json:"quote_min_size"`
	QuoteMaxSize    string `json:"quote_max_size"`
	Status          string `json:"status"`
	TradingDisabled bool   `json:"trading_disabled"`
	CancelOnly      bool   `json:"cancel_only"`
	LimitOnly       bool   `json:"limit_only"`
	PostOnly        bool   `json:"post_only"`
	ViewOnly        bool   `json:"view_only"`
	AuctionMode     bool   `json:"auction_mode"`
	IsDisabled      bool   `json:"is_disabled"`
	ProductType     string `json:"product_type"`
}

// parseProducts reads GET /products. Products whose increments cannot be
// read are skipped: no order can be checked against them, so none is
// placed.
func parseProducts(body []byte) ([]Product, error) {
	var ans struct {
		Products []productJSON `json:"products"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("coinbase: products: unreadable answer: %w", err)
	}
	out := make([]Product, 0, len(ans.Products))
	for _, j := range ans.Products {
		p, ok := j.product()
		if ok {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i].ID < out[k].ID })
	return out, nil
}

func (j *productJSON) product() (Product, bool) {
	d := func(s string) (decimal.Decimal, bool) {
		if s == "" {
			return decimal.Decimal{}, true
		}
		v, err := decimal.NewFromString(s)
		return v, err == nil && v.Sign() >= 0
	}
	var f exchange.Filters
	ok := true
	for _, x := range []struct {
		dst *decimal.Decimal
		src string
	}{
		{&f.TickSize, j.PriceIncrement}, {&f.StepSize, j.BaseIncrement}, {&f.QuoteStep, j.QuoteIncrement},
		{&f.MinQty, j.BaseMinSize}, {&f.MaxQty, j.BaseMaxSize}, {&f.MinNotional, j.QuoteMinSize}, {&f.MaxNotional, j.QuoteMaxSize},
	} {
		v, good := d(x.src)
		ok = ok && good
		*x.dst = v
	}
	if !ok || j.ProductID == "" || f.TickSize.Sign() <= 0 || f.StepSize.Sign() <= 0 {
		return Product{}, false
	}
	f.MarketByQuote = true
	p := Product{
		ID: j.ProductID, Status: j.Status, TradingDisabled: j.TradingDisabled || j.IsDisabled, CancelOnly: j.CancelOnly,
		LimitOnly: j.LimitOnly, PostOnly: j.PostOnly, ViewOnly: j.ViewOnly, AuctionMode: j.AuctionMode,
	}
	p.Info = exchange.SymbolInfo{Symbol: j.ProductID, Base: j.BaseCurrencyID, Quote: j.QuoteCurrencyID, Filters: f}
	p.Info.Trading = p.Tradable()
	return p, true
}
