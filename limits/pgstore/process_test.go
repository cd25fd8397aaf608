//go:build unix

package pgstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/limits/pgstore"
)

// The tests in this file run the test binary again as helper processes
// (TestHelperProcess), each with a guard of its own on one schema, as
// several bots or gateways on one database would.
const (
	envHelper = "KEYFENCE_PGSTORE_HELPER"        // the helper's mode
	envSchema = "KEYFENCE_PGSTORE_HELPER_SCHEMA" // the schema it opens
)

// sharedPolicy caps the credential at 10000 USDT a day; an order of 1
// BTCUSDT at 100 is 1% of it.
const sharedPolicy = `
version: 1
kill_switch: {max_denials: 0, max_consecutive_rejections: 0}
credentials:
  main:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 100000
    price_band: "1%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "10000"}
    symbols:
      BTCUSDT: {}
`

// orderNotional is what one order reserves; sharedCap/orderNotional = 100.
const (
	orderNotional = 100
	sharedCap     = 10000
)

// livePrices quotes BTCUSDT at 99/100, fresh at every call.
type livePrices struct{}

func (livePrices) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	return exchange.Quote{Symbol: symbol, Bid: decimal.NewFromInt(99), Ask: decimal.NewFromInt(100), At: time.Now()}, nil
}

func newGuard(t testing.TB, s limits.Store) *limits.Guard {
	t.Helper()
	p, err := limits.ParsePolicy([]byte(sharedPolicy))
	if err != nil {
		t.Fatal(err)
	}
	g, err := limits.NewGuard(p, s, limits.WithPrices("binance", livePrices{}))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func buy() *exchange.Intent { return buyAs("") }

// buyAs is buy with a client order id.
func buyAs(clientID string) *exchange.Intent {
	return &exchange.Intent{Credential: "main", Venue: "binance",
		Route: exchange.Route{Name: "POST /api/v3/order", Class: exchange.ClassTrade},
		Orders: []exchange.Order{{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit, Price: decimal.NewFromInt(100), Quantity: decimal.NewFromInt(1),
			ClientID: clientID}}}
}

// outcome names what Check decided: "granted", "exceeded" (the daily cap),
// "undecidable" (the store failed) or "other".
func outcomeOf(err error) string {
	var v *limits.Violation
	switch {
	case err == nil:
		return "granted"
	case errors.As(err, &v) && v.Rule == limits.RuleDailyNotional:
		return "exceeded"
	case errors.Is(err, limits.ErrUndecidable) && errors.As(err, new(*pgstore.Error)):
		return "undecidable"
	}
	return "other"
}

// TestHelperProcess is not a test: run by the tests below as a child
// process, it opens the schema named in its environment and trades through
// a guard on it, in the mode envHelper names:
//
//   - burst: prints "ready", waits for a line on stdin, then makes 250
//     concurrent checks and prints "result granted=G exceeded=E kept=K";
//   - settle: the same, and each granted reservation is then released,
//     committed filled or unfilled, or committed as a resting order that
//     is closed unfilled or left open; K counts those that keep their
//     notional;
//   - hold: 8 goroutines check, holding every reservation, as many times as
//     the numbers on stdin's lines allow in all, and print a line per
//     decision, until stdin closes or every goroutine met the cap 3 times.
//
// Every decision line is "OUTCOME START_UNIX_NANO END_UNIX_NANO [error]".
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envHelper)
	if mode == "" {
		t.Skip("helper process for the multi-process tests")
	}
	deadline := time.Now().Add(2 * time.Minute) // never outlive a broken parent
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	s, err := pgstore.Open(ctx, os.Getenv(envURL), pgstore.WithSchema(os.Getenv(envSchema)))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	defer s.Close()
	g := newGuard(t, s)
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		// os.Stdout is unbuffered: the line is in the pipe on return.
		fmt.Printf(format+"\n", args...)
	}
	switch mode {
	case "burst", "settle":
		say("ready")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			os.Exit(2)
		}
		var granted, exceeded, kept atomic.Int64
		var wg sync.WaitGroup
		for i := range 250 {
			wg.Go(func() {
				res, err := g.Check(ctx, buy())
				switch outcomeOf(err) {
				case "granted":
					granted.Add(1)
				case "exceeded":
					exceeded.Add(1)
					return
				default:
					say("error %v", err)
					return
				}
				if mode == "burst" {
					kept.Add(1)
					return
				}
				if k, err := settle(ctx, g, res, rand.IntN(5), fmt.Sprintf("p%d-%d", os.Getpid(), i)); err != nil {
					say("error %v", err)
				} else if k {
					kept.Add(1)
				}
			})
		}
		wg.Wait()
		say("result granted=%d exceeded=%d kept=%d", granted.Load(), exceeded.Load(), kept.Load())
	case "hold":
		// Each line on stdin is a number of checks the goroutines may
		// make; stdin's end stops them.
		tokens := make(chan struct{}, 1<<16)
		stop := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(os.Stdin)
			for sc.Scan() {
				k, _ := strconv.Atoi(strings.TrimSpace(sc.Text()))
				for range k {
					tokens <- struct{}{}
				}
			}
			close(stop)
		}()
		var wg sync.WaitGroup
		var n atomic.Int64
		for range 8 {
			wg.Go(func() {
				full := 0
				for full < 3 {
					select {
					case <-stop:
						return
					case <-tokens:
					}
					start := time.Now()
					_, err := g.Check(ctx, buyAs(fmt.Sprintf("hold-%d-%d", os.Getpid(), n.Add(1))))
					end := time.Now()
					o := outcomeOf(err)
					if err != nil && o != "exceeded" {
						say("%s %d %d %v", o, start.UnixNano(), end.UnixNano(), err)
					} else {
						say("%s %d %d", o, start.UnixNano(), end.UnixNano())
					}
					if o == "exceeded" {
						full++
					}
				}
			})
		}
		wg.Wait()
		say("done")
	}
	os.Exit(0)
}

