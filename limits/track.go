package limits

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

var (
	_ exchange.OrderLedger  = (*Guard)(nil)
	_ exchange.OrderAdopter = (*Guard)(nil)
)

// adoptCap is the cap an adopted order is reserved under: none that binds.
// The order rests at the venue already, so it is held whatever the caps
// say, and the orders checked after it find it counted.
var adoptCap = decimal.New(1, 20)

// ErrCannotValue: an order to adopt states neither a price nor a quote
// quantity, so the value it holds cannot be known.
var ErrCannotValue = errors.New("limits: the order states no price and no quote quantity to value it by")

// AdoptOrder implements exchange.OrderAdopter: o is an order of credential
// that rests at the venue, that an allow record of the audit log accounts
// for, and that the store does not track (a MemoryStore after a restart,
// a rebuilt FileStore). It is reserved at its worst value, one open-order
// slot and its notional (ExecutedQuo plus its unfilled quantity at the
// higher of its limit and stop prices, or its quote quantity) on the
// daily windows from now, beyond the caps if need be, and committed as
// known to rest, so that it counts until reconciliation sees it closed.
func (g *Guard) AdoptOrder(ctx context.Context, credential string, o exchange.Order) error {
	cg := g.cred(credential)
	if cg == nil {
		return fmt.Errorf("limits: adopting order %s: unknown credential %q", o.ID, credential)
	}
	var lims [3]Limit
	n := 0
	if sg := cg.symbol(o.Symbol); sg != nil {
		value := adoptValue(o)
		if value.Sign() <= 0 {
			return fmt.Errorf("limits: adopting order %s of %s: %w", o.ID, o.Symbol, ErrCannotValue)
		}
		if sg.dailyCap.Valid {
			lims[n] = Limit{Key: sg.symKey, Amount: value, Cap: adoptCap, Window: DailyWindow}
			n++
		}
		if sg.quoteDaily.Valid {
			lims[n] = Limit{Key: sg.quoteKey, Amount: value, Cap: adoptCap, Window: DailyWindow}
			n++
		}
	}
	lims[n] = Limit{Key: cg.openKey, Amount: g.legs[1], Cap: adoptCap}
	n++
	ref := OrderRef{ID: o.ID, ClientID: o.ClientID, Symbol: o.Symbol}
	t, err := g.store.Reserve(ctx, &ReserveRequest{Owner: credential, Now: g.now(), Limits: lims[:n], Orders: []OrderRef{ref}})
	if err != nil {
		return fmt.Errorf("limits: adopting order %s: %w", o.ID, err)
	}
	if err := g.store.Commit(ctx, t, Settlement{Orders: []OrderRef{ref}}); err != nil {
		return fmt.Errorf("limits: adopting order %s: %w", o.ID, err)
	}
	return nil
}

// adoptValue is the most a resting order can still spend, plus what it
// filled: its executed quote amount and its unfilled quantity at the
// higher of its limit and stop prices, or its quote quantity when that is
// more.
func adoptValue(o exchange.Order) decimal.Decimal {
	price := decimal.Max(o.Price, o.StopPrice)
	left := o.Quantity.Sub(o.Executed)
	if left.Sign() < 0 {
		left = decimal.Zero
	}
	v := o.ExecutedQuo.Add(price.Mul(left))
	if o.QuoteQuantity.GreaterThan(v) {
		v = o.QuoteQuantity
	}
	return v
}

// TrackedOrders implements exchange.OrderLedger: the orders of credential
// the store holds open or of unknown outcome (Store.Tracked).
func (g *Guard) TrackedOrders(ctx context.Context, credential string) ([]exchange.TrackedOrder, error) {
	ts, err := g.store.Tracked(ctx, credential)
	if err != nil {
		return nil, fmt.Errorf("limits: listing tracked orders: %w", err)
	}
	out := make([]exchange.TrackedOrder, len(ts))
	for i, t := range ts {
		out[i] = exchange.TrackedOrder{
			OrderRef: exchange.OrderRef{ID: t.ID, ClientID: t.ClientID, Symbol: t.Symbol, Unknown: t.Unknown},
			At:       t.At, Pending: t.Pending,
		}
	}
	return out, nil
}

// UpdateOrder implements exchange.OrderLedger: what a look-up at the venue
// found of a tracked order of credential (Store.UpdateOrder).
func (g *Guard) UpdateOrder(ctx context.Context, credential string, u exchange.OrderUpdate) error {
	err := g.store.UpdateOrder(ctx, credential, OrderUpdate{ID: u.ID, ClientID: u.ClientID, Symbol: u.Symbol, Closed: u.Closed, Filled: u.FilledQuote})
	if err != nil {
		return fmt.Errorf("limits: recording an order look-up: %w", err)
	}
	return nil
}

// Symbols returns the symbols the policy allows a credential to trade,
// sorted: reconciliation reads their recent order history.
func (g *Guard) Symbols(credential string) []string {
	cg := g.cred(credential)
	if cg == nil {
		return nil
	}
	return sortedKeys(cg.symbols)
}
