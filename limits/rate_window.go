package limits

import (
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// rateBucket is one limit: a fixed-window counter aligned to the venue's
// clock, with a slot per window that holds reservations (the current window
// and the future ones requests are waiting for).
type rateBucket struct {
	limit    RateLimit
	key      string // "REQUEST_WEIGHT:1m"
	label    string // "REQUEST_WEIGHT 1m", for errors
	interval int64  // nanoseconds
	capacity int    // admitted per window
	skew     int64  // nanoseconds
	smooth   float64
	slots    map[int64]*rateSlot // by window index
	cur      int64               // the window prune last saw
}

// rateSlot is one window of a bucket.
type rateSlot struct {
	// count is the window's count: what the guard reserved in it, raised by
	// the venue's reports (other processes on the same IP, or a restart).
	count int
	// edge is what requests within skew of the boundary at the window's
	// start reserved in both windows around it (see straddle).
	edge  int
	pacer *rate.Limiter // nil unless smoothing
}

// observe raises the count to what the venue reported.
func (s *rateSlot) observe(reported int) { s.count = max(s.count, reported) }

func newRateBucket(l RateLimit, capacity int, skew time.Duration, smooth float64) *rateBucket {
	key := l.Key()
	return &rateBucket{
		limit:    l,
		key:      key,
		label:    strings.Replace(key, ":", " ", 1),
		interval: int64(l.Interval),
		capacity: capacity,
		skew:     int64(skew),
		smooth:   smooth,
		slots:    make(map[int64]*rateSlot),
	}
}

// window is the index of the window holding t (nanoseconds since the epoch):
// windows start at whole multiples of the interval, as the venue's do (the
// minute at :00, the day at 00:00 UTC).
func (b *rateBucket) window(t int64) int64 {
	w := t / b.interval
	if t < 0 && t%b.interval != 0 {
		w--
	}
	return w
}

// usable returns the part of window w a request may leave in: skew after its
// start to skew before its end.
func (b *rateBucket) usable(w int64) (from, to int64) {
	start := w * b.interval
	return start + b.skew, start + b.interval - b.skew
}

// edge reports whether t is within skew of a boundary of its window, and
// the window on the boundary's other side, where the venue may count a
// request that leaves at t.
func (b *rateBucket) edge(t int64) (int64, bool) {
	w := b.window(t)
	from, to := b.usable(w)
	switch {
	case t < from:
		return w - 1, true
	case t > to:
		return w + 1, true
	}
	return 0, false
}

// straddle reports whether a request of n at t, within skew of the
// boundary between windows w and nb, may leave at once, counted in both:
// both have room, and what requests reserved in both around this boundary
// stays within a twentieth of the capacity, since it is counted twice and
// so may leave part of a window unused. A paced bucket (RateSmooth below 1)
// keeps requests off boundaries instead: its pacer belongs to one window.
func (b *rateBucket) straddle(w, nb int64, n int) bool {
	if b.smooth < 1 || b.used(w)+n > b.capacity || b.used(nb)+n > b.capacity {
		return false
	}
	edge := 0
	if s := b.slots[max(w, nb)]; s != nil {
		edge = s.edge
	}
	return edge+n <= max(1, b.capacity/20)
}

// slot returns window w's slot, creating it.
func (b *rateBucket) slot(w int64) *rateSlot {
	s := b.slots[w]
	if s == nil {
		s = &rateSlot{}
		if b.smooth < 1 {
			burst := max(1, int(b.smooth*float64(b.capacity)))
			spread := time.Duration(b.interval-2*b.skew) / 2
			s.pacer = rate.NewLimiter(rate.Limit(float64(b.capacity)/spread.Seconds()), burst)
		}
		b.slots[w] = s
	}
	return s
}

// used returns the count of window w.
func (b *rateBucket) used(w int64) int {
	if s := b.slots[w]; s != nil {
		return s.count
	}
	return 0
}

// prune forgets the windows before the one holding now, but for the one
// just before it.
func (b *rateBucket) prune(now int64) {
	cur := b.window(now)
	if cur == b.cur {
		return
	}
	b.cur = cur
	for w := range b.slots {
		if w < cur-1 { // the window before counts requests that straddle its end
			delete(b.slots, w)
		}
	}
}
