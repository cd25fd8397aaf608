package exchange_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

func TestDoSendsExactly(t *testing.T) {
	type seen struct {
		method, uri, ctype string
		key                []string
		body               []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Header.Get("Content-Type"), r.Header.Values("X-Mbx-Apikey"), b}
		w.Header().Set("X-Mbx-Used-Weight-1m", "7")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, `{"code":-1003}`)
	}))
	defer srv.Close()

	w := &exchange.Wire{
		Method: "POST", Path: "/api/v3/order", Query: "symbol=BTCUSDT&q=%2B1&signature=abc",
		Header: exchange.Header{{Name: "X-Mbx-Apikey", Value: "key-1"}, {Name: "Content-Type", Value: "application/x-www-form-urlencoded"}},
		Body:   []byte("newClientOrderId=%EF%BC%91&a=b"),
	}
	resp, err := exchange.Do(context.Background(), exchange.NewHTTPClient(), srv.URL+"/", w)
	if err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.method != "POST" || s.uri != "/api/v3/order?symbol=BTCUSDT&q=%2B1&signature=abc" {
		t.Errorf("server saw %s %s", s.method, s.uri)
	}
	if len(s.key) != 1 || s.key[0] != "key-1" || s.ctype != "application/x-www-form-urlencoded" {
		t.Errorf("server saw key %q content type %q", s.key, s.ctype)
	}
	if !bytes.Equal(s.body, w.Body) {
		t.Errorf("server saw body %q, want %q", s.body, w.Body)
	}
	if resp.Status != http.StatusTeapot || string(resp.Body) != `{"code":-1003}` || resp.Header.Get("X-Mbx-Used-Weight-1m") != "7" {
		t.Errorf("response = %d %q %v", resp.Status, resp.Body, resp.Header)
	}
	// Do copies the header: the wire is not changed by the transport.
	if len(w.Header) != 2 {
		t.Errorf("wire header changed: %v", w.Header)
	}
}

func TestDoWithoutBody(t *testing.T) {
	got := make(chan int64, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.ContentLength
	}))
	defer srv.Close()
	resp, err := exchange.Do(context.Background(), exchange.NewHTTPClient(), srv.URL, &exchange.Wire{Method: "GET", Path: "/api/v3/time"})
	if err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != 0 || resp.Status != 200 {
		t.Errorf("content length %d status %d", n, resp.Status)
	}
}

// A venue that does not answer before the deadline may still have acted on
// the request: the outcome is unknown.
func TestDoTimeoutIsOutcomeUnknown(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := exchange.Do(ctx, exchange.NewHTTPClient(), srv.URL, &exchange.Wire{Method: "POST", Path: "/api/v3/order", Query: "a=1"})
	if !errors.Is(err, exchange.ErrOutcomeUnknown) {
		t.Fatalf("Do = %v, want ErrOutcomeUnknown", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do = %v, want it to wrap the context's error too", err)
	}
	select {
	case <-arrived:
	default:
		t.Error("the request never reached the server")
	}
}

// A connection the venue breaks after reading the request: unknown.
func TestDoBrokenAnswerIsOutcomeUnknown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	defer srv.Close()
	_, err := exchange.Do(context.Background(), exchange.NewHTTPClient(), srv.URL, &exchange.Wire{Method: "POST", Path: "/api/v3/order"})
	if !errors.Is(err, exchange.ErrOutcomeUnknown) {
		t.Fatalf("Do = %v, want ErrOutcomeUnknown", err)
	}
}

// A request that cannot connect never left: its outcome is known.
func TestDoCannotConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	_, err = exchange.Do(context.Background(), exchange.NewHTTPClient(), "http://"+addr, &exchange.Wire{Method: "POST", Path: "/api/v3/order"})
	if err == nil {
		t.Fatal("Do to a closed port: no error")
	}
	if errors.Is(err, exchange.ErrOutcomeUnknown) {
		t.Errorf("Do = %v: a refused connection must not wrap ErrOutcomeUnknown", err)
	}
	if !strings.Contains(err.Error(), "cannot connect") || !errors.Is(err, exchange.ErrNotSent) {
		t.Errorf("Do = %v, want ErrNotSent saying it cannot connect", err)
	}
}

