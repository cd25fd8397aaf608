package coinbase

import (
	"fmt"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/internal/venue"
	"github.com/shopspring/decimal"
)

// checkProduct checks an order against its product's status flags,
// increments and sizes before anything is signed. ref values a market
// order by base size for the quote_min_size check; zero skips that check.
func checkProduct(p Product, o exchange.Order, ref decimal.Decimal) error {
	fe := func(filter, format string, args ...any) error {
		return &exchange.FilterError{Symbol: o.Symbol, Filter: filter, Detail: fmt.Sprintf(format, args...)}
	}
	switch {
	case p.ViewOnly:
		return fe("view_only", "the product is view-only; the venue takes no orders on it")
	case p.CancelOnly:
		return fe("cancel_only", "the product is cancel-only; the venue takes no new orders on it")
	case p.TradingDisabled:
		return fe("trading_disabled", "trading is disabled on the product")
	case p.Status != "online":
		return fe("status", "product status is %q, not online; the venue takes no orders on it", p.Status)
	case p.LimitOnly && o.Type == exchange.Market:
		return fe("limit_only", "the product is limit-only; place a limit order")
	case p.PostOnly && o.Type != exchange.LimitMaker:
		return fe("post_only", "the product is post-only; place a post-only limit order")
	}
	f := p.Info.Filters
	if !o.Price.IsZero() {
		if o.Price.Sign() < 0 {
			return fe("price_increment", "price %s is negative", o.Price)
		}
		if near := venue.OffGrid(o.Price, f.TickSize); near != "" {
			return fe("price_increment", "price %s is not a multiple of %s (%s)", o.Price, f.TickSize, near)
		}
	}
	if !o.Quantity.IsZero() {
		if f.MinQty.Sign() > 0 && o.Quantity.LessThan(f.MinQty) {
			return fe("base_min_size", "size %s is below base_min_size %s", o.Quantity, f.MinQty)
		}
		if f.MaxQty.Sign() > 0 && o.Quantity.GreaterThan(f.MaxQty) {
			return fe("base_max_size", "size %s is above base_max_size %s", o.Quantity, f.MaxQty)
		}
		if near := venue.OffGrid(o.Quantity, f.StepSize); near != "" {
			return fe("base_increment", "size %s is not a multiple of %s (%s)", o.Quantity, f.StepSize, near)
		}
	}
	if !o.QuoteQuantity.IsZero() {
		if near := venue.OffGrid(o.QuoteQuantity, f.QuoteStep); near != "" {
			return fe("quote_increment", "quote size %s is not a multiple of %s (%s)", o.QuoteQuantity, f.QuoteStep, near)
		}
	}
	notional, ok := venue.Notional(o, ref)
	if !ok {
		return nil
	}
	if f.MinNotional.Sign() > 0 && notional.LessThan(f.MinNotional) {
		return fe("quote_min_size", "value %s %s is below quote_min_size %s (short by %s)", notional, p.Info.Quote, f.MinNotional, f.MinNotional.Sub(notional))
	}
	if f.MaxNotional.Sign() > 0 && notional.GreaterThan(f.MaxNotional) {
		return fe("quote_max_size", "value %s %s is above quote_max_size %s (over by %s)", notional, p.Info.Quote, f.MaxNotional, notional.Sub(f.MaxNotional))
	}
	return nil
}
