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
	// amounts to what its orders filled (the larger of the closes' sum and
	// the commit's Filled). An unknown order is not an error.
	CloseOrder(ctx context.Context, owner, orderID string, filledQuote decimal.Decimal) error

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
}

// Ticket identifies a reservation in a Store.
type Ticket string

// Settlement is what a Store records when a ticket is committed.
type Settlement struct {
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
