package venue

import (
	"context"
	"fmt"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// The venues name their order filters and word their refusals each in
// their own way (Binance's "LOT_SIZE stepSize", Coinbase's
// "base_increment", KuCoin's "baseIncrement"), and apply them in their own
// order, so each venue package keeps its own check and builds its
// exchange.FilterError. What the checks share is here (Notional,
// OffGrid).

// Notional returns the value of o in the quote asset: its quote quantity
// when it has one, else price × quantity, else ref × quantity when ref is
// positive (a market order by quantity, valued at a reference price). ok
// is false when the value is unknown: a market order by quantity without
// a reference.
func Notional(o exchange.Order, ref decimal.Decimal) (notional decimal.Decimal, ok bool) {
	switch {
	case !o.QuoteQuantity.IsZero():
		return o.QuoteQuantity, true
	case !o.Price.IsZero():
		return o.Price.Mul(o.Quantity), true
	case ref.Sign() > 0:
		return ref.Mul(o.Quantity), true
	}
	return decimal.Zero, false
}

// OffGrid returns "" when v is a whole multiple of step, or step is not
// positive, and otherwise names the multiples on either side, with as
// many decimals as step is written with: "nearest 100.00 or 100.01". It
// is the Detail's suffix of an increment FilterError.
func OffGrid(v, step decimal.Decimal) string {
	if step.Sign() <= 0 || v.Mod(step).IsZero() {
		return ""
	}
	places := max(-step.Exponent(), 0)
	lo := v.Div(step).Floor().Mul(step)
	return fmt.Sprintf("nearest %s or %s", lo.StringFixed(places), lo.Add(step).StringFixed(places))
}

// MarketReference returns the reference price that values a market order
// by base quantity in the venues' filter checks: the mid of prices' quote
// of o.Symbol. It is zero, which skips those checks, for other orders and
// when prices has no quote (the guard then values the order against its
// own reference).
func MarketReference(ctx context.Context, prices exchange.PriceSource, o exchange.Order) decimal.Decimal {
	if o.Type != exchange.Market || !o.QuoteQuantity.IsZero() || prices == nil {
		return decimal.Decimal{}
	}
	q, err := prices.Reference(ctx, o.Symbol)
	if err != nil {
		return decimal.Decimal{}
	}
	return q.Mid()
}
