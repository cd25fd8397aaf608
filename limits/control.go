package limits

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/keyfence/keyfence/internal/unixsock"
)

// ControlSocket returns where a guard whose state is in the file at
// statePath serves its control API: the state's path plus ".ctl". The
// CLI's killswitch command finds a running bot's guard there.
func ControlSocket(statePath string) string { return statePath + ".ctl" }

// KillSwitchStatus is the control API's answer: the kill switch's state.
type KillSwitchStatus struct {
	Tripped bool      `json:"tripped"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at,omitzero"`
}

// Controlled is what the control API acts on: a Guard, or whatever holds
// the guard in force (the gateway's, which a policy reload replaces), so
// that the library's control socket and the gateway's admin API serve the
// kill switch through one implementation.
type Controlled interface {
	Trip(ctx context.Context, reason string) error
	Reset(ctx context.Context) error
	KillSwitchStatus(ctx context.Context) (KillSwitchStatus, error)
}

// KillSwitchStatus reads the kill switch from the guard's store.
func (g *Guard) KillSwitchStatus(ctx context.Context) (KillSwitchStatus, error) {
	ks, err := g.store.KillSwitch(ctx)
	if err != nil {
		return KillSwitchStatus{}, fmt.Errorf("limits: reading the kill switch: %w", err)
	}
	return KillSwitchStatus{Tripped: ks.Tripped, Reason: ks.Reason, At: ks.At}, nil
}

// ControlHandler returns the control API of c (a Guard), JSON over HTTP,
// meant for a Unix socket (see ServeControl):
//
//	GET  /v1/killswitch          the kill switch
//	POST /v1/killswitch/trip     {"reason": "..."}: trades are refused from the next request on
//	POST /v1/killswitch/reset    the switch and the counters behind its automatic triggers
//
// Every answer is a KillSwitchStatus; an error answers {"error": "..."}
// with a 4xx or 5xx status. The gateway's admin API serves these paths
// with this handler.
func ControlHandler(c Controlled, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	status := func(w http.ResponseWriter, r *http.Request) {
		st, err := c.KillSwitchStatus(r.Context())
		if err != nil {
			controlError(w, http.StatusServiceUnavailable, err)
			return
		}
		controlJSON(w, http.StatusOK, st)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/killswitch", status)
	mux.HandleFunc("POST /v1/killswitch/trip", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Reason string `json:"reason"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil && !errors.Is(err, io.EOF) {
			controlError(w, http.StatusBadRequest, fmt.Errorf("the body is not {\"reason\": \"...\"}: %w", err))
			return
		}
		if in.Reason == "" {
			in.Reason = "tripped through the control socket"
		}
		if err := c.Trip(r.Context(), in.Reason); err != nil {
			controlError(w, http.StatusInternalServerError, err)
			return
		}
		logger.LogAttrs(r.Context(), slog.LevelWarn, "limits: kill switch tripped through the control socket", slog.String("reason", in.Reason))
		status(w, r)
	})
	mux.HandleFunc("POST /v1/killswitch/reset", func(w http.ResponseWriter, r *http.Request) {
		if err := c.Reset(r.Context()); err != nil {
			controlError(w, http.StatusInternalServerError, err)
			return
		}
		logger.LogAttrs(r.Context(), slog.LevelWarn, "limits: kill switch reset through the control socket")
		status(w, r)
	})
	return mux
}

func controlJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func controlError(w http.ResponseWriter, code int, err error) {
	controlJSON(w, code, map[string]string{"error": err.Error()})
}

// ControlServer serves a guard's control API on a Unix socket.
type ControlServer struct {
	srv  *http.Server
	l    net.Listener
	done chan struct{}
}

// ServeControl serves g's control API (ControlHandler) on a Unix socket at
// path, mode 0600, to this process's user only (the peer's uid is checked
// where the system tells it). A library bot serves it at
// ControlSocket(statePath), so that an operator can trip its kill switch
// from outside, at once and without stopping it:
//
//	keyfence killswitch trip --state limits.state --reason "..."
//
// Close it when the guard stops.
func ServeControl(path string, g *Guard, logger *slog.Logger) (*ControlServer, error) {
	l, err := unixsock.Listen(path)
	if err != nil {
		return nil, fmt.Errorf("limits: control socket: %w", err)
	}
	cs := &ControlServer{
		srv:  &http.Server{Handler: ControlHandler(g, logger), ReadHeaderTimeout: 5 * time.Second},
		l:    l,
		done: make(chan struct{}),
	}
	go func() {
		defer close(cs.done)
		_ = cs.srv.Serve(l)
	}()
	return cs, nil
}

// Addr returns the socket's path.
func (cs *ControlServer) Addr() string { return cs.l.Addr().String() }

// Close stops serving, waits for requests in flight until ctx is done, and
// removes the socket.
func (cs *ControlServer) Close(ctx context.Context) error {
	err := cs.srv.Shutdown(ctx)
	<-cs.done
	return err
}

// ResetKillSwitch resets the kill switch kept in store and the denial
// counter behind its automatic trigger, for a tool that has no policy at
// hand. A Guard's Reset also clears each credential's rejection counter;
// without it, a credential's count goes on from where it was until its
// next accepted order.
func ResetKillSwitch(ctx context.Context, store Store) error {
	if err := store.Reset(ctx); err != nil {
		return fmt.Errorf("limits: resetting the kill switch: %w", err)
	}
	if err := store.ClearStrikes(ctx, denialKey); err != nil {
		return fmt.Errorf("limits: resetting the kill switch: %w", err)
	}
	return nil
}
