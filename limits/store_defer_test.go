package limits

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestFileStoreDeferSync reserves from many goroutines on a DeferSync
// store, each waiting with SyncThrough for its record as the gateway does, across
// compactions: every reservation is durable and counted after a reopen.
func TestFileStoreDeferSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.state")
	s, err := OpenFileStore(path, DeferSync(), CompactEvery(7))
	if err != nil {
		t.Fatal(err)
	}
	limit := func(n int64) []Limit {
		return []Limit{{Key: "daily", Amount: decimal.NewFromInt(n), Cap: decimal.NewFromInt(1000), Window: DailyWindow}}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := s.Reserve(context.Background(), &ReserveRequest{Owner: "bot", Now: time.Now(), Limits: limit(1)}); err != nil {
					t.Error(err)
					return
				}
				if err := s.SyncThrough(s.Appended()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	s.mu.Lock()
	synced, written := s.synced, s.written
	s.mu.Unlock()
	if synced != written {
		t.Fatalf("%d of %d records synced after every SyncThrough returned", synced, written)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Reserve(context.Background(), &ReserveRequest{Now: time.Now(), DryRun: true, Limits: limit(1000)})
	var ex *ExceededError
	if !errors.As(err, &ex) || !ex.Used.Equal(decimal.NewFromInt(80)) {
		t.Fatalf("after reopening: %v; want 80 reserved", err)
	}
	if err := s.SyncThrough(s.Appended()); err != nil {
		t.Fatalf("SyncThrough without DeferSync: %v", err)
	}
}
