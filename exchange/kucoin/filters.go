package kucoin

import (
	"fmt"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/internal/venue"
	"github.com/shopspring/decimal"
)

// checkFilters checks an order against its symbol's rules before anything
// is signed: enableTrading; price a multiple of priceIncrement; size
// within baseMinSize..baseMaxSize and a multiple of baseIncrement; funds
// within quoteMinSize..quoteMaxSize and a multiple of quoteIncrement; the
// order's value at least minFunds. ref values a market order by size
// (zero skips that check).
func checkFilters(r *symbolRules, o exchange.Order, ref decimal.Decimal) error {
	fe := func(filter, format string, args ...any) error {
		return &exchange.FilterError{Symbol: o.Symbol, Filter: filter, Detail: fmt.Sprintf(format, args...)}
	}
	if !r.info.Trading {
		return fe("enableTrading", "trading is disabled on the symbol; the venue takes no orders on it")
	}
	if !o.Price.IsZero() {
		if msg := venue.OffGrid(o.Price, r.priceInc); msg != "" {
			return fe("priceIncrement", "price %s is not a multiple of %s (%s)", o.Price, r.priceInc, msg)
		}
	}
	if !o.Quantity.IsZero() {
		switch {
		case r.baseMin.Sign() > 0 && o.Quantity.LessThan(r.baseMin):
			return fe("baseMinSize", "size %s is below %s", o.Quantity, r.baseMin)
		case r.baseMax.Sign() > 0 && o.Quantity.GreaterThan(r.baseMax):
			return fe("baseMaxSize", "size %s is above %s", o.Quantity, r.baseMax)
		}
		if msg := venue.OffGrid(o.Quantity, r.baseInc); msg != "" {
			return fe("baseIncrement", "size %s is not a multiple of %s (%s)", o.Quantity, r.baseInc, msg)
		}
	}
	if !o.QuoteQuantity.IsZero() {
		switch {
		case r.quoteMin.Sign() > 0 && o.QuoteQuantity.LessThan(r.quoteMin):
			return fe("quoteMinSize", "funds %s is below %s", o.QuoteQuantity, r.quoteMin)
		case r.quoteMax.Sign() > 0 && o.QuoteQuantity.GreaterThan(r.quoteMax):
			return fe("quoteMaxSize", "funds %s is above %s", o.QuoteQuantity, r.quoteMax)
		}
		if msg := venue.OffGrid(o.QuoteQuantity, r.quoteInc); msg != "" {
			return fe("quoteIncrement", "funds %s is not a multiple of %s (%s)", o.QuoteQuantity, r.quoteInc, msg)
		}
	}
	value, ok := venue.Notional(o, ref)
	if !ok {
		return nil
	}
	if r.minFunds.Sign() > 0 && value.LessThan(r.minFunds) {
		return fe("minFunds", "order value %s %s is below %s (short by %s)", value, r.info.Quote, r.minFunds, r.minFunds.Sub(value))
	}
	return nil
}
