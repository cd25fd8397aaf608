package limits

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Store holds the guard's state: the usage counters (rolling notional
// windows and open-order gauges), open orders, strike counters and the kill
// switch. The guard keeps no state of its own, so a store shared between
// processes (MemoryStore and FileStore serve one process; limits/pgstore
// keeps the state in PostgreSQL for many processes and hosts) gives every
// process the same budget. limits/storetest is the contract's conformance
// suite.
//
// Contract:
//   - Every method is safe for concurrent use and atomic: Reserve checks every
//     limit of the request and records all of them, or none.
//   - A method that returns an error changed nothing. The guard treats any
//     error other than *ExceededError from Reserve as "cannot decide" and
//     refuses (fail closed).
//   - A method that returned nil has made its change durable as far as the
//     store promises (FileStore: on disk, fsynced).
//   - Times come from the caller (req.Now, now), never from the store's clock,
//     so a store is deterministic under a fake clock. The exception is a
//     store shared by hosts whose clocks may disagree: it may judge rolling
//     windows and windowed strikes by one clock of its own and ignore the
//     caller's times for them, and says so (limits/pgstore reads the
//     database's clock).
//   - Counter keys are opaque to the store; the guard derives them from the
//     credential and the symbol or quote asset. Keys, owners, order ids and
//     reasons are UTF-8 strings that may hold NUL bytes (the guard's keys
//     do); a store keeps them byte for byte.
type Store interface {
	// Reserve checks that each limit's usage at req.Now plus its amount
	// stays within its cap and records the amounts under a new ticket. When
	// one would exceed, it returns an *ExceededError and records nothing.
	// With req.DryRun it checks only and returns an empty ticket.
	Reserve(ctx context.Context, req *ReserveRequest) (Ticket, error)
	// Commit settles a ticket the venue accepted (see Settlement).
	Commit(ctx context.Context, t Ticket, s Settlement) error
	// Release returns every amount of a ticket not yet committed.
	Release(ctx context.Context, t Ticket) error
	// CloseOrder reports that an open order of owner closed having filled
	// filledQuote in all. It releases one unit of the ticket's gauges, and
	// when the ticket's last open order closes, trims the ticket's windowed
	// amounts to what its orders filled (see Settlement). An unknown order
	// is not an error.
	CloseOrder(ctx context.Context, owner, orderID string, filledQuote decimal.Decimal) error

	// Tracked lists the orders of owner the store holds open or of unknown
	// outcome, oldest first: every order of a committed ticket that has not
	// closed, and every order (OrderRef of ReserveRequest.Orders) of a
	// ticket reserved and neither committed nor released, which the
	// process that reserved it may have sent before it stopped. It is what
	// reconciliation looks up at the venue. A store lists what it holds
	// durably; MemoryStore also lists what it holds in memory.
	Tracked(ctx context.Context, owner string) ([]TrackedOrder, error)
	// UpdateOrder records what the venue said of a tracked order of owner,
	// found by u.ID, else by u.ClientID (an order not found either way is
	// not an error: it was settled already or never tracked):
	//   - u.Closed: the order closed (filled, cancelled, expired, rejected)
	//     having filled u.Filled in all, or was never placed (u.Filled
	//     zero). It settles as CloseOrder does.
	//   - otherwise the order rests: it stays held, its status becomes
	//     known (TrackedOrder.Unknown false), and u.ID, when set, becomes
	//     its venue id, so that CloseOrder finds it.
	// An order of a pending ticket (reserved, not committed) commits the
	// ticket first: its other orders stay held, of unknown outcome.
	UpdateOrder(ctx context.Context, owner string, u OrderUpdate) error

	// Strike adds one to the strike counter key and returns its value: the
	// strikes within window before now, or with window 0 every strike since
	// the last ClearStrikes.
	Strike(ctx context.Context, key string, now time.Time, window time.Duration) (int, error)
	// ClearStrikes sets a strike counter to zero.
	ClearStrikes(ctx context.Context, key string) error

	// Trip trips the kill switch. Tripping a tripped switch keeps the
	// first reason.
	Trip(ctx context.Context, k KillState) error
	// Reset resets the kill switch.
	Reset(ctx context.Context) error
	// KillSwitch returns the kill switch's state.
	KillSwitch(ctx context.Context) (KillState, error)
}

