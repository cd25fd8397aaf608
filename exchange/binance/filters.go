package binance

import (
	"fmt"
	"strings"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// checkFilters checks an order against its symbol's exchangeInfo filters
// before anything is signed. ref is the reference price used to value a
// market order by quantity; zero skips its notional check (the guard
// values it against its own reference).
func checkFilters(r *symbolRules, o exchange.Order, ref decimal.Decimal) error {
	fe := func(filter, format string, args ...any) error {
		return &exchange.FilterError{Symbol: o.Symbol, Filter: filter, Detail: fmt.Sprintf(format, args...)}
	}
	f := r.info.Filters
	if !r.info.Trading {
		return fe("status", "symbol status is %s, not TRADING; the venue takes no orders on it", r.status)
	}
	market := o.Type == exchange.Market
	if market && !o.QuoteQuantity.IsZero() && !f.MarketByQuote {
		return fe("quoteOrderQtyMarketAllowed", "market orders by quote amount are not allowed; give a base quantity")
	}

	if !o.StopPrice.IsZero() {
		if (f.MinPrice.Sign() > 0 && o.StopPrice.LessThan(f.MinPrice)) || (f.MaxPrice.Sign() > 0 && o.StopPrice.GreaterThan(f.MaxPrice)) {
			return fe("PRICE_FILTER", "stop price %s is outside [%s, %s]", o.StopPrice, trim(f.MinPrice), trim(f.MaxPrice))
		}
		if err := grid(o.StopPrice, f.MinPrice, f.TickSize); err != "" {
			return fe("PRICE_FILTER tickSize", "stop price %s is not a multiple of tickSize %s (%s)", o.StopPrice, trim(f.TickSize), err)
		}
	}
	if !o.Price.IsZero() {
		if f.MinPrice.Sign() > 0 && o.Price.LessThan(f.MinPrice) {
			return fe("PRICE_FILTER minPrice", "price %s is below minPrice %s", o.Price, f.MinPrice)
		}
		if f.MaxPrice.Sign() > 0 && o.Price.GreaterThan(f.MaxPrice) {
			return fe("PRICE_FILTER maxPrice", "price %s is above maxPrice %s", o.Price, f.MaxPrice)
		}
		if err := grid(o.Price, f.MinPrice, f.TickSize); err != "" {
			return fe("PRICE_FILTER tickSize", "price %s is not a multiple of tickSize %s (%s)", o.Price, trim(f.TickSize), err)
		}
	}

	if !o.Quantity.IsZero() {
		type lot struct {
			name           string
			min, max, step decimal.Decimal
		}
		lots := []lot{{"LOT_SIZE", f.MinQty, f.MaxQty, f.StepSize}}
		if market {
			lots = append(lots, lot{"MARKET_LOT_SIZE", r.marketMinQty, r.marketMaxQty, r.marketStep})
		}
		for _, l := range lots {
			if l.min.Sign() > 0 && o.Quantity.LessThan(l.min) {
				return fe(l.name+" minQty", "quantity %s is below minQty %s", o.Quantity, trim(l.min))
			}
			if l.max.Sign() > 0 && o.Quantity.GreaterThan(l.max) {
				return fe(l.name+" maxQty", "quantity %s is above maxQty %s", o.Quantity, trim(l.max))
			}
			if err := grid(o.Quantity, l.min, l.step); err != "" {
				return fe(l.name+" stepSize", "quantity %s is not a multiple of stepSize %s (%s)", o.Quantity, trim(l.step), err)
			}
		}
	}

	// Notional, in the quote asset.
	notional, ok := exchange.Notional(o, ref)
	if !ok {
		return nil
	}
	name := r.notionalFilter
	if name == "" {
		name = "NOTIONAL"
	}
	if f.MinNotional.Sign() > 0 && (!market || r.minToMarket) && notional.LessThan(f.MinNotional) {
		return fe(name+" minNotional", "notional %s %s is below minNotional %s (short by %s)",
			notional, r.info.Quote, trim(f.MinNotional), f.MinNotional.Sub(notional))
	}
	if f.MaxNotional.Sign() > 0 && (!market || r.maxToMarket) && notional.GreaterThan(f.MaxNotional) {
		return fe(name+" maxNotional", "notional %s %s is above maxNotional %s (over by %s)",
			notional, r.info.Quote, trim(f.MaxNotional), notional.Sub(f.MaxNotional))
	}
	return nil
}

// grid checks that v lies on the grid min + k×step and otherwise names the
// nearest values on it. A zero step disables the rule.
func grid(v, min, step decimal.Decimal) string {
	if step.Sign() <= 0 {
		return ""
	}
	off := v.Sub(min)
	if off.Mod(step).IsZero() {
		return ""
	}
	places := decimalPlaces(step)
	if p := decimalPlaces(min); p > places {
		places = p
	}
	lo := min.Add(off.Div(step).Floor().Mul(step))
	hi := lo.Add(step)
	return fmt.Sprintf("nearest %s or %s", lo.StringFixed(places), hi.StringFixed(places))
}

// decimalPlaces returns the number of digits after the dot of d without
// trailing zeros.
func decimalPlaces(d decimal.Decimal) int32 {
	s := trim(d)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return int32(len(s) - i - 1)
	}
	return 0
}

// trim formats d without trailing zeros.
func trim(d decimal.Decimal) string { return d.String() }
