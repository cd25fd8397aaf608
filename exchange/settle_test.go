package exchange_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// settleReservation records how it was settled and fails with err.
type settleReservation struct {
	committed []exchange.Outcome
	released  []error
	releases  int
	err       error
}

func (r *settleReservation) Commit(_ context.Context, out exchange.Outcome) error {
	r.committed = append(r.committed, out)
	return r.err
}

func (r *settleReservation) Release(_ context.Context, cause error) error {
	r.releases++
	r.released = append(r.released, cause)
	return r.err
}

// trackingGuard is a Guard that records closed orders.
type trackingGuard struct {
	closed []string
	ctxErr error // the context's error when OrderClosed ran
	err    error
}

func (g *trackingGuard) Check(context.Context, *exchange.Intent) (exchange.Reservation, error) {
	return nil, errors.New("not used")
}
func (g *trackingGuard) PolicyHash(string) audit.Digest { return audit.Digest{} }
func (g *trackingGuard) OrderClosed(ctx context.Context, credential, id string, filled decimal.Decimal) error {
	g.ctxErr = ctx.Err()
	g.closed = append(g.closed, credential+"/"+id+"/"+filled.String())
	return g.err
}

// plainGuard is a Guard that does not track orders.
type plainGuard struct{}

func (plainGuard) Check(context.Context, *exchange.Intent) (exchange.Reservation, error) {
	return nil, errors.New("not used")
}
func (plainGuard) PolicyHash(string) audit.Digest { return audit.Digest{} }

func settlerWithLog(g exchange.Guard) (exchange.Settler, *bytes.Buffer) {
	var buf bytes.Buffer
	return exchange.Settler{Venue: "venuex", Credential: "bot", Guard: g,
		Logger: slog.New(slog.NewTextHandler(&buf, nil))}, &buf
}

func TestSettlerCommitAndRelease(t *testing.T) {
	res := &settleReservation{}
	a := &exchange.Authorized{Reservation: res}
	s, logs := settlerWithLog(plainGuard{})
	out := exchange.Outcome{OrderIDs: []string{"1"}, Open: true}
	s.Commit(context.Background(), a, out)
	cause := errors.New("refused")
	s.Release(context.Background(), a, cause)
	if len(res.committed) != 1 || res.committed[0].OrderIDs[0] != "1" || !res.committed[0].Open {
		t.Errorf("committed %+v", res.committed)
	}
	if res.releases != 1 || !errors.Is(res.released[0], cause) {
		t.Errorf("released %v", res.released)
	}
	if logs.Len() != 0 {
		t.Errorf("settling that works logged %q", logs)
	}

	res.err = errors.New("store down")
	s.Commit(context.Background(), a, out)
	s.Release(context.Background(), a, nil)
	for _, want := range []string{"venuex: committing a reservation failed", "venuex: releasing a reservation failed", "store down"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q: %s", want, logs)
		}
	}
}

func TestSettlerClosed(t *testing.T) {
	filled := decimal.RequireFromString("12.5")
	tests := []struct {
		name     string
		o        exchange.Order
		reported bool
	}{
		{"filled", exchange.Order{ID: "7", Status: exchange.StatusFilled, ExecutedQuo: filled}, true},
		{"canceled", exchange.Order{ID: "7", Status: exchange.StatusCanceled, ExecutedQuo: filled}, true},
		{"expired", exchange.Order{ID: "7", Status: exchange.StatusExpired, ExecutedQuo: filled}, true},
		{"rejected", exchange.Order{ID: "7", Status: exchange.StatusRejected, ExecutedQuo: filled}, true},
		{"new", exchange.Order{ID: "7", Status: exchange.StatusNew}, false},
		{"partially filled", exchange.Order{ID: "7", Status: exchange.StatusPartiallyFilled}, false},
		{"unknown", exchange.Order{ID: "7", Status: exchange.StatusUnknown}, false},
		{"no status", exchange.Order{ID: "7"}, false},
		{"no id", exchange.Order{Status: exchange.StatusFilled}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &trackingGuard{}
			s, _ := settlerWithLog(g)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			s.Closed(ctx, tt.o)
			if got := len(g.closed) == 1; got != tt.reported {
				t.Fatalf("reported %v, want %v", g.closed, tt.reported)
			}
			if tt.reported {
				if g.closed[0] != "bot/7/12.5" {
					t.Errorf("reported %q", g.closed[0])
				}
				if g.ctxErr != nil {
					t.Errorf("the report ran with a cancelled context: %v", g.ctxErr)
				}
			}
		})
	}
}

func TestSettlerClosedFailuresAndGuards(t *testing.T) {
	g := &trackingGuard{err: errors.New("tracker down")}
	s, logs := settlerWithLog(g)
	s.Closed(context.Background(), exchange.Order{ID: "9", Status: exchange.StatusFilled})
	if !strings.Contains(logs.String(), "venuex: reporting a closed order to the guard failed") || !strings.Contains(logs.String(), "order=9") {
		t.Errorf("log: %s", logs)
	}
	// A guard that does not track orders, and the zero Settler, do nothing.
	s, logs = settlerWithLog(plainGuard{})
	s.Closed(context.Background(), exchange.Order{ID: "9", Status: exchange.StatusFilled})
	var zero exchange.Settler
	zero.Closed(context.Background(), exchange.Order{ID: "9", Status: exchange.StatusFilled})
	res := &settleReservation{err: errors.New("x")}
	zero.Release(context.Background(), &exchange.Authorized{Reservation: res}, nil)
	if logs.Len() != 0 || res.releases != 1 {
		t.Errorf("logs %q, releases %d", logs, res.releases)
	}
}
