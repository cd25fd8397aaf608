//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"unsafe"

	"github.com/keyfence/keyfence/signer"
	"github.com/miekg/pkcs11"
)

// pool hands out PKCS#11 sessions, one goroutine per session at a time: a
// session is not safe for concurrent use, and one operation (SignInit, Sign)
// spans several calls on it. It opens sessions on demand up to max and
// keeps them open; a session that fails in a way that leaves it unusable is
// closed instead of returned.
//
// An anchor session, outside the pool, stays open for the pool's lifetime:
// PKCS#11 login state belongs to the application and ends when its last
// session on the token closes, so the anchor keeps the user logged in while
// pooled sessions come and go.
type pool struct {
	ctx    *pkcs11.Ctx
	slot   uint
	pin    *signer.Secret
	log    *slog.Logger
	anchor pkcs11.SessionHandle

	idle  chan pkcs11.SessionHandle // sessions ready for use
	slots chan struct{}             // one token per open pooled session

	mu     sync.Mutex
	closed bool
}

func newPool(p11 *pkcs11.Ctx, slot uint, pin *signer.Secret, max int, log *slog.Logger) (*pool, error) {
	p := &pool{
		ctx:   p11,
		slot:  slot,
		pin:   pin,
		log:   log,
		idle:  make(chan pkcs11.SessionHandle, max),
		slots: make(chan struct{}, max),
	}
	s, err := p.open()
	if err != nil {
		return nil, err
	}
	p.anchor = s
	// Verify the login now, not at the first signature.
	if err := p.login(s); err != nil {
		_ = p11.CloseSession(s)
		return nil, err
	}
	return p, nil
}

func (p *pool) open() (pkcs11.SessionHandle, error) {
	s, err := p.ctx.OpenSession(p.slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return 0, fmt.Errorf("pkcs11: open session: %w", err)
	}
	return s, nil
}

// login logs the user in through s unless the application is logged in
// already. The PIN reaches the library without a copy on the Go heap.
func (p *pool) login(s pkcs11.SessionHandle) error {
	info, err := p.ctx.GetSessionInfo(s)
	if err != nil {
		return fmt.Errorf("pkcs11: session info: %w", err)
	}
	if info.State == pkcs11.CKS_RW_USER_FUNCTIONS || info.State == pkcs11.CKS_RO_USER_FUNCTIONS {
		return nil
	}
	err = p.pin.Use(func(b []byte) error {
		if len(b) == 0 {
			return fmt.Errorf("%w: the PIN is empty", ErrLogin)
		}
		return p.ctx.Login(s, pkcs11.CKU_USER, unsafe.String(&b[0], len(b)))
	})
	switch {
	case err == nil, rv(err) == pkcs11.CKR_USER_ALREADY_LOGGED_IN:
		return nil
	case errors.Is(err, ErrLogin), errors.Is(err, signer.ErrClosed):
		return err
	case rv(err) == pkcs11.CKR_PIN_INCORRECT, rv(err) == pkcs11.CKR_PIN_LEN_RANGE, rv(err) == pkcs11.CKR_PIN_INVALID:
		return fmt.Errorf("%w: check the user PIN (%w)", ErrLogin, err)
	case rv(err) == pkcs11.CKR_PIN_LOCKED:
		return fmt.Errorf("%w: the PIN is locked; the security officer must reset it (%w)", ErrLogin, err)
	}
	return fmt.Errorf("%w: %w", ErrLogin, err)
}

// get returns a logged-in session for the caller's exclusive use, waiting
// for one to be free if max sessions are busy.
func (p *pool) get(ctx context.Context) (pkcs11.SessionHandle, error) {
	select {
	case s := <-p.idle:
		return s, nil
	default:
	}
	select {
	case s := <-p.idle:
		return s, nil
	case p.slots <- struct{}{}:
		s, err := p.open()
		if err == nil {
			err = p.login(s)
			if err != nil {
				_ = p.ctx.CloseSession(s)
			}
		}
		if err != nil {
			<-p.slots
			return 0, err
		}
		p.log.Debug("pkcs11: opened session", "open", len(p.slots))
		return s, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// put returns s to the pool; if err shows the session is unusable, or the
// pool is closed, it closes s instead.
func (p *pool) put(s pkcs11.SessionHandle, err error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed || staleSession(err) {
		if !closed {
			p.log.Warn("pkcs11: discarding session", "err", err)
		}
		_ = p.ctx.CloseSession(s)
		<-p.slots
		return
	}
	p.idle <- s // never blocks: at most cap(idle) sessions exist
}

// close closes the idle sessions and the anchor. The caller ensures that no
// session is in use.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case s := <-p.idle:
			_ = p.ctx.CloseSession(s)
			<-p.slots
		default:
			_ = p.ctx.CloseSession(p.anchor)
			return
		}
	}
}
