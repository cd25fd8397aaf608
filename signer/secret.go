package signer

import (
	"fmt"
	"log/slog"
	"sync"
)

// Redacted is what a Secret prints as, whatever the verb or encoder.
const Redacted = "[REDACTED]"

// Secret holds key material that must exist in process memory. It prints as
// [REDACTED] through every fmt verb and flag, log/slog, encoding/json,
// encoding.TextMarshaler and errors that wrap it, and Close overwrites its
// bytes with zeros.
//
// The bytes live behind a pointer, so a Secret copied by value, or embedded
// by value in another struct, shares them and still prints as [REDACTED].
//
// The zero value is an empty, closed secret. A Secret is safe for concurrent
// use; Close waits for calls to Use that are in progress.
type Secret struct {
	s *secretState
}

type secretState struct {
	mu sync.RWMutex
	b  []byte // nil once closed
}

// NewSecret copies b into a new Secret. The caller should wipe b (see Wipe)
// when it no longer needs it.
func NewSecret(b []byte) *Secret {
	c := make([]byte, len(b))
	copy(c, b)
	return &Secret{s: &secretState{b: c}}
}

// Use calls f with the secret bytes and returns what f returns. f must not
// retain or modify the bytes. Use returns ErrClosed after Close.
func (s *Secret) Use(f func(b []byte) error) error {
	if s == nil || s.s == nil {
		return ErrClosed
	}
	s.s.mu.RLock()
	defer s.s.mu.RUnlock()
	if s.s.b == nil {
		return ErrClosed
	}
	return f(s.s.b)
}

// Len returns the number of secret bytes (0 once closed).
func (s *Secret) Len() int {
	if s == nil || s.s == nil {
		return 0
	}
	s.s.mu.RLock()
	defer s.s.mu.RUnlock()
	return len(s.s.b)
}

// Close wipes the secret bytes. It waits for calls to Use in progress and
// is safe to call more than once.
func (s *Secret) Close() error {
	if s == nil || s.s == nil {
		return nil
	}
	s.s.mu.Lock()
	defer s.s.mu.Unlock()
	Wipe(s.s.b)
	s.s.b = nil
	return nil
}

// The formatting methods have value receivers so that a Secret held by
// value redacts too; none of them reads the bytes.

// String returns [REDACTED].
func (Secret) String() string { return Redacted }

// GoString returns [REDACTED], for %#v.
func (Secret) GoString() string { return Redacted }

// Format prints [REDACTED] for every verb and flag.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue makes log/slog print [REDACTED].
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON encodes the secret as the JSON string "[REDACTED]".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText encodes the secret as [REDACTED].
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Wipe overwrites b with zeros.
func Wipe(b []byte) {
	clear(b)
}
