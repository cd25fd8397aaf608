package exchange

import (
	"context"
	"time"
)

// Client is the venue-neutral interface a bot trades through. Each venue
// package provides one, guarded by an Authorizer.
type Client interface {
	// Venue names the venue.
	Venue() string
	// Symbols returns the tradable pairs and their filters.
	Symbols(ctx context.Context) ([]SymbolInfo, error)
	// Reference returns the best bid and ask of a symbol; it doubles as the
	// guard's reference price source.
	Reference(ctx context.Context, symbol string) (Quote, error)
	// Balances returns the account's balances.
	Balances(ctx context.Context) ([]Balance, error)
	// PlaceOrder checks the order against the venue's filters, runs it
	// through the Authorizer and places it.
	PlaceOrder(ctx context.Context, o Order) (Order, error)
	// CancelOrder cancels an order by venue id.
	CancelOrder(ctx context.Context, symbol, id string) (Order, error)
	// GetOrder looks an order up by venue id.
	GetOrder(ctx context.Context, symbol, id string) (Order, error)
	// OpenOrders lists open orders of a symbol ("" for all symbols).
	OpenOrders(ctx context.Context, symbol string) ([]Order, error)
	// Fills lists the account's trades of a symbol.
	Fills(ctx context.Context, symbol string) ([]Fill, error)
	// Permissions reports what the client's key may do.
	Permissions(ctx context.Context) (Permissions, error)
}

// PriceSource gives reference prices to the guard. Venue clients implement
// it from their public tickers.
type PriceSource interface {
	Reference(ctx context.Context, symbol string) (Quote, error)
}

// PriceSourceAt is a PriceSource that can judge what it holds at a time the
// caller read instead of reading its own clock: the guard passes the time
// of its decision (Intent.At), so that one clock reading serves the whole
// decision. QuoteCache and the venues' price feeds implement it. A zero
// now means the source's own clock.
type PriceSourceAt interface {
	PriceSource
	ReferenceAt(ctx context.Context, symbol string, now time.Time) (Quote, error)
}
