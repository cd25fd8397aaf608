package limits

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// storeKinds runs a test against every Store implementation.
func storeKinds(t *testing.T, fn func(t *testing.T, open func() Store)) {
	t.Run("memory", func(t *testing.T) {
		s := NewMemoryStore()
		fn(t, func() Store { return s })
	})
	t.Run("file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "limits.journal")
		var cur *FileStore
		t.Cleanup(func() {
			if cur != nil {
				cur.Close()
			}
		})
		// open returns the store, reopened from disk each time, so every
		// check also proves the state survives a restart.
		fn(t, func() Store {
			if cur != nil {
				if err := cur.Close(); err != nil {
					t.Fatal(err)
				}
			}
			s, err := OpenFileStore(path, CompactEvery(7))
			if err != nil {
				t.Fatal(err)
			}
			cur = s
			return s
		})
	})
}

func lim(key, amount, capv string, w time.Duration) Limit {
	return Limit{Key: key, Amount: dec(amount), Cap: dec(capv), Window: w}
}

func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	storeKinds(t, func(t *testing.T, open func() Store) {
		s := open()
		req := func(at time.Time, ls ...Limit) *ReserveRequest {
			return &ReserveRequest{Owner: "o", Now: at, Limits: ls}
		}
		// Reserve 60 + 40 on a window of 100 and a gauge of 2.
		t1, err := s.Reserve(ctx, req(t0, lim("w", "60", "100", time.Hour), lim("g", "1", "2", 0)))
		if err != nil || t1 == "" {
			t.Fatal(t1, err)
		}
		t2, err := s.Reserve(ctx, req(t0.Add(time.Minute), lim("w", "40", "100", time.Hour), lim("g", "1", "2", 0)))
		if err != nil {
			t.Fatal(err)
		}
		s = open()
		// All or nothing: the window is full, so the gauge is not taken either.
		_, err = s.Reserve(ctx, req(t0.Add(time.Minute), lim("g2", "1", "5", 0), lim("w", "0.01", "100", time.Hour)))
		var ex *ExceededError
		if !errors.As(err, &ex) || ex.Index != 1 || !ex.Used.Equal(dec("100")) {
			t.Fatalf("err = %v", err)
		}
		// Dry run: checks, records nothing.
		if id, err := s.Reserve(ctx, &ReserveRequest{Now: t0, Limits: []Limit{lim("g2", "5", "5", 0)}, DryRun: true}); err != nil || id != "" {
			t.Fatal(id, err)
		}
		if _, err := s.Reserve(ctx, req(t0, lim("g2", "5", "5", 0))); err != nil {
			t.Fatalf("g2 was touched by a failed or dry reservation: %v", err)
		}
		// Release t2: 40 and one gauge unit come back.
		if err := s.Release(ctx, t2); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, t2); !errors.Is(err, ErrUnknownTicket) {
			t.Fatalf("second release: %v", err)
		}
		s = open()
		// Commit t1 as a resting order: it keeps 60 and its gauge unit.
		if err := s.Commit(ctx, t1, Settlement{Open: true, OrderIDs: []string{"ord-1"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, t1, Settlement{}); !errors.Is(err, ErrUnknownTicket) {
			t.Fatalf("second commit: %v", err)
		}
		s = open()
		if _, err := s.Reserve(ctx, req(t0.Add(2*time.Minute), lim("w", "40.01", "100", time.Hour))); !errors.As(err, &ex) {
			t.Fatalf("window after commit: %v", err)
		}
		if _, err := s.Reserve(ctx, req(t0.Add(2*time.Minute), lim("g", "2", "2", 0))); !errors.As(err, &ex) {
			t.Fatalf("gauge after commit: %v", err)
		}
		// The order closes having filled 15: the window keeps 15, the gauge is free.
		if err := s.CloseOrder(ctx, "o", "ord-1", dec("15")); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseOrder(ctx, "other-owner", "ord-1", dec("15")); err != nil {
			t.Fatal(err)
		}
		s = open()
		t3, err := s.Reserve(ctx, req(t0.Add(2*time.Minute), lim("w", "85", "100", time.Hour), lim("g", "2", "2", 0)))
		if err != nil {
			t.Fatal(err)
		}
		// Not resting, filled 80 of 85: the window keeps 15 + 80.
		if err := s.Commit(ctx, t3, Settlement{Filled: dec("80")}); err != nil {
			t.Fatal(err)
		}
		s = open()
		if _, err := s.Reserve(ctx, req(t0.Add(3*time.Minute), lim("w", "5.01", "100", time.Hour))); !errors.As(err, &ex) || !ex.Used.Equal(dec("95")) {
			t.Fatalf("window: %v", err)
		}
		// 15 was reserved at t0: it leaves the window at t0+1h exactly.
		if _, err := s.Reserve(ctx, req(t0.Add(time.Hour-1), lim("w", "5.01", "100", time.Hour))); !errors.As(err, &ex) {
			t.Fatalf("window before expiry: %v", err)
		}
		if _, err := s.Reserve(ctx, req(t0.Add(time.Hour), lim("w", "20", "100", time.Hour))); err != nil {
			t.Fatalf("window after expiry: %v", err)
		}

		// Strikes.
		for i := 1; i <= 3; i++ {
			if n, err := s.Strike(ctx, "r", t0, 0); err != nil || n != i {
				t.Fatal(n, err)
			}
		}
		s = open()
		if err := s.ClearStrikes(ctx, "r"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Strike(ctx, "r", t0, 0); n != 1 {
			t.Fatalf("after clear: %d", n)
		}
		s.Strike(ctx, "d", t0, time.Minute)
		s.Strike(ctx, "d", t0.Add(30*time.Second), time.Minute)
		s = open()
		if n, _ := s.Strike(ctx, "d", t0.Add(time.Minute), time.Minute); n != 2 {
			t.Fatalf("windowed strikes: %d", n)
		}

		// Kill switch: first reason kept, survives reopening.
		if err := s.Trip(ctx, KillState{Reason: "first", At: t0}); err != nil {
			t.Fatal(err)
		}
		s.Trip(ctx, KillState{Reason: "second", At: t0})
		s = open()
		k, err := s.KillSwitch(ctx)
		if err != nil || !k.Tripped || k.Reason != "first" || !k.At.Equal(t0) {
			t.Fatalf("kill %+v %v", k, err)
		}
		if err := s.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		s = open()
		if k, _ := s.KillSwitch(ctx); k.Tripped {
			t.Fatal("tripped after reset")
		}
	})
}

func TestStoreOpenWithoutOrderIDsHolds(t *testing.T) {
	ctx := context.Background()
	storeKinds(t, func(t *testing.T, open func() Store) {
		s := open()
		id, _ := s.Reserve(ctx, &ReserveRequest{Owner: "o", Now: t0, Limits: []Limit{lim("g", "1", "1", 0)}})
		if err := s.Commit(ctx, id, Settlement{Open: true}); err != nil {
			t.Fatal(err)
		}
		s = open()
		var ex *ExceededError
		if _, err := s.Reserve(ctx, &ReserveRequest{Owner: "o", Now: t0, Limits: []Limit{lim("g", "1", "1", 0)}}); !errors.As(err, &ex) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestGuardAtomicity: 1,000 concurrent intents each asking 1% of the daily
// cap: exactly 100 pass.
func TestGuardAtomicity(t *testing.T) {
	const pol = `
version: 1
kill_switch: {max_denials: 0}
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
	run := func(t *testing.T, store Store) {
		f := newFixture(t, pol, store)
		var wg sync.WaitGroup
		var allowed, denied atomic.Int64
		start := make(chan struct{})
		for range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := f.guard.Check(context.Background(), trade("main", limit("BTCUSDT", exchange.Buy, "100", "1")))
				var v *Violation
				switch {
				case err == nil:
					allowed.Add(1)
				case errors.As(err, &v) && v.Rule == RuleDailyNotional:
					denied.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if allowed.Load() != 100 || denied.Load() != 900 {
			t.Fatalf("allowed %d denied %d, want 100 and 900", allowed.Load(), denied.Load())
		}
	}
	t.Run("memory", func(t *testing.T) { run(t, NewMemoryStore()) })
	t.Run("file", func(t *testing.T) {
		s, err := OpenFileStore(filepath.Join(t.TempDir(), "j"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		run(t, s)
	})
}

func TestFileStoreTornTail(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j")
	s, err := OpenFileStore(path, CompactEvery(1000))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Reserve(ctx, &ReserveRequest{Owner: "o", Now: t0, Limits: []Limit{lim("w", "10", "100", time.Hour)}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	full, _ := os.ReadFile(path)
	for _, tail := range []string{`{"op":"reserve","id":"9","limits":[{"k":"w","a":"5`, "garbage", `{"op":"reserve"}` + "\x00\x00"} {
		if err := os.WriteFile(path, append(append([]byte{}, full...), tail...), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenFileStore(path)
		if err != nil {
			t.Fatalf("torn tail %q: %v", tail, err)
		}
		var ex *ExceededError
		if _, err := s.Reserve(ctx, &ReserveRequest{Now: t0, Limits: []Limit{lim("w", "70.01", "100", time.Hour)}, DryRun: true}); !errors.As(err, &ex) || !ex.Used.Equal(dec("30")) {
			t.Fatalf("after torn tail %q: %v", tail, err)
		}
		s.Close()
	}
	// A corrupt line followed by good ones is not a torn write: refuse to open.
	lines := append([]byte(`{"op":"reserve","id":"x","t":1,"limits":[{"k":"w","a":"1"`+"\n"), full...)
	if err := os.WriteFile(path, lines, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFileStore(path); err == nil {
		t.Fatal("opened a journal with a corrupt line in the middle")
	}
}

func TestFileStoreLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := OpenFileStore(path); !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("second open: %v", err)
	}
}

func TestFileStoreCompactionKeepsState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j")
	s, err := OpenFileStore(path, CompactEvery(5))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	var open []Ticket
	for i := range 23 {
		id, err := s.Reserve(ctx, &ReserveRequest{Owner: "o", Now: t0.Add(time.Duration(i) * time.Minute), Limits: []Limit{lim("w", "1", "1000", time.Hour), lim("g", "1", "1000", 0)}})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := s.Commit(ctx, id, Settlement{Open: true, OrderIDs: []string{"o" + string(id)}}); err != nil {
				t.Fatal(err)
			}
			open = append(open, id)
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 6000 {
		t.Fatalf("journal not compacted: %d bytes", info.Size())
	}
	s.Close()
	s, err = OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	// 23 in the window and on the gauge; closing the 12 open orders frees 12 gauge units.
	var ex *ExceededError
	if _, err := s.Reserve(ctx, &ReserveRequest{Now: t0.Add(30 * time.Minute), Limits: []Limit{lim("w", "978", "1000", time.Hour)}, DryRun: true}); !errors.As(err, &ex) || !ex.Used.Equal(dec("23")) {
		t.Fatalf("window: %v", err)
	}
	for _, id := range open {
		if err := s.CloseOrder(ctx, "o", "o"+string(id), dec("0")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Reserve(ctx, &ReserveRequest{Now: t0.Add(30 * time.Minute), Limits: []Limit{lim("g", "990", "1000", 0)}, DryRun: true}); !errors.As(err, &ex) || !ex.Used.Equal(dec("11")) {
		t.Fatalf("gauge: %v", err)
	}
	// Closed orders filled nothing: the window keeps only the 11 pending.
	if _, err := s.Reserve(ctx, &ReserveRequest{Now: t0.Add(30 * time.Minute), Limits: []Limit{lim("w", "989", "1000", time.Hour)}, DryRun: true}); err != nil {
		t.Fatalf("window after closes: %v", err)
	}
}

func TestKillSwitchSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j")
	s, err := OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, testPolicy, s)
	if err := f.guard.Trip(ctx, "halt"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f = newFixture(t, testPolicy, s)
	if _, rule := f.check(trade("main", limit("BTCUSDT", exchange.Buy, "100", "1"))); rule != RuleKillSwitch {
		t.Fatalf("rule %q after restart", rule)
	}
}

func TestFileStoreClosedRefuses(t *testing.T) {
	s, err := OpenFileStore(filepath.Join(t.TempDir(), "j"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Reserve(context.Background(), &ReserveRequest{Now: t0}); err == nil {
		t.Fatal("reserve on a closed store")
	}
}

// TestStoreLongWindow crosses entry blocks: thousands of reservations, some
// released, expiring one by one, across a reopen.
func TestStoreLongWindow(t *testing.T) {
	ctx := context.Background()
	storeKinds(t, func(t *testing.T, open func() Store) {
		s := open()
		const n = 3*blockSize + 17
		var ids []Ticket
		for i := range n {
			id, err := s.Reserve(ctx, &ReserveRequest{Owner: "o", Now: t0.Add(time.Duration(i) * time.Second), Limits: []Limit{lim("w", "1", "1000000", time.Hour)}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		// Release every third reservation.
		released := 0
		for i := 0; i < n; i += 3 {
			if err := s.Release(ctx, ids[i]); err != nil {
				t.Fatal(err)
			}
			released++
		}
		s = open()
		used := func(at time.Time) string {
			_, err := s.Reserve(ctx, &ReserveRequest{Now: at, DryRun: true, Limits: []Limit{lim("w", "1000000", "1000000", time.Hour)}})
			var ex *ExceededError
			if !errors.As(err, &ex) {
				if err == nil {
					return "0"
				}
				t.Fatal(err)
			}
			return ex.Used.String()
		}
		if got, want := used(t0.Add(n*time.Second)), n-released; got != fmt.Sprint(want) {
			t.Fatalf("used %s, want %d", got, want)
		}
		// At t0+1h+k seconds the first k+1 entries have left the window.
		for _, k := range []int{0, blockSize - 1, blockSize, 2*blockSize + 5} {
			gone := k + 1
			live := 0
			for i := gone; i < n; i++ {
				if i%3 != 0 {
					live++
				}
			}
			if got := used(t0.Add(time.Hour + time.Duration(k)*time.Second)); got != fmt.Sprint(live) {
				t.Fatalf("k=%d: used %s, want %d", k, got, live)
			}
		}
		// Committing a ticket whose entry expired is harmless.
		if err := s.Commit(ctx, ids[1], Settlement{Filled: dec("0")}); err != nil {
			t.Fatal(err)
		}
		if got := used(t0.Add(48 * time.Hour)); got != "0" {
			t.Fatalf("used %s after the window", got)
		}
	})
}

// TestCounterDrop: releasing the newest entry removes it, an older one is
// zeroed, and the window's blocks stay consistent either way.
func TestCounterDrop(t *testing.T) {
	c := &counter{key: "k", window: int64(DailyWindow)}
	one := units{lo: 1}
	var idx []uint64
	for i := range blockSize + 1 {
		idx = append(idx, c.push(entry{at: int64(i), amount: one}))
		c.sum = c.sum.add(one)
	}
	// The newest, alone in the second block: removed, leaving it empty.
	c.drop(idx[blockSize])
	if c.n != blockSize || len(c.blocks[1]) != 0 || c.sum != (units{lo: blockSize}) {
		t.Fatalf("after dropping the newest: n %d, last block %d, sum %v", c.n, len(c.blocks[1]), c.sum.decimal())
	}
	// The newest now ends a full block before the empty one: zeroed.
	c.drop(idx[blockSize-1])
	if c.n != blockSize || c.at(blockSize-1).amount != (units{}) || c.sum != (units{lo: blockSize - 1}) {
		t.Fatalf("after dropping the newest of a full block: n %d, sum %v", c.n, c.sum.decimal())
	}
	// An older entry: zeroed.
	c.drop(idx[3])
	if c.n != blockSize || c.entry(idx[3]).amount != (units{}) || c.sum != (units{lo: blockSize - 2}) {
		t.Fatalf("after dropping an older entry: n %d, sum %v", c.n, c.sum.decimal())
	}
	// Dropping twice changes nothing more.
	c.drop(idx[3])
	if c.sum != (units{lo: blockSize - 2}) {
		t.Fatalf("dropping twice: sum %v", c.sum.decimal())
	}
	// The next push fills the empty block and reuses the removed index.
	if i := c.push(entry{at: blockSize + 1, amount: one}); i != idx[blockSize] || c.entry(i).amount != one {
		t.Fatalf("push after drop: index %d, want %d", i, idx[blockSize])
	}
	c.sum = c.sum.add(one)
	c.drop(idx[blockSize])
	// The first block leaves the window: the rest is what remains.
	c.advance(blockSize + int64(DailyWindow))
	if c.base != blockSize || c.live() != 0 || !c.sum.isZero() {
		t.Fatalf("after the window rolled: base %d, live %d, sum %v", c.base, c.live(), c.sum.decimal())
	}
}
