package exchange

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// DefaultTimeout bounds one HTTP exchange with a venue when the context has
// no earlier deadline.
const DefaultTimeout = 10 * time.Second

// maxBody bounds what is read of a venue's answer.
const maxBody = 16 << 20

// NewHTTPClient returns an http.Client of its own for venue traffic: a
// cloned default transport (TLS verification on), bounded dial, TLS and
// header timeouts, no redirects followed, and no shared state with
// http.DefaultClient.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	t.ResponseHeaderTimeout = DefaultTimeout
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t, Timeout: DefaultTimeout, CheckRedirect: noRedirects}
}

// noRedirects makes a client return a redirect as the answer: a signed
// request goes to the venue it was checked for and nowhere else, and its
// key headers never reach the host a redirect names.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Response is a venue's answer, read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a wire request to base and reads the answer. A failure after the
// request may have reached the venue (a timeout or a broken connection while
// waiting for the answer) wraps ErrOutcomeUnknown, because the venue may
// have acted on it. Do never follows a redirect, whatever the client's
// CheckRedirect says: a 3xx answer is returned as it is.
func Do(ctx context.Context, c *http.Client, base string, w *Wire) (*Response, error) {
	if c == nil || w == nil {
		return nil, errors.New("exchange: Do needs an http.Client and a Wire")
	}
	var body io.Reader
	if w.Body != nil {
		body = bytes.NewReader(w.Body)
	}
	req, err := http.NewRequestWithContext(ctx, w.Method, w.URL(base), body)
	if err != nil {
		return nil, fmt.Errorf("exchange: building request: %w", err)
	}
	for _, f := range w.Header {
		req.Header.Add(f.Name, f.Value)
	}
	nc := *c
	nc.CheckRedirect = noRedirects
	resp, err := nc.Do(req)
	if err != nil {
		if ue := (*net.OpError)(nil); errors.As(err, &ue) && ue.Op == "dial" {
			return nil, fmt.Errorf("%w: %s %s: cannot connect: %w", ErrNotSent, w.Method, w.Path, err)
		}
		if errors.Is(err, http.ErrSchemeMismatch) {
			return nil, fmt.Errorf("%w: %s %s: the URL says https but the server answers plain HTTP; use http:// or the server's TLS port", ErrNotSent, w.Method, w.Path)
		}
		if isTLSFailure(err) {
			return nil, fmt.Errorf("%w: %s %s: TLS handshake failed (check the URL's host and port and the server's certificate): %w", ErrNotSent, w.Method, w.Path, err)
		}
		return nil, fmt.Errorf("%w: %s %s: %w", ErrOutcomeUnknown, w.Method, w.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: reading answer: %w", ErrOutcomeUnknown, w.Method, w.Path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// isTLSFailure reports whether err is a failure of the TLS handshake, which
// happens before a byte of the request is sent.
func isTLSFailure(err error) bool {
	var (
		rh    tls.RecordHeaderError
		alert tls.AlertError
		cv    *tls.CertificateVerificationError
		ua    x509.UnknownAuthorityError
		hn    x509.HostnameError
		ci    x509.CertificateInvalidError
	)
	return errors.As(err, &rh) || errors.As(err, &alert) || errors.As(err, &cv) ||
		errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}
