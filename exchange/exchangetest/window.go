package exchangetest

import "time"

// window counts usage in fixed windows aligned to multiples of its interval
// since the Unix epoch, as Binance's limits do: a one-minute window runs
// from hh:mm:00 to hh:mm+1:00 whatever time the first request came. It is
// not safe for concurrent use; its owner locks.
type window struct {
	interval time.Duration
	limit    int
	start    int64 // Unix milliseconds
	used     int
}

// roll starts a new window when now has left the current one.
func (w *window) roll(now time.Time) {
	ms := now.UnixMilli()
	iv := w.interval.Milliseconds()
	if iv <= 0 {
		iv = 1
	}
	start := ms - ms%iv
	if ms < 0 && ms%iv != 0 {
		start -= iv
	}
	if start != w.start {
		w.start, w.used = start, 0
	}
}

// end returns when the current window ends.
func (w *window) end() time.Time {
	return time.UnixMilli(w.start + w.interval.Milliseconds())
}

// retryAfter returns the whole seconds from now to the end of the window,
// rounded up, at least 1.
func (w *window) retryAfter(now time.Time) int {
	d := w.end().Sub(now)
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
