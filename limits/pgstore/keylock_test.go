package pgstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestKeyLocks(t *testing.T) {
	var k keyLocks
	ctx := context.Background()
	unlock, err := k.lock(ctx, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	// b is held: a caller that gives up takes nothing, not even a.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := k.lock(cctx, []string{"a0", "b"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("lock of a held key with a cancelled context: %v", err)
	}
	if u, err := k.lock(ctx, []string{"a0", "c"}); err != nil {
		t.Fatalf("a0 left held: %v", err)
	} else {
		u()
	}
	unlock()
	// Callers of overlapping sets never hold a key together.
	var inside [3]atomic.Int32
	var wg sync.WaitGroup
	sets := [][]string{{"a", "b"}, {"b", "c"}, {"a", "c"}, {"a", "b", "c"}}
	idx := map[string]int{"a": 0, "b": 1, "c": 2}
	for i := range 64 {
		wg.Go(func() {
			set := sets[i%len(sets)]
			for range 50 {
				u, err := k.lock(ctx, set)
				if err != nil {
					t.Error(err)
					return
				}
				for _, key := range set {
					if inside[idx[key]].Add(1) != 1 {
						t.Errorf("two callers hold %s", key)
					}
				}
				for _, key := range set {
					inside[idx[key]].Add(-1)
				}
				u()
			}
		})
	}
	wg.Wait()
	if len(k.m) != 0 {
		t.Fatalf("%d locks left in the map", len(k.m))
	}
}
