package audit_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
)

func benchAppend(b *testing.B, opt audit.Option) {
	_, l := openLog(b, opt)
	ctx := context.Background()
	r := record(1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := *r
		if err := l.Append(ctx, &rec); err != nil {
			b.Fatal(err)
		}
	}
}

func benchAppendParallel(b *testing.B, opt audit.Option) {
	_, l := openLog(b, opt)
	r := record(1)
	b.ReportAllocs()
	b.SetParallelism(8) // 8 appenders per CPU, as concurrent requests of a bot
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			rec := *r
			if err := l.Append(ctx, &rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAppendSync measures Append with SyncEvery, the default: one
// fsync per record.
func BenchmarkAppendSync(b *testing.B) { benchAppend(b, audit.SyncEvery()) }

// BenchmarkAppendInterval measures Append with a background fsync every
// 100ms.
func BenchmarkAppendInterval(b *testing.B) { benchAppend(b, audit.SyncInterval(100*time.Millisecond)) }

// BenchmarkAppendNoSync measures Append without fsync.
func BenchmarkAppendNoSync(b *testing.B) { benchAppend(b, audit.NoSync()) }

// BenchmarkAppendSyncParallel measures SyncEvery with concurrent
// appenders, which share fsyncs.
func BenchmarkAppendSyncParallel(b *testing.B) { benchAppendParallel(b, audit.SyncEvery()) }

func BenchmarkAppendNoSyncParallel(b *testing.B) { benchAppendParallel(b, audit.NoSync()) }

// BenchmarkVerify measures verification throughput.
func BenchmarkVerify(b *testing.B) {
	path, l := openLog(b, audit.NoSync())
	appendN(b, l, 0, 10000)
	l.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := audit.Verify(context.Background(), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
