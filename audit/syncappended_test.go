package audit

import (
	"context"
	"sync"
	"testing"
)

// TestSyncThroughGroupCommit appends to a NoSync log from many goroutines,
// each waiting with SyncThrough for its record: every record is on disk
// (DurableHead reaches the head) and the log verifies.
func TestSyncThroughGroupCommit(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/audit.jsonl"
	l, err := Open(ctx, path, NoSync())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 8 {
				if err := l.Append(ctx, &Record{Credential: "c", Venue: "v", Route: "r", Decision: Allow, Intent: string(rune('a'+i)) + string(rune('a'+j))}); err != nil {
					t.Error(err)
					return
				}
				if err := l.SyncThrough(l.Appended()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if l.synced != l.written || l.written != 128 {
		t.Fatalf("synced %d of %d records; want 128 of 128", l.synced, l.written)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.SyncThrough(128); err != nil {
		t.Fatalf("SyncThrough after Close with nothing pending: %v", err)
	}
	if _, err := VerifyFiles(ctx, path); err != nil {
		t.Fatal(err)
	}
}
