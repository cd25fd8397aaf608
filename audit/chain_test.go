package audit_test

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
)

// TestChainMatchesLog: a Chain gives every record the Seq, Prev and Hash
// a Log writes for it, across policy changes and a record that needs
// normalizing, and verifies as the Log's file does.
func TestChainMatchesLog(t *testing.T) {
	ctx := context.Background()
	path, l := openLog(t)
	var c audit.Chain
	clock := fixedClock()
	for i := range 12 {
		r := record(i)
		r.Time = clock()
		if i%4 == 3 {
			r.PolicySHA256 = audit.Digest{31: byte(i)} // the policy changes, and back
		}
		if i == 5 {
			r.Reason = "bad \xff byte" // normalized to U+FFFD by both
		}
		inLog, inChain := *r, *r
		if err := l.Append(ctx, &inLog); err != nil {
			t.Fatal(err)
		}
		if err := c.Append(ctx, &inChain); err != nil {
			t.Fatal(err)
		}
		if inChain != inLog {
			t.Fatalf("record %d: chain %+v, log %+v", i, inChain, inLog)
		}
		if h, err := inChain.ComputeHash(); err != nil || h != inChain.Hash {
			t.Fatalf("record %d: ComputeHash = %s, %v; chain set %s", i, h, err, inChain.Hash)
		}
	}
	if c.Head() != l.Head() {
		t.Errorf("chain head %+v, log head %+v", c.Head(), l.Head())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyFiles(ctx, path); err != nil {
		t.Fatalf("the log the chain matched does not verify: %v", err)
	}
}

func TestNewChainContinues(t *testing.T) {
	ctx := context.Background()
	var first audit.Chain
	for i := range 3 {
		if err := first.Append(ctx, record(i)); err != nil {
			t.Fatal(err)
		}
	}
	head := first.Head()
	next, err := audit.NewChain(head)
	if err != nil {
		t.Fatal(err)
	}
	a, b := record(3), record(3)
	if err := first.Append(ctx, a); err != nil {
		t.Fatal(err)
	}
	b.Time = a.Time
	if err := next.Append(ctx, b); err != nil {
		t.Fatal(err)
	}
	if *a != *b || b.Seq != head.Seq+1 || b.Prev != head.Hash {
		t.Errorf("continued chain gave %+v, the original %+v", b, a)
	}
	for _, bad := range []audit.Anchor{{Seq: 3}, {Seq: 1}} {
		if _, err := audit.NewChain(bad); !errors.Is(err, audit.ErrInvalidRecord) {
			t.Errorf("NewChain(%+v) = %v, want ErrInvalidRecord: a record without a hash", bad, err)
		}
	}
	// The zero Anchor starts a new chain, as the zero Chain does.
	fresh, err := audit.NewChain(audit.Anchor{})
	if err != nil {
		t.Fatal(err)
	}
	r, want := record(0), record(0)
	r.Time, want.Time = epoch, epoch
	var zero audit.Chain
	if err := fresh.Append(ctx, r); err != nil || zero.Append(ctx, want) != nil || *r != *want || !r.Prev.IsZero() {
		t.Errorf("NewChain(Anchor{}) gave %+v (%v), the zero Chain %+v", r, err, want)
	}
}

func TestChainRefusalLeavesItUnchanged(t *testing.T) {
	ctx := context.Background()
	var c audit.Chain
	if err := c.Append(ctx, record(0)); err != nil {
		t.Fatal(err)
	}
	head := c.Head()
	for name, spoil := range map[string]func(r *audit.Record){
		"decision": func(r *audit.Record) { r.Decision = "maybe" },
		"year":     func(r *audit.Record) { r.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		bad := record(1)
		spoil(bad)
		before := *bad
		if err := c.Append(ctx, bad); !errors.Is(err, audit.ErrInvalidRecord) {
			t.Fatalf("Append with a bad %s = %v, want ErrInvalidRecord", name, err)
		}
		if c.Head() != head || *bad != before {
			t.Errorf("refused append moved the chain to %+v or changed the record to %+v", c.Head(), bad)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Append(cancelled, record(2)); !errors.Is(err, context.Canceled) || c.Head() != head {
		t.Errorf("Append with a cancelled context = %v, head %+v", err, c.Head())
	}
}

func TestChainConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	var c audit.Chain
	const n = 64
	recs := make([]*audit.Record, n)
	var wg sync.WaitGroup
	for i := range n {
		recs[i] = record(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Append(ctx, recs[i]); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	sort.Slice(recs, func(i, j int) bool { return recs[i].Seq < recs[j].Seq })
	var prev audit.Digest
	for i, r := range recs {
		h, err := r.ComputeHash()
		if r.Seq != uint64(i+1) || r.Prev != prev || err != nil || h != r.Hash {
			t.Fatalf("record %d of the chain: %+v (hash %s, %v)", i, r, h, err)
		}
		prev = r.Hash
	}
}
