package pgstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/limits/pgstore"
)

// BenchmarkReserveSettle reserves one order as the guard does (the
// symbol's and the quote's rolling notional, one open-order slot) and
// settles it as filled, on the FileStore (the baseline) and on PostgreSQL,
// by 1 caller and by 64 callers at once, the 64 on one credential or on
// 64. ns/op is the inverse of the throughput; lat-us is the mean time one
// caller waits for a reserve and its commit. Every PostgreSQL caller has a
// connection of its own.
func BenchmarkReserveSettle(b *testing.B) {
	for _, store := range []string{"file", "postgres"} {
		for _, c := range []struct{ callers, creds int }{{1, 1}, {64, 1}, {64, 64}} {
			b.Run(fmt.Sprintf("store=%s/callers=%d/creds=%d", store, c.callers, c.creds), func(b *testing.B) {
				var s limits.Store
				if store == "file" {
					fs, err := limits.OpenFileStore(filepath.Join(b.TempDir(), "limits.journal"))
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { fs.Close() })
					s = fs
				} else {
					testURL(b)
					s = openStore(b, newSchema(b), pgstore.WithMaxConns(int32(c.callers)))
				}
				benchReserveSettle(b, s, c.callers, c.creds)
			})
		}
	}
}

func benchReserveSettle(b *testing.B, s limits.Store, callers, creds int) {
	ctx := context.Background()
	amount, capv := decimal.NewFromInt(100), decimal.NewFromInt(1e15)
	reqs := make([]limits.ReserveRequest, creds)
	for i := range reqs {
		cred := fmt.Sprintf("bot%d", i)
		reqs[i] = limits.ReserveRequest{Owner: cred, Limits: []limits.Limit{
			{Key: cred + "\x00symbol\x00BTCUSDT", Amount: amount, Cap: capv, Window: limits.DailyWindow},
			{Key: cred + "\x00quote\x00USDT", Amount: amount, Cap: capv, Window: limits.DailyWindow},
			{Key: cred + "\x00open", Amount: decimal.NewFromInt(1), Cap: capv},
		}}
	}
	var waited atomic.Int64 // nanoseconds callers spent in the store
	op := func(req limits.ReserveRequest) {
		start := time.Now()
		req.Now = start
		t, err := s.Reserve(ctx, &req)
		if err != nil {
			b.Error(err)
			return
		}
		if err := s.Commit(ctx, t, limits.Settlement{Filled: amount}); err != nil {
			b.Error(err)
		}
		waited.Add(int64(time.Since(start)))
	}
	// Warm the pools and create the counters.
	for i := range reqs {
		op(reqs[i])
	}
	waited.Store(0)
	b.ResetTimer()
	start := time.Now()
	if callers == 1 {
		for range b.N {
			op(reqs[0])
		}
	} else {
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((callers + procs - 1) / procs)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			req := reqs[int(next.Add(1)-1)%len(reqs)]
			for pb.Next() {
				op(req)
			}
		})
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "ops/s")
	b.ReportMetric(float64(waited.Load())/float64(b.N)/1e3, "lat-us")
}
