package limits

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// staticPrices is a lock-free in-memory price source for benchmarks.
type staticPrices map[string]exchange.Quote

func (p staticPrices) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	return p[symbol], nil
}

// benchGuard returns a guard over a 50-symbol policy with band and notional
// caps, its clock fixed so quotes stay fresh.
func benchGuard(b *testing.B, store Store) (*Guard, []*exchange.Intent) {
	b.Helper()
	var y strings.Builder
	y.WriteString("version: 1\ncredentials:\n  bot:\n    venue: binance\n    order_types: [LIMIT, LIMIT_MAKER]\n    max_open_orders: 1000000\n    price_band: \"2%\"\n    quotes:\n      USDT: {max_order_notional: \"100000\", max_daily_notional: \"1000000000000\"}\n    symbols:\n")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prices := staticPrices{}
	var intents []*exchange.Intent
	for i := range 50 {
		sym := fmt.Sprintf("C%02dUSDT", i)
		fmt.Fprintf(&y, "      %s: {max_order_notional: \"5000\", max_daily_notional: \"10000000000\"}\n", sym)
		prices[sym] = exchange.Quote{Symbol: sym, Bid: decimal.RequireFromString("99.5"), Ask: decimal.RequireFromString("100"), At: now}
		intents = append(intents, trade("bot", exchange.Order{Symbol: sym, Side: exchange.Buy, Type: exchange.Limit,
			Price: decimal.RequireFromString("100.5"), Quantity: decimal.RequireFromString("0.25")}))
	}
	p, err := ParsePolicy([]byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	g, err := NewGuard(p, store, WithPrices("binance", prices), WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	return g, intents
}

// settle commits every other reservation as filled at once and releases
// the others, so the caps never fill but every path is exercised.
var benchOrderIDs = []string{"x"}

func settle(b *testing.B, ctx context.Context, res exchange.Reservation, i int) {
	var err error
	if i%2 == 0 {
		err = res.Commit(ctx, exchange.Outcome{OrderIDs: benchOrderIDs})
	} else {
		err = res.Release(ctx, nil)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGuardCheck: an allowed limit order (band check, per-order caps,
// reservation on two rolling windows and the open-order gauge), then its
// settlement; MemoryStore.
func BenchmarkGuardCheck(b *testing.B) { benchCheck(b, settle) }

// BenchmarkGuardCheckRelease: an allowed limit order, then its release
// without a cause, as an Authorizer does when the request is not sent;
// MemoryStore.
func BenchmarkGuardCheckRelease(b *testing.B) {
	benchCheck(b, func(b *testing.B, ctx context.Context, res exchange.Reservation, _ int) {
		if err := res.Release(ctx, nil); err != nil {
			b.Fatal(err)
		}
	})
}

// benchCheck runs Check over the benchmark's intents and settles each
// reservation with done.
func benchCheck(b *testing.B, done func(*testing.B, context.Context, exchange.Reservation, int)) {
	g, intents := benchGuard(b, NewMemoryStore())
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	cpu := processCPU()
	defer func() { reportCPU(b, cpu) }()
	for b.Loop() {
		res, err := g.Check(ctx, intents[i%len(intents)])
		if err != nil {
			b.Fatal(err)
		}
		done(b, ctx, res, i)
		i++
	}
}

// BenchmarkGuardCheckParallel: the same from 64 goroutines.
func BenchmarkGuardCheckParallel(b *testing.B) {
	g, intents := benchGuard(b, NewMemoryStore())
	ctx := context.Background()
	b.ReportAllocs()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((64 + procs - 1) / procs) // 64 goroutines
	var n atomic.Int64
	cpu := processCPU()
	defer func() { reportCPU(b, cpu) }()
	b.RunParallel(func(pb *testing.PB) {
		i := int(n.Add(1))
		for pb.Next() {
			res, err := g.Check(ctx, intents[i%len(intents)])
			if err != nil {
				b.Fatal(err)
			}
			settle(b, ctx, res, i)
			i++
		}
	})
}

// BenchmarkFileStoreReserve: reservations per second a FileStore sustains
// (each written and fsynced), then released.
func BenchmarkFileStoreReserve(b *testing.B) {
	s, err := OpenFileStore(filepath.Join(b.TempDir(), "j"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	req := &ReserveRequest{Owner: "bot", Now: now, Limits: []Limit{
		{Key: "bot\x00symbol\x00BTCUSDT", Amount: decimal.NewFromInt(100), Cap: decimal.NewFromInt(1e15), Window: DailyWindow},
		{Key: "bot\x00quote\x00USDT", Amount: decimal.NewFromInt(100), Cap: decimal.NewFromInt(1e15), Window: DailyWindow},
		{Key: "bot\x00open", Amount: decimal.NewFromInt(1), Cap: decimal.NewFromInt(1e9)},
	}}
	b.ReportAllocs()
	cpu := processCPU()
	defer func() { reportCPU(b, cpu) }()
	for b.Loop() {
		if _, err := s.Reserve(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
