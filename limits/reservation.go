package limits

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/keyfence/keyfence/exchange"
)

// reservation is what Check returns for an allowed intent that is not a
// fastReservation. For trade intents it holds a store ticket; for other
// classes and venue test orders it holds nothing but still counts venue
// rejections.
type reservation struct {
	g       *Guard
	cg      *credGuard
	ticket  Ticket // from Store.Reserve
	settled atomic.Bool
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
	var err error
	if r.ticket != "" {
		if e := r.g.store.Commit(ctx, r.ticket, settlementOf(&out)); e != nil {
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
	if r.ticket != "" {
		if e := r.g.store.Release(ctx, r.ticket); e != nil {
			err = fmt.Errorf("limits: releasing reservation: %w", e)
		}
	}
	if cause == nil {
		return err
	}
	if isRejection(cause) {
		err = errors.Join(err, r.g.countRejection(ctx, r.cg))
	}
	return err
}

// settlementOf is the Settlement of an outcome.
func settlementOf(out *exchange.Outcome) Settlement {
	st := Settlement{Open: out.Open, OrderIDs: out.OrderIDs, Filled: out.FilledQuote}
	if len(out.Orders) > 0 {
		st.Orders = make([]OrderRef, len(out.Orders))
		for i, o := range out.Orders {
			st.Orders[i] = OrderRef{ID: o.ID, ClientID: o.ClientID, Symbol: o.Symbol, Unknown: o.Unknown}
		}
	}
	return st
}

// orderRefs returns the orders an intent may create, for
// ReserveRequest.Orders.
func orderRefs(in *exchange.Intent) []OrderRef {
	if in.Test {
		return nil
	}
	refs := make([]OrderRef, len(in.Orders))
	for i := range in.Orders {
		o := &in.Orders[i]
		refs[i] = OrderRef{ID: o.ID, ClientID: o.ClientID, Symbol: o.Symbol, Unknown: true}
	}
	return refs
}

// isRejection reports whether a release's cause is the venue's refusal.
func isRejection(cause error) bool {
	var api *exchange.APIError
	return errors.As(cause, &api)
}

// fastReservation is what Check returns for an allowed one-order trade
// intent on a MemoryStore: the entries it pushed on the symbol's rolling
// counters and, implicitly, one unit of the credential's open-order
// gauge. Everything else is resolved through sg. Until it is committed or
// released it is linked in the store's list of pending fast reservations,
// so that one dropped without either is listed by Tracked and settled by
// UpdateOrder as a FileStore's pending ticket is.
type fastReservation struct {
	sg      *symGuard
	idx     [2]uint64 // entries in sg.symC and sg.quoteC, when set
	at      int64     // when it was reserved, unix nanoseconds
	id, cid string    // the order's venue id (an edit's) and client order id
	settled atomic.Bool
	// The store's list of pending fast reservations, under its lock.
	prev, next *fastReservation
}

// parts appends the reservation's parts to dst, in the order
// checkTradeFast reserved them.
func (r *fastReservation) parts(dst []part) []part {
	sg := r.sg
	if sg.symC != nil {
		dst = append(dst, part{c: sg.symC, idx: r.idx[0]})
	}
	if sg.quoteC != nil {
		dst = append(dst, part{c: sg.quoteC, idx: r.idx[1]})
	}
	return append(dst, part{c: sg.cg.openC, gauge: oneUnit})
}

// ref is the order the reservation may create, for Tracked and for a
// settlement that does not know its outcome.
func (r *fastReservation) ref() OrderRef {
	return OrderRef{ID: r.id, ClientID: r.cid, Symbol: r.sg.symbol, Unknown: true}
}

// Commit implements exchange.Reservation as reservation.Commit does.
func (r *fastReservation) Commit(ctx context.Context, out exchange.Outcome) error {
	if !r.settled.CompareAndSwap(false, true) {
		return ErrSettled
	}
	cg := r.sg.cg
	clear := ""
	if cg.g.maxRejections > 0 {
		clear = cg.rejectKey
	}
	cg.g.fast.fastCommit(r, settlementOf(&out), clear)
	return nil
}

// Release implements exchange.Reservation as reservation.Release does.
func (r *fastReservation) Release(ctx context.Context, cause error) error {
	if !r.settled.CompareAndSwap(false, true) {
		return ErrSettled
	}
	cg := r.sg.cg
	cg.g.fast.fastRelease(r)
	var err error // a fast release cannot fail
	if cause != nil && isRejection(cause) {
		err = errors.Join(err, cg.g.countRejection(ctx, cg))
	}
	return err
}