// An https URL on a plain-HTTP port, or a server whose certificate is not
// trusted, fails in the TLS handshake: nothing was sent, and the error says
// what to fix instead of calling the outcome unknown.
func TestDoTLSFailureIsNotSent(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the plain server received %s %s", r.Method, r.URL.Path)
	}))
	defer plain.Close()
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the untrusted server received %s %s", r.Method, r.URL.Path)
	}))
	defer untrusted.Close()
	for _, c := range []struct{ base, want string }{
		{"https://" + strings.TrimPrefix(plain.URL, "http://"), "plain HTTP; use http://"},
		{untrusted.URL, "TLS handshake failed"},
	} {
		_, err := exchange.Do(context.Background(), exchange.NewHTTPClient(), c.base, &exchange.Wire{Method: "POST", Path: "/api/v3/order"})
		if !errors.Is(err, exchange.ErrNotSent) || errors.Is(err, exchange.ErrOutcomeUnknown) {
			t.Errorf("Do(%s) = %v, want ErrNotSent and not ErrOutcomeUnknown", c.base, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Do(%s) = %v, want it to say %q", c.base, err, c.want)
		}
	}
}

func TestDoBadRequest(t *testing.T) {
	_, err := exchange.Do(context.Background(), exchange.NewHTTPClient(), "http://127.0.0.1:1", &exchange.Wire{Method: "BAD METHOD", Path: "/"})
	if err == nil || errors.Is(err, exchange.ErrOutcomeUnknown) {
		t.Fatalf("Do = %v, want an error that is not ErrOutcomeUnknown", err)
	}
}

// An answer larger than the bound is cut at it, without an error.
func TestDoBoundsTheAnswer(t *testing.T) {
	const limit = 16 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range 17 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	// What is measured is the bound, not the speed: under -race on a
	// loaded machine reading 17 MiB can outlast DefaultTimeout, so the
	// client's whole-exchange timeout is lifted and the test's own
	// deadline bounds the read.
	c := exchange.NewHTTPClient()
	c.Timeout = 0
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	resp, err := exchange.Do(ctx, c, srv.URL, &exchange.Wire{Method: "GET", Path: "/big"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Body) != limit {
		t.Errorf("read %d bytes, want the bound %d", len(resp.Body), limit)
	}
}

// A signed request goes where it was checked, and nowhere else: a redirect
// is returned as the answer, not followed with the key's headers.
func TestDoDoesNotFollowRedirects(t *testing.T) {
	elsewhere := make(chan string, 1)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere <- r.Header.Get("X-Mbx-Apikey")
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	for _, c := range []*http.Client{exchange.NewHTTPClient(), {}} {
		resp, err := exchange.Do(context.Background(), c, srv.URL, &exchange.Wire{Method: "POST", Path: "/api/v3/order",
			Header: exchange.Header{{Name: "X-Mbx-Apikey", Value: "key-1"}}, Body: []byte("a=1")})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != http.StatusTemporaryRedirect {
			t.Errorf("status %d, want the redirect itself", resp.Status)
		}
		select {
		case key := <-elsewhere:
			t.Errorf("the request followed the redirect, carrying API key %q", key)
		default:
		}
	}
}

func TestNewHTTPClient(t *testing.T) {
	c := exchange.NewHTTPClient()
	if c == http.DefaultClient {
		t.Fatal("NewHTTPClient returned http.DefaultClient")
	}
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport is %T, want *http.Transport", c.Transport)
	}
	if tr == http.DefaultTransport {
		t.Error("shares http.DefaultTransport")
	}
	if c2 := exchange.NewHTTPClient(); c2 == c || c2.Transport == c.Transport {
		t.Error("two clients share a transport")
	}
	if tr.TLSClientConfig != nil && tr.TLSClientConfig.InsecureSkipVerify {
		t.Error("TLS verification is off")
	}
	if c.Timeout <= 0 || tr.TLSHandshakeTimeout <= 0 || tr.ResponseHeaderTimeout <= 0 {
		t.Errorf("unbounded: client timeout %v, TLS %v, header %v", c.Timeout, tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout)
	}
	if c.Timeout != exchange.DefaultTimeout {
		t.Errorf("client timeout %v, want DefaultTimeout", c.Timeout)
	}
	if c.Jar != nil {
		t.Error("client keeps cookies")
	}
}

// A TLS server with a certificate nobody trusts is refused.
func TestNewHTTPClientVerifiesTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is expected
	srv.StartTLS()
	defer srv.Close()
	_, err := exchange.Do(context.Background(), exchange.NewHTTPClient(), srv.URL, &exchange.Wire{Method: "GET", Path: "/"})
	if err == nil {
		t.Fatal("Do trusted a self-signed certificate")
	}
}
