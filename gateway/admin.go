package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/keyfence/keyfence/internal/unixsock"
	"github.com/keyfence/keyfence/limits"
)

// AdminConfig configures the admin API.
type AdminConfig struct {
	// LoadPolicy reads the policy for a reload (the file the gateway was
	// started with). Nil: reloads are refused.
	LoadPolicy func() (*limits.Policy, error)
	// CredentialVenue returns the venue of a venue credential, so that a
	// client added through the admin API gets the credential's venue.
	CredentialVenue func(ctx context.Context, credential string) (string, error)
}

// AdminHandler returns the admin API, JSON over HTTP, meant for a Unix
// socket from ListenAdmin:
//
//	GET    /v1/status              kill switch; per credential: clients, open orders, caps used, last decisions
//	GET    /v1/killswitch          the kill switch (limits.ControlHandler: a limits.KillSwitchStatus)
//	POST   /v1/killswitch/trip     {"reason": "..."}: orders are refused from the next request on
//	POST   /v1/killswitch/reset    the switch and the counters behind its automatic triggers
//	GET    /v1/clients             the client credentials (no secrets)
//	POST   /v1/clients             {"name", "credential", "public_key"}: the new credential, shown once
//	DELETE /v1/clients/{name}      revoke: refused from the next request on
//	POST   /v1/policy/reload       validate the policy file and put it in force; a bad one keeps the old
//	POST   /v1/reconcile           reconcile every connected venue credential now
//
// Errors answer {"error": "..."} with a 4xx or 5xx status.
func (g *Gateway) AdminHandler(cfg AdminConfig) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, g.Status(r.Context()))
	})
	// The kill switch: the library's control API (limits.ControlHandler),
	// acting on the guard in force.
	ctl := limits.ControlHandler(g, g.logger)
	for _, p := range []string{"GET /v1/killswitch", "POST /v1/killswitch/trip", "POST /v1/killswitch/reset"} {
		mux.Handle(p, ctl)
	}
	mux.HandleFunc("GET /v1/clients", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, g.cfg.Clients.List())
	})
	mux.HandleFunc("POST /v1/clients", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name       string `json:"name"`
			Credential string `json:"credential"`
			PublicKey  string `json:"public_key"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		if cfg.CredentialVenue == nil {
			writeError(w, http.StatusNotImplemented, errors.New("this gateway cannot add clients; use keyfence gateway client add --keystore"))
			return
		}
		venue, err := cfg.CredentialVenue(r.Context(), in.Credential)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		if _, ok := g.fronts[venue]; !ok {
			writeError(w, http.StatusBadRequest, fmt.Errorf("credential %q is for %s, which this gateway does not front; start it with --upstream %s=URL", in.Credential, venue, venue))
			return
		}
		var opts IssueOptions
		if in.PublicKey != "" {
			opts.PublicKey = []byte(in.PublicKey)
		}
		cl, out, err := NewClient(in.Name, venue, in.Credential, opts)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		if err := g.cfg.Clients.Add(cl); err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrClientExists) {
				status = http.StatusConflict
			}
			writeError(w, status, err)
			return
		}
		g.logger.Info("gateway: client added", slog.String("client", cl.Name), slog.String("credential", cl.Credential))
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE /v1/clients/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := g.cfg.Clients.Remove(name); err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, ErrNoClient) {
				status = http.StatusNotFound
			}
			writeError(w, status, err)
			return
		}
		g.logger.Warn("gateway: client removed", slog.String("client", name))
		writeJSON(w, http.StatusOK, map[string]string{"removed": name})
	})
	mux.HandleFunc("POST /v1/policy/reload", func(w http.ResponseWriter, r *http.Request) {
		if cfg.LoadPolicy == nil {
			writeError(w, http.StatusNotImplemented, errors.New("this gateway has no policy file to reload"))
			return
		}
		p, err := cfg.LoadPolicy()
		if err == nil {
			err = g.ReloadPolicy(p)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("policy not reloaded, the previous one stays in force: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"policy": "reloaded"})
	})
	mux.HandleFunc("POST /v1/reconcile", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, g.Reconcile(r.Context()))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": oneLine(err.Error())})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return true
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("the request body is not the JSON object this call takes: %w", err))
		return false
	}
	return true
}

// ListenAdmin listens on a Unix socket at path for the admin API, mode
// 0600, replacing a stale socket file (never another kind of file). Each
// accepted connection's peer is checked with SO_PEERCRED: only the
// gateway's own uid and the uids listed may connect; others are closed at
// once (internal/unixsock).
func ListenAdmin(path string, uids ...int) (net.Listener, error) {
	return unixsock.Listen(path, uids...)
}
