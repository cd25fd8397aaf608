package limits

import (
	"context"
	"fmt"

	"github.com/keyfence/keyfence/exchange"
)

var _ exchange.OrderLedger = (*Guard)(nil)

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
