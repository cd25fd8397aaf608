package audit

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"

	"github.com/keyfence/keyfence/signer"
)

// macDomain opens the input of every record MAC, so that no other HMAC
// keyfence computes with the same key can be taken for one.
const macDomain = "keyfence-audit-mac-1"

// ErrMAC reports a record whose MAC is missing or wrong when the chain is
// checked with its key: the record was forged, or the chain rewritten by
// someone without the key. It comes wrapped in a *ChainError, so
// errors.Is(err, ErrBroken) holds too.
var ErrMAC = errors.New("audit: record MAC missing or wrong")

// MACKey names the key that keys a chain: an HMAC key held by a signer
// backend (a keystore entry of type hmac, an HMAC key in an HSM), which
// signs without ever handing the key out. With a key, every record carries
// MAC = HMAC-SHA256(key, "keyfence-audit-mac-1" || Hash); since Hash
// covers Prev, each MAC vouches for the whole chain up to its record.
// Someone who can rewrite the file but cannot use the key can no longer
// remove, insert or edit a record and re-chain the rest: the new hashes
// have no valid MACs. Cutting records from the end still leaves a valid
// chain; a Checkpoint (the head saved elsewhere, such as the limits
// state's audit head) detects that.
type MACKey struct {
	Signer signer.Signer
	Name   string
}

// macScratch holds the input and output of one MAC, so that a chain or a
// log computing MACs under its lock does not allocate them each time.
type macScratch struct {
	msg [len(macDomain) + len(Digest{})]byte
	out [64]byte
}

// sum returns the MAC of a record hash, using sc (nil: a new one).
func (k *MACKey) sum(ctx context.Context, hash *Digest, sc *macScratch) (Digest, error) {
	if sc == nil {
		sc = new(macScratch)
	}
	copy(sc.msg[:], macDomain)
	copy(sc.msg[len(macDomain):], hash[:])
	out, err := signer.AppendSign(ctx, k.Signer, sc.out[:0], k.Name, signer.HMACSHA256, sc.msg[:])
	if err != nil {
		return Digest{}, fmt.Errorf("audit: MAC key %q: %w", k.Name, err)
	}
	if len(out) != len(Digest{}) {
		return Digest{}, fmt.Errorf("audit: MAC key %q gave %d bytes, want an HMAC-SHA256", k.Name, len(out))
	}
	return Digest(out), nil
}

// check reports whether r carries the MAC of its hash.
func (k *MACKey) check(ctx context.Context, r *Record) (string, error) {
	if r.MAC.IsZero() {
		return "record has no MAC but the chain is keyed: it was written without the key or the MAC was stripped", nil
	}
	want, err := k.sum(ctx, &r.Hash, nil)
	if err != nil {
		return "", err
	}
	if !hmac.Equal(want[:], r.MAC[:]) {
		return "MAC does not match the record's hash under the key: the chain was rewritten without the key, or another key is in use", nil
	}
	return "", nil
}

// WithMACKey keys the log's chain with k (see MACKey): Append writes a MAC
// on every record, and Open checks the MAC of the last record (of every
// record, with VerifyOnOpen). A log must be keyed from its first record:
// Open refuses a log whose last record has no MAC.
func WithMACKey(k MACKey) Option {
	return func(c *config) { c.mac = &k }
}

// NewKeyedChain is NewChain for a chain keyed with k: Append sets each
// record's MAC as a Log opened WithMACKey does.
func NewKeyedChain(from Anchor, k MACKey) (*Chain, error) {
	c, err := NewChain(from)
	if err != nil {
		return nil, err
	}
	c.mac = &k
	return c, nil
}
