package exchange

import (
	"context"
	"sync/atomic"
	"time"
)

// ClockOffset is a venue's clock as a client knows it: the local clock
// plus the measured offset of the venue's (server time minus local time).
// Timestamps of signed requests are taken on it. The zero ClockOffset is
// the local clock. A ClockOffset is safe for concurrent use.
type ClockOffset struct {
	ns atomic.Int64
}

// Now returns the venue's time.
func (o *ClockOffset) Now() time.Time { return time.Now().Add(o.Load()) }

// Load returns the offset: server time minus local time.
func (o *ClockOffset) Load() time.Duration { return time.Duration(o.ns.Load()) }

// Store sets the offset.
func (o *ClockOffset) Store(d time.Duration) { o.ns.Store(int64(d)) }

// Sync measures the offset: it reads the venue's time with serverTime and
// takes it as the time at the middle of the round trip. A failure of
// serverTime is returned as it is and leaves the offset unchanged.
func (o *ClockOffset) Sync(ctx context.Context, serverTime func(ctx context.Context) (time.Time, error)) error {
	t0 := time.Now()
	st, err := serverTime(ctx)
	if err != nil {
		return err
	}
	t1 := time.Now()
	o.Store(st.Sub(t0.Add(t1.Sub(t0) / 2)))
	return nil
}
