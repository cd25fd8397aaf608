package limits

import (
	"context"
	"fmt"

	"github.com/keyfence/keyfence/exchange"
)

// SharedOrders is implemented by a Store that several processes share
// (limits/pgstore). It remembers the orders every reservation may create
// (ReserveRequest.Orders), by owner and client order id, for at least as
// long as reconciliation reads order history, so that reconciliation in
// one process accounts for an order another process signed: each process
// keeps its own audit log.
type SharedOrders interface {
	// ReservedOrder returns the order of owner with client order id
	// clientID that a reservation named, if the store remembers one.
	ReservedOrder(ctx context.Context, owner, clientID string) (OrderRef, bool, error)
}

// ReservedOrder implements exchange.SharedLedger when the guard's store is
// shared (SharedOrders): whether a process sharing the store reserved an
// order of credential with client order id clientID, and its symbol. With
// a store of one process it reports nothing.
func (g *Guard) ReservedOrder(ctx context.Context, credential, clientID string) (string, bool, error) {
	so, ok := g.store.(SharedOrders)
	if !ok || clientID == "" {
		return "", false, nil
	}
	ref, ok, err := so.ReservedOrder(ctx, credential, clientID)
	if err != nil {
		return "", false, fmt.Errorf("limits: looking up a reserved order: %w", err)
	}
	return ref.Symbol, ok, nil
}

var _ exchange.SharedLedger = (*Guard)(nil)
