package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/keyfence/keyfence/limits"
)

// adminTimeout bounds one call to a control or admin socket.
const adminTimeout = 10 * time.Second

// adminCall sends one JSON request to the API served on the Unix socket at
// sock (a guard's control socket or the gateway's admin socket) and decodes
// the answer into out. An error answer's message is returned as the error.
func adminCall(ctx context.Context, sock, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://keyfence"+path, body)
	if err != nil {
		return err
	}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("socket %s: %w (is the guard or gateway running, and is this its socket?)", sock, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("socket %s: reading the answer: %w", sock, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("socket %s: %s", sock, e.Error)
		}
		return fmt.Errorf("socket %s: %s %s answered HTTP %d", sock, method, path, resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("socket %s: the answer is not what %s %s returns: %w", sock, method, path, err)
	}
	return nil
}

// controlKillSwitch runs a killswitch operation (status, trip, reset)
// through a control or admin socket.
func controlKillSwitch(ctx context.Context, sock, op, reason string) (limits.KillSwitchStatus, error) {
	var st limits.KillSwitchStatus
	var err error
	switch op {
	case "status":
		err = adminCall(ctx, sock, http.MethodGet, "/v1/killswitch", nil, &st)
	case "trip":
		err = adminCall(ctx, sock, http.MethodPost, "/v1/killswitch/trip", map[string]string{"reason": reason}, &st)
	case "reset":
		err = adminCall(ctx, sock, http.MethodPost, "/v1/killswitch/reset", nil, &st)
	default:
		err = fmt.Errorf("unknown kill switch operation %q", op)
	}
	return st, err
}
