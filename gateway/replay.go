package gateway

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// ReplayGuard decides whether a signed client request is seen for the
// first time. Admit records key until expires and reports whether the
// request may pass: false when key was admitted before and has not
// expired. An error refuses the request (fail closed). key is a SHA-256
// digest of the venue and of what identifies the signed request, never a
// signature or a secret.
//
// The default is a cache in the gateway's memory. Gateways that share
// their limit state share a ReplayGuard too (pgstore.Store implements
// it), so that a request captured on the wire is admitted by one of them
// only.
type ReplayGuard interface {
	Admit(ctx context.Context, key []byte, expires time.Time) (bool, error)
}

// replayCap bounds the signatures a venue remembers. Past it, new
// requests are refused until remembered ones expire (fail closed).
const replayCap = 1 << 20

// replayCache remembers the signatures of accepted requests until their
// window closes, so that a request sent twice within its window is
// refused the second time.
type replayCache struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	seen  map[string]time.Time // digest → when its window closes
	prune time.Time            // next sweep of expired entries
}

func newReplayCache(max int, now func() time.Time) *replayCache {
	return &replayCache{max: max, now: now, seen: make(map[string]time.Time)}
}

// Admit implements ReplayGuard by the gateway's clock: false also when the
// cache is full of unexpired keys.
func (c *replayCache) Admit(_ context.Context, key []byte, expires time.Time) (bool, error) {
	return c.admit(string(key), expires, c.now()), nil
}

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

// replayKey is the digest a ReplayGuard stores for a signed request of
// venue that id identifies (the client's key and its signature or nonce).
func replayKey(venue, id string) []byte {
	h := sha256.New()
	h.Write([]byte(venue))
	h.Write([]byte{0})
	h.Write([]byte(id))
	return h.Sum(nil)
}

// once admits a signed request that changes something once: nil when
// admitted, replayed() when seen before within its window, the venue's
// refusal of an undecidable guard when the ReplayGuard fails.
func (f *front) once(ctx context.Context, class exchange.Class, id string, expires time.Time, replayed func() *answer) *answer {
	ok, err := f.replays.Admit(ctx, replayKey(f.venue, id), expires)
	if err != nil {
		f.g.logger.Error("gateway: the replay guard failed; refusing", "venue", f.venue, "error", err.Error())
		return f.v.deny(class, denyMessage("store", fmt.Errorf("the replay check could not be made: %w", err)))
	}
	if !ok {
		return replayed()
	}
	return nil
}
