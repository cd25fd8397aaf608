package signer

import (
	"fmt"
	"log/slog"
	"sync"
)

// Redacted is what a Secret prints as, whatever the verb or encoder.
const Redacted = "[REDACTED]"

// Secret holds key material that must exist in process memory. It prints as
// [REDACTED] through every fmt verb, log/slog, encoding/json, encoding.Text
// and errors that wrap it, and Close overwrites its bytes with zeros.
//
// The zero value is an empty, closed secret. A Secret is safe for concurrent
// use; Close waits for calls to Use that are in progress.
type Secret struct {
	mu sync.RWMutex
	b  []byte
}

// NewSecret copies b into a new Secret. The caller should wipe b (see Wipe)
// when it no longer needs it.
func NewSecret(b []byte) *Secret {
	c := make([]byte, len(b))
	copy(c, b)
	return &Secret{b: c}
}

// Use calls f with the secret bytes. f must not retain or modify them. It
// returns ErrClosed after Close.
func (s *Secret) Use(f func(b []byte) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.b == nil {
		return ErrClosed
	}
	return f(s.b)
}

// Len returns the number of secret bytes (0 once closed).
func (s *Secret) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.b)
}

// Close wipes the secret bytes. It is safe to call more than once.
func (s *Secret) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	Wipe(s.b)
	s.b = nil
	return nil
}

// String returns [REDACTED].
func (s *Secret) String() string { return Redacted }

// GoString returns [REDACTED], for %#v.
func (s *Secret) GoString() string { return Redacted }

// Format prints [REDACTED] for every verb and flag.
func (s *Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue makes slog print [REDACTED].
func (s *Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON encodes the secret as the JSON string "[REDACTED]".
func (s *Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText encodes the secret as [REDACTED].
func (s *Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Wipe overwrites b with zeros.
func Wipe(b []byte) {
	clear(b)
}
