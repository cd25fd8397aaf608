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

// prune forgets the windows before the one holding now.
func (b *rateBucket) prune(now int64) {
	cur := b.window(now)
	if cur == b.cur {
		return
	}
	b.cur = cur
	for w := range b.slots {
		if w < cur {
			delete(b.slots, w)
		}
	}
}
