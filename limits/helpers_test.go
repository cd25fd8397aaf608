package limits

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a fake clock safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// prices is an in-memory exchange.PriceSource.
type prices struct {
	mu     sync.Mutex
	quotes map[string]exchange.Quote
	err    error
}

func newPrices() *prices { return &prices{quotes: map[string]exchange.Quote{}} }

func (p *prices) Set(symbol, bid, ask string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := exchange.Quote{Symbol: symbol, At: at}
	if bid != "" {
		q.Bid = decimal.RequireFromString(bid)
	}
	if ask != "" {
		q.Ask = decimal.RequireFromString(ask)
	}
	p.quotes[symbol] = q
}

func (p *prices) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return exchange.Quote{}, p.err
	}
	q, ok := p.quotes[symbol]
	if !ok {
		return exchange.Quote{}, errors.New("no ticker for " + symbol)
	}
	return q, nil
}

const testPolicy = `
version: 1
kill_switch:
  max_consecutive_rejections: 3
  max_denials: 0
credentials:
  main:
    venue: binance
    order_types: [LIMIT, LIMIT_MAKER, MARKET]
    max_open_orders: 3
    price_band: "2%"
    reference_max_age: 5s
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "2000"}
    symbols:
      BTCUSDT: {max_order_notional: "500", max_daily_notional: "1500", allow_market_by_base: true}
      ETHUSDT: {}
  wide:
    venue: binance
    allow: [read, cancel, trade, withdraw]
    order_types: [LIMIT]
    max_open_orders: 1000
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "100", max_daily_notional: "100"}
    symbols:
      BTCUSDT: {}
`

type fixture struct {
	t      *testing.T
	clock  *clock
	prices *prices
	store  Store
	guard  *Guard
}

func newFixture(t *testing.T, policy string, store Store) *fixture {
	t.Helper()
	p, err := ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	if store == nil {
		store = NewMemoryStore()
	}
	f := &fixture{t: t, clock: newClock(), prices: newPrices(), store: store}
	f.prices.Set("BTCUSDT", "99", "100", t0)
	f.prices.Set("ETHUSDT", "9", "10", t0)
	f.guard, err = NewGuard(p, store, WithClock(f.clock.Now), WithPrices("binance", f.prices))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func trade(cred string, orders ...exchange.Order) *exchange.Intent {
	return &exchange.Intent{Credential: cred, Venue: "binance",
		Route: exchange.Route{Name: "POST /api/v3/order", Class: exchange.ClassTrade}, Orders: orders}
}

// at sets the time the intent is judged at.
func at(t time.Time, in *exchange.Intent) *exchange.Intent {
	in.At = t
	return in
}

func limit(sym string, side exchange.Side, price, qty string) exchange.Order {
	return exchange.Order{Symbol: sym, Side: side, Type: exchange.Limit, Price: dec(price), Quantity: dec(qty)}
}

func market(sym string, side exchange.Side, qty, quoteQty string) exchange.Order {
	o := exchange.Order{Symbol: sym, Side: side, Type: exchange.Market}
	if qty != "" {
		o.Quantity = dec(qty)
	}
	if quoteQty != "" {
		o.QuoteQuantity = dec(quoteQty)
	}
	return o
}

// check runs Check and returns the violation's rule ("" when allowed).
func (f *fixture) check(in *exchange.Intent) (exchange.Reservation, Rule) {
	f.t.Helper()
	res, err := f.guard.Check(context.Background(), in)
	if err == nil {
		if res == nil {
			f.t.Fatal("Check returned neither a reservation nor an error")
		}
		return res, ""
	}
	if !errors.Is(err, ErrDenied) {
		f.t.Fatalf("error does not wrap ErrDenied: %v", err)
	}
	var v *Violation
	if !errors.As(err, &v) {
		f.t.Fatalf("error is not a *Violation: %v", err)
	}
	if v.RuleName() != string(v.Rule) {
		f.t.Fatalf("RuleName %q != Rule %q", v.RuleName(), v.Rule)
	}
	return nil, v.Rule
}

func (f *fixture) mustAllow(in *exchange.Intent) exchange.Reservation {
	f.t.Helper()
	res, err := f.guard.Check(context.Background(), in)
	if err != nil {
		f.t.Fatalf("denied: %v", err)
	}
	return res
}

func nullDec(s string) decimal.NullDecimal { return decimal.NewNullDecimal(dec(s)) }
