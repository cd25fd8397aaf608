package audit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Chain is a hash chain kept in memory: Append numbers a record, links it
// to the record before and sets its Hash, as a Log does before it writes
// the line, and stores nothing. Use it where decisions need a chain but
// no file: tests, benchmarks, a dry run. Record Head somewhere to keep
// what the chain proves.
//
// The zero Chain starts a new chain; NewChain continues one from an
// Anchor. A Chain is safe for concurrent use.
type Chain struct {
	mu   sync.Mutex
	head Anchor
	mac  *MACKey // keyed chains (NewKeyedChain)
	sc   macScratch
}

// NewChain returns a Chain whose next record follows the record at from
// (Seq 0 and the zero Hash: a new chain). It fails, wrapping
// ErrInvalidRecord, if from names a record (Seq above 0) without a hash.
func NewChain(from Anchor) (*Chain, error) {
	if from.Seq != 0 && from.Hash.IsZero() {
		return nil, fmt.Errorf("%w: anchor of record %d has no hash; pass the Hash of that record", ErrInvalidRecord, from.Seq)
	}
	return &Chain{head: from}, nil
}

// Append links r into the chain: it sets r.Seq, r.Prev and r.Hash (and
// r.Time, if zero, to the current time), after normalizing r as a Log
// does, so that r's hash is the one the Log would compute. On error r is
// unchanged and the chain did not move.
func (c *Chain) Append(ctx context.Context, r *Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := *r
	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}
	if err := rec.normalize(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rec.Seq, rec.Prev = c.head.Seq+1, c.head.Hash
	hash, err := hashRecord(&rec)
	if err != nil {
		return err
	}
	if c.mac != nil {
		if rec.MAC, err = c.mac.sum(ctx, &hash, &c.sc); err != nil {
			return err
		}
	}
	rec.Hash = hash
	c.head = Anchor{Seq: rec.Seq, Hash: hash}
	*r = rec
	return nil
}

// Head returns the last record's Seq and Hash (Seq 0 before the first).
func (c *Chain) Head() Anchor {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.head
}
