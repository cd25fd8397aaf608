package exchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Settler settles a venue client's reservations once the venue has
// answered, and reports to the guard the orders the client sees closed.
// The venue has acted by then, so settling cannot fail the request: what
// fails is logged. The zero Settler logs nothing and reports nothing.
type Settler struct {
	Venue      string       // prefixes the log messages, e.g. "binance"
	Credential string       // the client's credential, for OrderClosed
	Guard      Guard        // told of closed orders when it is an OrderTracker
	Logger     *slog.Logger // nil discards
}

// Release gives a's budget back: the venue refused the request (cause
// wraps its *APIError), or it created nothing (cause nil). For a request
// that creates orders, any other cause commits them as of unknown outcome
// (see Authorized).
func (s Settler) Release(ctx context.Context, a *Authorized, cause error) {
	if err := a.Reservation.Release(ctx, cause); err != nil {
		s.log(ctx, slog.LevelError, "releasing a reservation failed",
			slog.String("route", a.Intent.Route.Name), slog.String("error", err.Error()))
	}
}

// releaseUnsent gives a's budget back: the request never left the
// process.
func (s Settler) releaseUnsent(ctx context.Context, a *Authorized, cause error) {
	if err := a.releaseUnsent(ctx, cause); err != nil {
		s.log(ctx, slog.LevelError, "releasing a reservation failed",
			slog.String("route", a.Intent.Route.Name), slog.String("error", err.Error()))
	}
}

// Commit records what the venue did with a's request.
func (s Settler) Commit(ctx context.Context, a *Authorized, out Outcome) {
	if err := a.Reservation.Commit(ctx, out); err != nil {
		s.log(ctx, slog.LevelError, "committing a reservation failed",
			slog.String("route", a.Intent.Route.Name), slog.String("error", err.Error()))
	}
}

// Closed reports o, as a look-up or a cancel's answer states it, to the
// guard when the guard tracks open orders: an order with a status that is
// neither empty nor unknown, and an ID or client order id. A closed order
// settles at its quote fill (o.ExecutedQuo, which the venue client reads
// from the same answer as the status); to a guard that is an OrderLedger,
// an open order reports that it rests (its status is known) and its venue
// id. The report outlives ctx's cancellation.
func (s Settler) Closed(ctx context.Context, o Order) {
	if o.Status == "" || o.Status == StatusUnknown {
		return
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	if l, ok := s.Guard.(OrderLedger); ok {
		if o.ID == "" && o.ClientID == "" {
			return
		}
		err = l.UpdateOrder(ctx, s.Credential, OrderUpdate{ID: o.ID, ClientID: o.ClientID, Symbol: o.Symbol, Closed: !o.Status.Open(), FilledQuote: o.ExecutedQuo})
	} else if t, ok := s.Guard.(OrderTracker); ok && !o.Status.Open() && o.ID != "" {
		err = t.OrderClosed(ctx, s.Credential, o.ID, o.ExecutedQuo)
	}
	if err != nil {
		what := "reporting a closed order to the guard failed"
		if o.Status.Open() {
			what = "reporting an open order to the guard failed"
		}
		s.log(ctx, slog.LevelError, what,
			slog.String("order", o.ID), slog.String("error", err.Error()))
	}
}

func (s Settler) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if s.Logger == nil {
		return
	}
	s.Logger.LogAttrs(ctx, level, s.Venue+": "+msg, attrs...)
}

// ownRequest returns a copy of req for a client that signs for credential:
// an empty Credential becomes credential, another one is refused. venue
// prefixes the errors.
func ownRequest(venue, credential string, req *Request) (*Request, error) {
	if req == nil {
		return nil, errors.New(venue + ": nil request")
	}
	r := req.Clone()
	switch r.Credential {
	case "":
		r.Credential = credential
	case credential:
	default:
		return nil, fmt.Errorf("%s: request is for credential %q, the client signs for %q", venue, r.Credential, credential)
	}
	return r, nil
}
