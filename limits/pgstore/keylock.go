package pgstore

import (
	"context"
	"sync"
)

// keyLocks serialises, within one process, the transactions that lock the
// same counters, so that the database sees at most one waiter per counter
// from each process instead of every caller at once (many backends waiting
// on one row lock are all woken at each commit). The database's row locks
// stay what makes a reservation atomic; these only queue callers in front
// of them.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sem  chan struct{}
	refs int
}

// lock takes the locks of keys, which must be sorted and distinct, in
// order, and returns the function that releases them. It gives up with the
// context's error.
func (k *keyLocks) lock(ctx context.Context, keys []string) (func(), error) {
	held := make([]*keyLock, 0, len(keys))
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	ls := make([]*keyLock, len(keys))
	for i, key := range keys {
		l := k.m[key]
		if l == nil {
			l = &keyLock{sem: make(chan struct{}, 1)}
			k.m[key] = l
		}
		l.refs++
		ls[i] = l
	}
	k.mu.Unlock()
	release := func() {
		for _, l := range held {
			<-l.sem
		}
		k.mu.Lock()
		for i, l := range ls {
			if l.refs--; l.refs == 0 {
				delete(k.m, keys[i])
			}
		}
		k.mu.Unlock()
	}
	for _, l := range ls {
		select {
		case l.sem <- struct{}{}:
			held = append(held, l)
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}
