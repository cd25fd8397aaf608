package exchangetest

import (
	"net/http"
	"strconv"
	"time"
)

// KuCoin's pools and their quota windows: a fixed 30-second window that
// starts at the first request counted in it.
const kcPoolWindow = 30 * time.Second

const (
	kcPoolSpot       = "spot"
	kcPoolManagement = "management"
	kcPoolPublic     = "public"
)

// kcWindow is one pool's window for one account or address.
type kcWindow struct {
	start time.Time
	used  int
}

func (k *KuCoin) poolLimit(pool string) int {
	switch pool {
	case kcPoolSpot:
		return k.pools.Spot
	case kcPoolManagement:
		return k.pools.Management
	}
	return k.pools.Public
}

// spend counts weight in pool for who (an account or an address), sets
// the gw-ratelimit-* headers and refuses with 429000 when the window's
// quota would be exceeded (a refused request is not counted).
func (k *KuCoin) spend(pool, who string, weight int, h http.Header) *kcError {
	now := k.now()
	limit := k.poolLimit(pool)
	k.mu.Lock()
	defer k.mu.Unlock()
	w := k.rl[pool+"|"+who]
	if w == nil || !now.Before(w.start.Add(kcPoolWindow)) {
		w = &kcWindow{start: now}
		k.rl[pool+"|"+who] = w
	}
	over := w.used+weight > limit
	if !over {
		w.used += weight
	}
	h.Set("gw-ratelimit-limit", strconv.Itoa(limit))
	h.Set("gw-ratelimit-remaining", strconv.Itoa(max(limit-w.used, 0)))
	h.Set("gw-ratelimit-reset", strconv.FormatInt(w.start.Add(kcPoolWindow).Sub(now).Milliseconds(), 10))
	if over {
		return &kcError{http.StatusTooManyRequests, "429000", "Too Many Requests"}
	}
	return nil
}
