package audit

import (
	"log/slog"
	"time"
)

// DefaultMaxSize is the size at which a Log rotates its file unless
// WithMaxSize says otherwise.
const DefaultMaxSize = 64 << 20

// An Option configures Open.
type Option func(*config)

type syncMode int

const (
	syncEvery syncMode = iota
	syncInterval
	syncNone
)

type config struct {
	sync     syncMode
	interval time.Duration
	maxSize  int64
	now      func() time.Time
	logger   *slog.Logger
	repair   bool
	verify   bool
	mac      *MACKey

	// Test hooks.
	wrap func(file) file
	tick <-chan time.Time
}

func defaultConfig() config {
	return config{
		sync:    syncEvery,
		maxSize: DefaultMaxSize,
		now:     time.Now,
		logger:  slog.Default(),
	}
}

// SyncEvery makes Append fsync the file before it returns, so a record
// Append accepted survives a crash or power loss. It is the default.
func SyncEvery() Option {
	return func(c *config) { c.sync, c.interval = syncEvery, 0 }
}

// SyncInterval makes Append return once the record is written to the
// operating system, and fsyncs the file every d in the background (and on
// Sync, rotation and Close). A crash of the machine (not of the process)
// can lose the records of the last d. A non-positive d means SyncEvery.
func SyncInterval(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.sync, c.interval = syncEvery, 0
			return
		}
		c.sync, c.interval = syncInterval, d
	}
}

// NoSync leaves flushing to the operating system, except on Sync, rotation
// and Close. It is meant for tests and throwaway logs, not for a security
// log.
func NoSync() Option {
	return func(c *config) { c.sync, c.interval = syncNone, 0 }
}

// WithMaxSize sets the size in bytes beyond which the log rotates to a new
// file. A non-positive n disables rotation.
func WithMaxSize(n int64) Option {
	return func(c *config) { c.maxSize = n }
}

// WithClock sets the clock that stamps records appended with a zero Time.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithLogger sets the logger for background sync failures and repairs.
// The default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// RepairTornTail lets Open cut an incomplete last line (one without its
// newline, left by a crash in the middle of a write) from the active file
// instead of failing. The cut bytes are logged as a count, never as
// content. Every complete line is still checked as without this option.
func RepairTornTail() Option {
	return func(c *config) { c.repair = true }
}

// VerifyOnOpen makes Open verify every file of the log (see Files), not
// only its last record, before appending to it. The chain must start at
// record 1 unless the oldest rotated file present is not path.000001
// (older files archived), in which case it may start anywhere.
func VerifyOnOpen() Option {
	return func(c *config) { c.verify = true }
}
