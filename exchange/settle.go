package exchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/shopspring/decimal"
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

// Release gives a's budget back: the request failed without the venue
// acting (cause says why), or it created nothing (cause nil).
func (s Settler) Release(ctx context.Context, a *Authorized, cause error) {
	if err := a.Reservation.Release(ctx, cause); err != nil {
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

// Closed reports o to the guard when the guard tracks open orders and o is
// known to be closed: it has an ID and a status that is neither open nor
// unknown. The report outlives ctx's cancellation.
func (s Settler) Closed(ctx context.Context, o Order) {
	t, ok := s.Guard.(OrderTracker)
	if !ok || o.Status.Open() || o.Status == "" || o.Status == StatusUnknown || o.ID == "" {
		return
	}
	if err := t.OrderClosed(context.WithoutCancel(ctx), s.Credential, o.ID, o.ExecutedQuo); err != nil {
		s.log(ctx, slog.LevelError, "reporting a closed order to the guard failed",
			slog.String("order", o.ID), slog.String("error", err.Error()))
	}
}

func (s Settler) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if s.Logger == nil {
		return
	}
	s.Logger.LogAttrs(ctx, level, s.Venue+": "+msg, attrs...)
}

// OwnRequest returns a copy of req for a client that signs for credential:
// an empty Credential becomes credential, another one is refused. venue
// prefixes the errors.
func OwnRequest(venue, credential string, req *Request) (*Request, error) {
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

// MarketReference returns the reference price that values a market order
// by base quantity in the venues' filter checks: the mid of prices' quote
// of o.Symbol. It is zero, which skips those checks, for other orders and
// when prices has no quote (the guard then values the order against its
// own reference).
func MarketReference(ctx context.Context, prices PriceSource, o Order) decimal.Decimal {
	if o.Type != Market || !o.QuoteQuantity.IsZero() || prices == nil {
		return decimal.Decimal{}
	}
	q, err := prices.Reference(ctx, o.Symbol)
	if err != nil {
		return decimal.Decimal{}
	}
	return q.Mid()
}