// settle settles a granted reservation in one of five ways and reports
// whether it keeps its notional in the window.
func settle(ctx context.Context, g *limits.Guard, res exchange.Reservation, how int, orderID string) (bool, error) {
	switch how {
	case 0:
		return false, res.Release(ctx, nil)
	case 1:
		return true, res.Commit(ctx, exchange.Outcome{FilledQuote: decimal.NewFromInt(orderNotional)})
	case 2:
		return false, res.Commit(ctx, exchange.Outcome{FilledQuote: decimal.Zero})
	case 3:
		return true, res.Commit(ctx, exchange.Outcome{Open: true, OrderIDs: []string{orderID}})
	default:
		if err := res.Commit(ctx, exchange.Outcome{Open: true, OrderIDs: []string{orderID}}); err != nil {
			return false, err
		}
		return false, g.OrderClosed(ctx, "main", orderID, decimal.Zero)
	}
}

// helper is a running helper process.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // its stdout, closed at EOF
}

func startHelper(t *testing.T, mode, schema string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelper+"="+mode, envSchema+"="+schema)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, stdin: stdin, lines: make(chan string, 4096)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	t.Cleanup(func() {
		h.cmd.Process.Kill()
		h.cmd.Wait()
	})
	return h
}

// allow lets a helper in hold mode make n more checks.
func (h *helper) allow(t *testing.T, n int) {
	t.Helper()
	if _, err := fmt.Fprintf(h.stdin, "%d\n", n); err != nil {
		t.Fatal(err)
	}
}

// next returns the helper's next line that is not test-runner output, or
// fails the test when it exits first or a minute passes.
func (h *helper) next(t *testing.T) (string, bool) {
	t.Helper()
	for {
		select {
		case l, ok := <-h.lines:
			if !ok {
				return "", false
			}
			if l == "PASS" || strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
				continue
			}
			return l, true
		case <-time.After(time.Minute):
			t.Fatal("a helper process said nothing for a minute")
		}
	}
}

// password returns the password of the test database's URL, which no
// helper output may show.
func password(t *testing.T) string {
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := u.User.Password()
	return p
}

