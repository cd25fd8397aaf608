package exchangetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// simServer is what every simulated venue shares beneath its own API: the
// HTTP server and its lifecycle, the clock, the logger, the market core,
// the queue of injected order failures and the request counters. Each
// venue type embeds one and adds its routes, authentication and answer
// shapes.
type simServer struct {
	venue  string // lower-case venue name, for errors
	url    string
	srv    *http.Server
	served chan error
	closed sync.Once
	log    *slog.Logger
	now    func() time.Time
	mkt    *market
	// latency delays every answer (wall-clock time, not the simulator's
	// clock), for measurements over a realistic round trip.
	latency time.Duration

	failMu sync.Mutex
	fails  []failRule

	requests, n429, placed atomic.Int64
}

// failRule is an injected failure of the next new order.
type failRule struct {
	status  int
	execute bool
}

// simConfig is the configuration every simulator takes; each venue's
// config embeds it and its options fill it in.
type simConfig struct {
	now      func() time.Time
	listener net.Listener
	balances []exchange.Balance
	log      *slog.Logger
	maker    decimal.Decimal
	taker    decimal.Decimal
	drift    *Drift        // nil: prices move only by SetPrice
	latency  time.Duration // every answer waits this long
}

// setDrift makes prices random-walk as d says.
func (c *simConfig) setDrift(d Drift) { c.drift = &d }

// check reports an invalid shared option.
func (c *simConfig) check() error {
	if c.drift != nil {
		if err := c.drift.Validate(); err != nil {
			return err
		}
	}
	if c.latency < 0 {
		return fmt.Errorf("exchangetest: latency %s: use zero or more", c.latency)
	}
	return nil
}

// noLimit is the limit the simulators serve and enforce when their rate
// limits are switched off: more than any client sends, and high enough
// that a client sizing its pace from the venue's limits never waits.
const noLimit = 1_000_000_000

// defaultSimConfig is the default configuration: the system clock, no
// listener yet, accounts funded with balances, no logging, no fees.
func defaultSimConfig(balances []exchange.Balance) simConfig {
	return simConfig{now: time.Now, balances: balances, log: slog.New(slog.DiscardHandler)}
}

// setClock makes the simulator read time from now; nil keeps the clock.
func (c *simConfig) setClock(now func() time.Time) {
	if now != nil {
		c.now = now
	}
}

// setBalances replaces the balances every new account is funded with.
func (c *simConfig) setBalances(balances []exchange.Balance) {
	c.balances = append([]exchange.Balance(nil), balances...)
}

// setLogger logs one line per request to l; nil keeps the logger.
func (c *simConfig) setLogger(l *slog.Logger) {
	if l != nil {
		c.log = l
	}
}

// init prepares s to serve on c.listener over a market of symbols; start
// starts it.
func (s *simServer) init(venue string, c simConfig, symbols []Symbol) {
	s.venue = venue
	s.url = "http://" + c.listener.Addr().String()
	s.served = make(chan error, 1)
	s.log = c.log
	s.now = c.now
	s.mkt = newMarket(c.now, symbols, c.balances)
	s.mkt.makerFee, s.mkt.takerFee = c.maker, c.taker
	if err := c.check(); err != nil {
		// NewBinance and ListenBinance check first; the other venues take
		// an invalid drift or latency as NewBinance takes an invalid option.
		panic(err)
	}
	if c.drift != nil {
		s.mkt.drift = newDrifter(*c.drift, s.mkt)
	}
	s.latency = c.latency
}

// start serves h on l in the background.
func (s *simServer) start(l net.Listener, h http.Handler) {
	if s.latency > 0 {
		h = delayed(s.latency, h)
	}
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.served <- s.srv.Serve(l) }()
}

// loopbackListener listens on a free loopback port, IPv4 first. Like
// httptest.NewServer it panics when it cannot.
func loopbackListener() net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if l, err = net.Listen("tcp6", "[::1]:0"); err != nil {
			panic(fmt.Sprintf("exchangetest: failed to listen on a loopback port: %v", err))
		}
	}
	return l
}

// listenOn listens on addr for the simulator of venue.
func listenOn(venue, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("exchangetest: %s simulator: %w; choose a free address with --listen", venue, err)
	}
	return l, nil
}

// URL returns the base URL, e.g. "http://127.0.0.1:54321".
func (s *simServer) URL() string { return s.url }

// Close stops serving and closes open connections.
func (s *simServer) Close() { s.closed.Do(func() { _ = s.srv.Close() }) }

// run blocks until ctx is done, then shuts the server down gracefully. It
// returns nil after a shutdown caused by ctx, or the error that stopped
// the server.
func (s *simServer) run(ctx context.Context) error {
	select {
	case err := <-s.served:
		s.served <- err
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("exchangetest: %s simulator stopped: %w", s.venue, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	s.Close()
	if err != nil {
		return fmt.Errorf("exchangetest: shutting the %s simulator down: %w", s.venue, err)
	}
	return nil
}

// price returns the last price of symbol and whether the symbol exists.
func (s *simServer) price(symbol string) (decimal.Decimal, bool) {
	sym, ok := s.mkt.symbol(symbol)
	return sym.Price, ok
}

// setBalance sets the free balance of asset in an account.
func (s *simServer) setBalance(account, asset string, free decimal.Decimal) error {
	if err := s.mkt.setBalance(account, asset, free); err != nil {
		return fmt.Errorf("exchangetest: set balance of %s: %w; add the key first", account, err)
	}
	return nil
}

// orders returns every order of an account, oldest first, with the ids
// idOf gives (nil: the market's decimal ids), or nil for an unknown
// account.
func (s *simServer) orders(account string, idOf func(int64) string) []exchange.Order {
	s.mkt.mu.Lock()
	defer s.mkt.mu.Unlock()
	a := s.mkt.accounts[account]
	if a == nil {
		return nil
	}
	var out []exchange.Order
	for _, o := range sortedOrders(a, "", false) {
		e := o.exchangeOrder()
		if idOf != nil {
			e.ID = idOf(o.id)
		}
		out = append(out, e)
	}
	return out
}

// addFail queues an injected failure of a new order.
func (s *simServer) addFail(r failRule) {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	s.fails = append(s.fails, r)
}

// nextFail takes the oldest queued failure, if any.
func (s *simServer) nextFail() (failRule, bool) {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	if len(s.fails) == 0 {
		return failRule{}, false
	}
	r := s.fails[0]
	s.fails = s.fails[1:]
	return r, true
}

// Requests returns how many HTTP requests the simulator received.
func (s *simServer) Requests() int64 { return s.requests.Load() }

// OrdersPlaced returns how many new orders reached the matching engine.
func (s *simServer) OrdersPlaced() int64 { return s.placed.Load() }

// keyRing holds a simulator's registered keys by identifier. It is safe
// for concurrent use.
type keyRing[K any] struct {
	mu   sync.Mutex
	keys map[string]*K
}

// put registers k under id, replacing any key registered under it.
func (r *keyRing[K]) put(id string, k *K) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys == nil {
		r.keys = make(map[string]*K)
	}
	r.keys[id] = k
}

// get returns the key registered under id, or nil.
func (r *keyRing[K]) get(id string) *K {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[id]
}

// remoteIP returns the address a request came from, without the port.
func remoteIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

// dropConnection closes the connection of w without an answer, as when a
// venue's answer is lost. It reports whether it could.
func dropConnection(w http.ResponseWriter) bool {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// delayed serves h after d, or not at all when the client gives up first.
func delayed(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
		h.ServeHTTP(w, r)
	})
}
