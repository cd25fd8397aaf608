//go:build cgo

package pkcs11

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
)

// BackendName is the KeyInfo.Backend of every key this package serves.
const BackendName = "pkcs11"

// DefaultMaxSessions is the session pool size when Config.MaxSessions is 0.
const DefaultMaxSessions = 8

// Config says which token to open and how.
type Config struct {
	// Module is the path of the PKCS#11 library, for example
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// Token is the label of the token (CK_TOKEN_INFO.label).
	Token string
	// Serial, if set, must match the token's serial number too; it tells
	// apart tokens that share a label.
	Serial string
	// PIN is the user PIN. Open copies it; the caller may close its Secret
	// once Open returns.
	PIN *signer.Secret
	// MaxSessions bounds the sessions open at once, and so the signatures
	// in flight; 0 means DefaultMaxSessions.
	MaxSessions int
	// Logger receives session and key events, never secrets; nil discards.
	Logger *slog.Logger
}

// Backend is a signer.Signer and signer.Lister over the keys of one
// PKCS#11 token. It is safe for concurrent use.
type Backend struct {
	mod   *module
	slot  uint
	token URI // identifies the token in the URIs the backend returns
	pool  *pool
	pin   *signer.Secret
	log   *slog.Logger

	life   sync.RWMutex // held for reading by every operation, for writing by Close
	closed bool

	mu   sync.RWMutex
	keys map[string]*key // by name, which is the object's CKA_LABEL

	writeMu sync.Mutex // serialises Import, Generate and Delete
}

// Open loads the module, finds the token by label and logs in with the user
// PIN. Close releases the sessions and, with the last backend using it, the
// module.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: no token label: set Config.Token or the URI's token", ErrTokenNotFound)
	}
	if cfg.PIN == nil || cfg.PIN.Len() == 0 {
		return nil, fmt.Errorf("%w: no user PIN given", ErrLogin)
	}
	if cfg.MaxSessions < 0 {
		return nil, fmt.Errorf("pkcs11: Config.MaxSessions is negative")
	}
	max := cmp.Or(cfg.MaxSessions, DefaultMaxSessions)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var pin *signer.Secret
	if err := cfg.PIN.Use(func(p []byte) error { pin = signer.NewSecret(p); return nil }); err != nil {
		return nil, fmt.Errorf("%w: the PIN secret is closed", ErrLogin)
	}
	mod, err := loadModule(cfg.Module)
	if err != nil {
		pin.Close()
		return nil, err
	}
	slot, err := findToken(mod.ctx, cfg.Token, cfg.Serial)
	if err == nil {
		var p *pool
		p, err = newPool(mod.ctx, slot, pin, max, log)
		if err == nil {
			b := &Backend{
				mod:   mod,
				slot:  slot,
				token: URI{Token: cfg.Token, Serial: cfg.Serial, ModulePath: cfg.Module},
				pool:  p,
				pin:   pin,
				log:   log,
				keys:  make(map[string]*key),
			}
			log.Debug("pkcs11: opened token", "token", cfg.Token, "slot", slot)
			return b, nil
		}
	}
	pin.Close()
	mod.release()
	return nil, err
}

// OpenURI opens the token a PKCS#11 URI names (token, serial, module-path)
// with the user PIN. The URI's object, if any, is not looked up here: use
// Register or Sign for that.
func OpenURI(ctx context.Context, uri *URI, pin *signer.Secret) (*Backend, error) {
	return Open(ctx, Config{Module: uri.ModulePath, Token: uri.Token, Serial: uri.Serial, PIN: pin})
}

func findToken(p11 *pkcs11.Ctx, label, serial string) (uint, error) {
	slots, err := p11.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("%w: list slots: %w", ErrModule, err)
	}
	var match []uint
	for _, s := range slots {
		ti, err := p11.GetTokenInfo(s)
		if err != nil || ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		if ti.Label == label && (serial == "" || ti.SerialNumber == serial) {
			match = append(match, s)
		}
	}
	switch len(match) {
	case 0:
		return 0, ErrTokenNotFound
	case 1:
		return match[0], nil
	}
	return 0, fmt.Errorf("%w: %d tokens have this label; set the serial to choose one", ErrTokenNotFound, len(match))
}

// Close logs out by closing every session of this backend and releases the
// module. Calls in flight finish first; later calls fail with
// signer.ErrClosed. Keys stay on the token.
func (b *Backend) Close() error {
	b.life.Lock()
	defer b.life.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.pool.close()
	b.pin.Close()
	b.mod.release()
	b.mu.Lock()
	b.keys = nil
	b.mu.Unlock()
	return nil
}

// begin starts an operation; the caller must call b.life.RUnlock after a
// nil error.
func (b *Backend) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.life.RLock()
	if b.closed {
		b.life.RUnlock()
		return signer.ErrClosed
	}
	return nil
}

// withSession runs f on a pooled session.
func (b *Backend) withSession(ctx context.Context, f func(s pkcs11.SessionHandle) error) error {
	s, err := b.pool.get(ctx)
	if err != nil {
		return err
	}
	err = f(s)
	b.pool.put(s, err)
	return err
}

var (
	_ signer.Signer = (*Backend)(nil)
	_ signer.Lister = (*Backend)(nil)
)
