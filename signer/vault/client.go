package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/keyfence/keyfence/signer"
)

// client speaks Vault's HTTP API: JSON bodies, the token in X-Vault-Token,
// the namespace in X-Vault-Namespace, errors as {"errors": [...]}.
type client struct {
	addr      *url.URL
	namespace string
	http      *http.Client
	approle   *AppRole

	mu    sync.Mutex
	token *signer.Secret
}

// maxResponse bounds what is read of an answer.
const maxResponse = 1 << 20

// do sends a request to path (below /v1/) with body (nil for GET) and
// decodes the answer's JSON into out. A 403 with AppRole configured logs in
// again once and retries.
func (c *client) do(ctx context.Context, op, method, path string, body, out any) error {
	err := c.once(ctx, op, method, path, body, out)
	var e *Error
	if c.approle != nil && errors.As(err, &e) && e.Status == http.StatusForbidden {
		if lerr := c.login(ctx); lerr != nil {
			return lerr
		}
		err = c.once(ctx, op, method, path, body, out)
	}
	return err
}

func (c *client) once(ctx context.Context, op, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := c.addr.JoinPath("v1", path)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("vault: %s: %w", op, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.namespace != "" {
		req.Header.Set("X-Vault-Namespace", c.namespace)
	}
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	if tok != nil {
		_ = tok.Use(func(t []byte) error { req.Header.Set("X-Vault-Token", string(t)); return nil })
	}
	req.Header.Set("X-Vault-Request", "true")
	resp, err := c.http.Do(req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("vault: %s: %w", op, cerr)
		}
		return &Error{Op: op, Retryable: true, Err: fmt.Errorf("%w: %w", signer.ErrUnavailable, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("vault: %s: %w", op, cerr)
		}
		return &Error{Op: op, Status: resp.StatusCode, Retryable: true, Err: fmt.Errorf("%w: %w", signer.ErrUnavailable, err)}
	}
	if resp.StatusCode/100 != 2 {
		return apiError(op, resp.StatusCode, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("vault: %s: the answer is not the JSON expected", op)
	}
	return nil
}

// login exchanges the AppRole credentials for a token.
func (c *client) login(ctx context.Context) error {
	a := c.approle
	var secret string
	if err := a.SecretID.Use(func(b []byte) error { secret = string(b); return nil }); err != nil {
		return fmt.Errorf("vault: AppRole login: the secret ID is closed")
	}
	var out struct {
		Auth *struct {
			ClientToken string `json:"client_token"`
		} `json:"auth"`
	}
	mount := a.Mount
	if mount == "" {
		mount = "approle"
	}
	err := c.once(ctx, "AppRole login", http.MethodPost, "auth/"+mount+"/login",
		map[string]string{"role_id": a.RoleID, "secret_id": secret}, &out)
	if err != nil {
		return err
	}
	if out.Auth == nil || out.Auth.ClientToken == "" {
		return errors.New("vault: AppRole login answered no client token")
	}
	tok := signer.NewSecret([]byte(out.Auth.ClientToken))
	c.mu.Lock()
	old := c.token
	c.token = tok
	c.mu.Unlock()
	old.Close()
	return nil
}

func (c *client) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token.Close()
	c.token = nil
}

// Error is a failed Vault request: the operation, the HTTP status and
// Vault's messages. It matches the signer sentinel in Err.
type Error struct {
	Op        string
	Status    int
	Messages  []string // Vault's "errors", which never hold a secret of ours
	Retryable bool
	Err       error
}

func (e *Error) Error() string {
	s := "vault: " + e.Op
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if len(e.Messages) > 0 {
		s += ": " + strings.Join(e.Messages, "; ")
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	switch {
	case errors.Is(e.Err, signer.ErrAccessDenied):
		s += ": check the token or AppRole and its policy on the transit paths"
	case errors.Is(e.Err, signer.ErrKeyNotFound):
		s += ": check the mount and the key name"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// apiError maps an error answer to the signer sentinels.
func apiError(op string, status int, body []byte) error {
	var eb struct {
		Errors []string `json:"errors"`
	}
	_ = json.Unmarshal(body, &eb)
	msgs := eb.Errors
	if len(msgs) > 4 {
		msgs = msgs[:4]
	}
	for i, m := range msgs {
		if len(m) > 300 {
			msgs[i] = m[:300] + "..."
		}
	}
	e := &Error{Op: op, Status: status, Messages: msgs}
	text := strings.ToLower(strings.Join(msgs, " "))
	switch {
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		e.Err = signer.ErrAccessDenied
	case status == http.StatusNotFound || strings.Contains(text, "not found"):
		e.Err = signer.ErrKeyNotFound
	case status == http.StatusTooManyRequests:
		e.Err, e.Retryable = ErrThrottled, true
	case status >= 500:
		e.Err, e.Retryable = signer.ErrUnavailable, true
	case strings.Contains(text, "minimum") && strings.Contains(text, "version"):
		e.Err = signer.ErrKeyDisabled
	case strings.Contains(text, "does not support") || strings.Contains(text, "not supported"):
		e.Err = signer.ErrWrongAlgorithm
	default:
		e.Err = errors.New("request refused")
	}
	return e
}

// ErrThrottled: Vault answered 429 (a rate limit quota). It is retryable
// and matches signer.ErrUnavailable.
var ErrThrottled error = &throttled{}

type throttled struct{}

func (*throttled) Error() string        { return "vault: rate limited (HTTP 429)" }
func (*throttled) Is(target error) bool { return target == signer.ErrUnavailable }