// burst starts n helpers in mode, lets them go at once and returns the
// sums of their results.
func burst(t *testing.T, mode, schema string, n int) (granted, exceeded, kept int) {
	t.Helper()
	hs := make([]*helper, n)
	for i := range hs {
		hs[i] = startHelper(t, mode, schema)
	}
	for _, h := range hs {
		if l, ok := h.next(t); !ok || l != "ready" {
			t.Fatalf("helper: %q", l)
		}
	}
	for _, h := range hs {
		if _, err := io.WriteString(h.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range hs {
		for {
			l, ok := h.next(t)
			if !ok {
				t.Fatal("a helper exited without a result")
			}
			if strings.HasPrefix(l, "error") {
				t.Fatalf("helper: %s", l)
			}
			var g, e, k int
			if _, err := fmt.Sscanf(l, "result granted=%d exceeded=%d kept=%d", &g, &e, &k); err == nil {
				granted, exceeded, kept = granted+g, exceeded+e, kept+k
				break
			}
			t.Fatalf("helper: unexpected %q", l)
		}
		if err := h.cmd.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
	}
	return granted, exceeded, kept
}

// usedOrders returns the daily notional the schema holds for the
// credential, in orders.
func usedOrders(t *testing.T, s limits.Store) int {
	t.Helper()
	_, err := s.Reserve(context.Background(), &limits.ReserveRequest{Owner: "main", Now: time.Now(), DryRun: true,
		Limits: []limits.Limit{{Key: "main\x00quote\x00USDT", Amount: decimal.NewFromInt(1e12), Cap: decimal.NewFromInt(1e12), Window: limits.DailyWindow}}})
	if err == nil {
		return 0
	}
	var ex *limits.ExceededError
	if !errors.As(err, &ex) {
		t.Fatal(err)
	}
	q := ex.Used.Div(decimal.NewFromInt(orderNotional))
	if !q.IsInteger() {
		t.Fatalf("used %s is not a whole number of orders", ex.Used)
	}
	return int(q.IntPart())
}

// pendingTickets counts the reservations the schema holds uncommitted.
func pendingTickets(t *testing.T, schema string) int {
	var n int
	if err := admin(t).QueryRow(context.Background(), `SELECT count(*) FROM `+pgx.Identifier{schema}.Sanitize()+`.tickets WHERE NOT committed`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestProcessesShareExactCap: 4 processes make 250 concurrent checks each,
// every one for 1% of the cap: exactly 100 pass.
func TestProcessesShareExactCap(t *testing.T) {
	testURL(t)
	schema := newSchema(t)
	s := openStore(t, schema) // creates the schema before the helpers race
	granted, exceeded, _ := burst(t, "burst", schema, 4)
	if granted != 100 || exceeded != 900 {
		t.Fatalf("granted %d exceeded %d, want 100 and 900", granted, exceeded)
	}
	if u := usedOrders(t, s); u != 100 {
		t.Fatalf("the window holds %d orders, want 100", u)
	}
	checkInvariants(t, schema)
}

// TestProcessesShareExactCapWhileSettling: the same burst, each granted
// reservation released or settled at random as soon as it is granted.
// Afterwards the window holds exactly what the settlements kept, and the
// rest of the cap is free to the order.
func TestProcessesShareExactCapWhileSettling(t *testing.T) {
	testURL(t)
	schema := newSchema(t)
	s := openStore(t, schema)
	granted, exceeded, kept := burst(t, "settle", schema, 4)
	if granted+exceeded != 1000 || kept > 100 || granted < 100 {
		t.Fatalf("granted %d exceeded %d kept %d", granted, exceeded, kept)
	}
	if u := usedOrders(t, s); u != kept {
		t.Fatalf("the window holds %d orders, the processes kept %d", u, kept)
	}
	checkInvariants(t, schema)
	// The rest of the cap, and not one order more.
	g := newGuard(t, s)
	for i := kept; i < 100; i++ {
		if _, err := g.Check(context.Background(), buy()); err != nil {
			t.Fatalf("order %d of the cap: %v", i+1, err)
		}
	}
	if _, err := g.Check(context.Background(), buy()); outcomeOf(err) != "exceeded" {
		t.Fatalf("order 101: %v", err)
	}
}

// holdLine is one decision of a helper in hold mode.
type holdLine struct {
	outcome    string
	start, end int64
	rest       string
}

func parseHold(t *testing.T, l string) holdLine {
	f := strings.SplitN(l, " ", 4)
	if len(f) < 3 {
		t.Fatalf("helper: unexpected %q", l)
	}
	start, err1 := strconv.ParseInt(f[1], 10, 64)
	end, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("helper: unexpected %q", l)
	}
	h := holdLine{outcome: f[0], start: start, end: end}
	if len(f) == 4 {
		h.rest = f[3]
	}
	return h
}

// TestKill9KeepsReservations: a process killed with SIGKILL in the middle
// of a burst leaves every reservation it was granted held (none is
// released silently), the cap still holds for the processes after it, and
// reconciliation finds the held reservations by their client order ids
// and settles them.
func TestKill9KeepsReservations(t *testing.T) {
	testURL(t)
	schema := newSchema(t)
	s := openStore(t, schema)
	h := startHelper(t, "hold", schema)
	h.allow(t, 60) // of the cap's 100: the kill comes mid-burst, never at the cap
	acked := 0
	for acked < 30 {
		l, ok := h.next(t)
		if !ok {
			t.Fatal("the helper exited early")
		}
		switch hl := parseHold(t, l); hl.outcome {
		case "granted":
			acked++
		default:
			t.Fatalf("helper: %q", l)
		}
	}
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h.cmd.Wait()
	for l := range h.lines {
		if parseHold(t, l).outcome == "granted" {
			acked++
		}
	}
	// Transactions the kill cut short roll back; the server sees the
	// connections go. Every grant the process heard of is still held.
	held := usedOrders(t, s)
	if held < acked || held > acked+8 {
		t.Fatalf("after kill -9: %d orders held, the process was granted %d with 8 in flight", held, acked)
	}
	if p := pendingTickets(t, schema); p != held {
		t.Fatalf("%d reservations pending, %d orders held", p, held)
	}
	// Two more processes fill the cap: exactly the rest passes.
	granted, _, _ := burst(t, "burst", schema, 2)
	if held+granted != 100 {
		t.Fatalf("%d held after the kill + %d granted since = %d, want 100", held, granted, held+granted)
	}
	if u := usedOrders(t, s); u != 100 {
		t.Fatalf("the window holds %d orders, want 100", u)
	}
	// Reconciliation lists the dead process's reservations by their client
	// ids, and settles them as the venue answers: here, never placed.
	ctx := context.Background()
	tr, err := s.Tracked(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	dead := 0
	for _, o := range tr {
		if !strings.HasPrefix(o.ClientID, fmt.Sprintf("hold-%d-", h.cmd.Process.Pid)) {
			continue
		}
		if !o.Pending || !o.Unknown || o.Symbol != "BTCUSDT" {
			t.Fatalf("tracked %+v; want a pending order of unknown outcome", o)
		}
		dead++
		if err := s.UpdateOrder(ctx, "main", limits.OrderUpdate{ClientID: o.ClientID, Closed: true}); err != nil {
			t.Fatal(err)
		}
	}
	if dead != held {
		t.Fatalf("reconciliation found %d of the %d reservations the dead process holds", dead, held)
	}
	if u := usedOrders(t, s); u != 100-held {
		t.Fatalf("after reconciliation the window holds %d orders, want %d", u, 100-held)
	}
	checkInvariants(t, schema)
}

// TestDatabaseRestart: two processes trade while the database stops and
// starts again. Every check made while it is down is refused as
// undecidable, with an error that does not show the password; trading
// resumes when it is back, and the cap is not exceeded.
func TestDatabaseRestart(t *testing.T) {
	testURL(t)
	ctl := os.Getenv(envCtl)
	if ctl == "" {
		msg := "no way to restart PostgreSQL: " + envCtl + " is not set; run scripts/with-postgres.sh go test ./..."
		if os.Getenv(envRequire) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	pw := password(t)
	schema := newSchema(t)
	openStore(t, schema).Close()
	hs := []*helper{startHelper(t, "hold", schema), startHelper(t, "hold", schema)}
	all := make([][]holdLine, len(hs))
	// read takes a helper's next decision; it returns false at "done".
	read := func(i int) (holdLine, bool) {
		l, ok := hs[i].next(t)
		if !ok {
			t.Fatal("a helper exited without finishing")
		}
		if l == "done" {
			return holdLine{}, false
		}
		if pw != "" && strings.Contains(l, pw) {
			t.Fatalf("a helper's output shows the database password: %q", l)
		}
		hl := parseHold(t, l)
		if hl.outcome == "other" {
			t.Fatalf("helper: %q", l)
		}
		all[i] = append(all[i], hl)
		return hl, true
	}
	// Trading: each helper makes 10 checks, all granted.
	for i, h := range hs {
		h.allow(t, 10)
		for range 10 {
			if hl, _ := read(i); hl.outcome != "granted" {
				t.Fatalf("helper %d before the restart: %+v", i, hl)
			}
		}
	}
	// The database stops in the middle of a burst of 8 checks each.
	for _, h := range hs {
		h.allow(t, 8)
	}
	if out, err := exec.Command(ctl, "stop").CombinedOutput(); err != nil {
		t.Fatalf("stopping PostgreSQL: %v\n%s", err, out)
	}
	restarted := false
	t.Cleanup(func() {
		// Leave the server running for the tests after this one.
		if !restarted {
			exec.Command(ctl, "start").Run()
		}
	})
	for i := range hs {
		for range 8 {
			read(i) // granted before the stop, or refused
		}
	}
	// While it is down, every check is refused as undecidable.
	for i, h := range hs {
		h.allow(t, 6)
		for range 6 {
			if hl, _ := read(i); hl.outcome != "undecidable" {
				t.Fatalf("helper %d while the database is down: %+v", i, hl)
			}
		}
	}
	up := time.Now().UnixNano()
	if out, err := exec.Command(ctl, "start").CombinedOutput(); err != nil {
		t.Fatalf("starting PostgreSQL: %v\n%s", err, out)
	}
	restarted = true
	// Trading resumes, until the cap stops every goroutine of both.
	for i, h := range hs {
		h.allow(t, 1000)
		for {
			if _, more := read(i); !more {
				break
			}
		}
	}
	granted, resumed := 0, 0
	for i := range hs {
		for _, hl := range all[i] {
			if hl.outcome == "granted" {
				granted++
				if hl.start > up {
					resumed++
				}
			}
		}
	}
	if resumed == 0 {
		t.Fatal("no order was granted after the database came back")
	}
	s := openStore(t, schema)
	used := usedOrders(t, s)
	// A commit lost with the connection may hold an order no process heard
	// of; none may pass the cap.
	if used != 100 || granted > 100 {
		t.Fatalf("the window holds %d orders and the processes were granted %d; want 100 and at most 100", used, granted)
	}
	checkInvariants(t, schema)
}
