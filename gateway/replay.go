package gateway

import (
	"sync"
	"time"
)

// replayCap bounds the signatures a venue remembers. Past it, new
// requests are refused until remembered ones expire (fail closed).
const replayCap = 1 << 20

// replayCache remembers the signatures of accepted requests until their
// window closes, so that a request sent twice within its window is
// refused the second time.
type replayCache struct {
	mu    sync.Mutex
	max   int
	seen  map[string]time.Time // signature → when its window closes
	prune time.Time            // next sweep of expired entries
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[string]time.Time)}
}

// admit records key until expires and reports whether it may pass: false
// when key was admitted before and has not expired, or when the cache is
// full of unexpired keys.
func (c *replayCache) admit(key string, expires, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[key]; ok && now.Before(exp) {
		return false
	}
	if now.After(c.prune) || len(c.seen) >= c.max {
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
		c.prune = now.Add(time.Second)
	}
	if len(c.seen) >= c.max {
		return false
	}
	c.seen[key] = expires
	return true
}