// Limit is one counter a reservation adds to.
type Limit struct {
	Key    string
	Amount decimal.Decimal // must not be negative
	Cap    decimal.Decimal
	// Window > 0: a rolling sum; an amount counts from the reservation's
	// time t while now < t+Window. Window 0: a gauge, held until the
	// ticket is released or its orders close.
	Window time.Duration
}

// ReserveRequest asks a Store to reserve amounts on several counters at
// once.
type ReserveRequest struct {
	// Owner names who owns the orders the ticket may create (the
	// credential); CloseOrder finds orders by owner and order id.
	Owner  string
	Now    time.Time
	Limits []Limit
	// DryRun checks the limits and records nothing (venue test orders).
	DryRun bool
	// Orders are the orders the ticket may create, as far as the request
	// names them (client order id and symbol): Tracked lists them while
	// the ticket is pending, so that a reservation whose process stopped
	// between Reserve and Commit can be looked up at the venue. Optional.
	Orders []OrderRef
}

// OrderRef names an order for a look-up at the venue.
type OrderRef struct {
	ID       string `json:"id,omitempty"`  // the venue's order id; "" while the venue has not said it
	ClientID string `json:"cid,omitempty"` // the client order id
	Symbol   string `json:"sym,omitempty"`
	// Unknown: the venue has not stated the order's status (an answer
	// without status and fills, a lost answer, a 5xx): the order counts as
	// open until a look-up says otherwise.
	Unknown bool `json:"u,omitempty"`
}

// TrackedOrder is an order a Store holds open or of unknown outcome.
type TrackedOrder struct {
	OrderRef
	Owner string
	// At is when its ticket was reserved (ReserveRequest.Now).
	At time.Time
	// Pending: its ticket was reserved but neither committed nor released.
	Pending bool
}

// OrderUpdate is what a look-up at the venue found of a tracked order
// (Store.UpdateOrder).
type OrderUpdate struct {
	ID       string // the venue id; finds the order, or becomes its id
	ClientID string // finds the order when ID does not
	// Symbol, when set, restricts the update to orders of that symbol
	// (or tracked without one): a venue's order ids may repeat across
	// symbols (Binance numbers each symbol's orders).
	Symbol string
	// Closed: the order is closed or was never placed; Filled is its whole
	// quote fill.
	Closed bool
	Filled decimal.Decimal
}

// Ticket identifies a reservation in a Store.
type Ticket string

// Settlement is what a Store records when a ticket is committed.
//
// Orders, when not empty, is the settlement of an answer read order by
// order: the orders listed rest on the book or have an unknown outcome
// (each holds one unit of the ticket's gauges, and the ticket's windowed
// amounts stay in full until every one closed); Filled is what the
// ticket's other orders, closed already, filled; each listed order
// reports its whole fill when it closes (CloseOrder, UpdateOrder), and
// the ticket's windowed amounts are then trimmed to Filled plus those
// fills. Open and OrderIDs are ignored.
//
// Otherwise Open, OrderIDs and Filled settle the ticket as a whole.
type Settlement struct {
	Orders []OrderRef

	// Open reports that orders rest on the book: the ticket's gauges stay
	// held (one unit per order id) and its windowed amounts stay in full
	// until CloseOrder reports every order closed.
	Open     bool
	OrderIDs []string
	// Filled is the quote amount filled at once. When Open is false, the
	// ticket's windowed amounts are trimmed to at most Filled and its
	// gauges released.
	Filled decimal.Decimal
}

// KillState is the kill switch.
type KillState struct {
	Tripped bool
	Reason  string
	At      time.Time
}

// ExceededError is Reserve's refusal: limit Index of the request would
// exceed its cap.
type ExceededError struct {
	Index int
	Key   string
	Used  decimal.Decimal // usage before the request
	Cap   decimal.Decimal
}

func (e *ExceededError) Error() string {
	return fmt.Sprintf("limits: counter %s at %s of cap %s", e.Key, e.Used, e.Cap)
}

// ErrUnknownTicket: Commit or Release of a ticket the store does not hold
// (settled already, or never reserved).
var ErrUnknownTicket = errors.New("limits: unknown or settled ticket")
