package limits

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/keyfence/keyfence/exchange"
)

// reservation is what Check returns for an allowed intent. For trade
// intents it holds a store ticket; for other classes and venue test orders
// it holds nothing but still counts venue rejections.
type reservation struct {
	g       *Guard
	cg      *credGuard
	ticket  Ticket // from Store.Reserve
	settled atomic.Bool
	// With a fastStore, fast is set when tk holds the reservation: the
	// store's ticket lives here, so one allocation serves the request,
	// the reservation and the ticket. lims is the request's scratch space.
	fast fastStore
	tk   ticket
	lims [3]fastLimit
}

// slowReservation is a reservation with scratch space for a
// ReserveRequest, for stores without the fast path.
type slowReservation struct {
	res  reservation
	req  ReserveRequest
	lims [3]Limit
}

// Commit implements exchange.Reservation: the venue accepted the request.
// It settles the ticket (see Settlement) and clears the credential's
// consecutive-rejection count.
func (r *reservation) Commit(ctx context.Context, out exchange.Outcome) error {
	if !r.settled.CompareAndSwap(false, true) {
		return ErrSettled
	}
	if r.fast != nil {
		clear := ""
		if r.g.maxRejections > 0 {
			clear = r.cg.rejectKey
		}
		if e := r.fast.fastCommit(ctx, &r.tk, Settlement{Open: out.Open, OrderIDs: out.OrderIDs, Filled: out.FilledQuote}, clear); e != nil {
			return fmt.Errorf("limits: committing reservation: %w", e)
		}
		return nil
	}
	var err error
	if r.ticket != "" {
		if e := r.g.store.Commit(ctx, r.ticket, Settlement{Open: out.Open, OrderIDs: out.OrderIDs, Filled: out.FilledQuote}); e != nil {
			err = fmt.Errorf("limits: committing reservation: %w", e)
		}
	}
	if r.g.maxRejections > 0 {
		if e := r.g.store.ClearStrikes(ctx, r.cg.rejectKey); e != nil {
			err = errors.Join(err, fmt.Errorf("limits: clearing rejections: %w", e))
		}
	}
	return err
}

// Release implements exchange.Reservation: the request was not sent, or
// the venue refused it. A cause wrapping an *exchange.APIError counts as a
// venue rejection toward the kill switch.
func (r *reservation) Release(ctx context.Context, cause error) error {
	if !r.settled.CompareAndSwap(false, true) {
		return ErrSettled
	}
	var err error
	if r.fast != nil {
		if e := r.fast.fastRelease(ctx, &r.tk); e != nil {
			err = fmt.Errorf("limits: releasing reservation: %w", e)
		}
	} else if r.ticket != "" {
		if e := r.g.store.Release(ctx, r.ticket); e != nil {
			err = fmt.Errorf("limits: releasing reservation: %w", e)
		}
	}
	if cause == nil {
		return err
	}
	var api *exchange.APIError
	if errors.As(cause, &api) {
		err = errors.Join(err, r.g.countRejection(ctx, r.cg))
	}
	return err
}
