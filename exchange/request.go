package exchange

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Param is one request parameter.
type Param struct {
	Key, Value string
}

// Params is an ordered parameter list. Order matters: several venues sign the
// encoded parameters exactly as sent, so they are never sorted behind the
// caller's back.
type Params []Param

// Get returns the first value of key and whether it is present.
func (p Params) Get(key string) (string, bool) {
	for _, kv := range p {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// Has reports whether key is present.
func (p Params) Has(key string) bool {
	_, ok := p.Get(key)
	return ok
}

// Count returns how many times key occurs.
func (p Params) Count(key string) int {
	n := 0
	for _, kv := range p {
		if kv.Key == key {
			n++
		}
	}
	return n
}

// Encode percent-encodes the parameters in order as key=value pairs joined
// by '&' (application/x-www-form-urlencoded, non-ASCII as UTF-8 bytes):
// each key and value as url.QueryEscape escapes it.
func (p Params) Encode() string {
	var stack [256]byte
	return string(p.AppendEncoded(stack[:0]))
}

// AppendEncoded appends the parameters to dst encoded as Encode encodes
// them, and returns the extended buffer.
func (p Params) AppendEncoded(dst []byte) []byte {
	for i, kv := range p {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = appendQueryEscaped(dst, kv.Key)
		dst = append(dst, '=')
		dst = appendQueryEscaped(dst, kv.Value)
	}
	return dst
}

// appendQueryEscaped appends s escaped as url.QueryEscape escapes it:
// unreserved bytes (ALPHA, DIGIT, '-', '.', '_', '~') as they are, space
// as '+', every other byte as %XX with upper-case hex digits.
func appendQueryEscaped(dst []byte, s string) []byte {
	// Keys and values are mostly unreserved bytes: they are copied in one
	// go up to the first byte that needs escaping.
	i := 0
	for i < len(s) && unreserved[s[i]] {
		i++
	}
	dst = append(dst, s[:i]...)
	if i == len(s) {
		return dst
	}
	s = s[i:]
	n := len(dst)
	if cap(dst)-n < 3*len(s) {
		return appendQueryEscapedSlow(dst, s)
	}
	// Room for the worst case: bytes are stored by index, without the
	// length and capacity updates of an append per byte.
	out := dst[n : n+3*len(s)]
	j := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case unreserved[c]:
			out[j] = c
			j++
		case c == ' ':
			out[j] = '+'
			j++
		default:
			out[j], out[j+1], out[j+2] = '%', hexUpper[c>>4], hexUpper[c&15]
			j += 3
		}
	}
	return dst[:n+j]
}

// appendQueryEscapedSlow is appendQueryEscaped for a dst without room for
// the worst case, which append grows only as far as s needs.
func appendQueryEscapedSlow(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case unreserved[c]:
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return dst
}

const hexUpper = "0123456789ABCDEF"

// unreserved reports the bytes url.QueryEscape leaves as they are.
var unreserved = func() (t [256]bool) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			t[c] = true
		}
	}
	return t
}()

// ParseParams decodes an encoded query or form body, keeping the order.
func ParseParams(s string) (Params, error) {
	var p Params
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return nil, err
		}
		v, err = url.QueryUnescape(v)
		if err != nil {
			return nil, err
		}
		p = append(p, Param{k, v})
	}
	return p, nil
}

// Request is a request to a venue before it is authorised: what the guard
// checks and the scheme signs. The Authorizer works on a copy, so a caller
// that changes its Request afterwards changes nothing that was checked.
type Request struct {
	Credential string // name of the key that signs it
	Method     string // "GET", "POST", "DELETE", ...
	Path       string // "/api/v3/order"; no query
	Params     Params // query parameters (or form parameters, as the venue says)
	Body       []byte // exact body bytes, or nil
	Header     Header // extra header fields, sent before the scheme's own
}

// Clone returns a deep copy of r.
func (r *Request) Clone() *Request {
	c := new(Request)
	r.cloneInto(c)
	return c
}

// cloneSpare is the spare capacity of cloned Params, for the parameters
// schemes stamp on (timestamp, receive window) without growing the slice.
const cloneSpare = 2

// cloneInto sets *c to a deep copy of r.
func (r *Request) cloneInto(c *Request) { r.cloneIntoBuf(c, nil) }

// cloneIntoBuf sets *c to a deep copy of r, with its parameters in buf
// when they fit there with room for the stamped ones.
func (r *Request) cloneIntoBuf(c *Request, buf Params) {
	*c = *r
	if r.Params != nil {
		if cap(buf) < len(r.Params)+cloneSpare {
			buf = make(Params, 0, len(r.Params)+cloneSpare)
		}
		c.Params = append(buf[:0], r.Params...)
	}
	c.Body = bytes.Clone(r.Body) // nil stays nil, empty stays empty
	c.Header = r.Header.Clone()
}

// Wire is a request exactly as it goes on the wire.
type Wire struct {
	Method string
	Path   string
	Query  string // encoded, signature included where the venue puts it there
	Header Header // in the order sent, authentication fields included
	Body   []byte
}

// URL returns base + path + query.
func (w *Wire) URL(base string) string {
	u := strings.TrimRight(base, "/") + w.Path
	if w.Query != "" {
		u += "?" + w.Query
	}
	return u
}

// CheckHeader checks the caller's header fields of a request before its
// intent is parsed, and returns a one-line reason when one could make the
// venue read the request otherwise than the intent parser reads it:
//
//   - Content-Type other than contentType (the venue's body format,
//     optionally with "; charset=utf-8"), or given twice: a venue that
//     reads the body as multipart or JSON where the parser reads a form
//     (or the reverse) would see other parameters than the guard checked;
//   - Content-Encoding, Transfer-Encoding, Content-Length, Trailer: the
//     body the venue decodes would not be the bytes that were parsed;
//   - X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override: a server
//     that honours one runs another route than the one classified;
//   - Host, Forwarded, X-Forwarded-*, X-Original-URL, X-Rewrite-URL: a
//     server or proxy that honours one routes the request elsewhere than
//     the path that was classified.
//
// Names compare case-insensitively and with '_' read as '-', as servers
// that map header names to variables do.
//
// Venue schemes set these fields themselves. The error does not wrap a
// sentinel: the venue's Intent wraps it in ErrMalformedRequest.
func (r *Request) CheckHeader(contentType string) error {
	seenType := false
	for _, f := range r.Header {
		name := strings.ReplaceAll(f.Name, "_", "-")
		switch {
		case strings.EqualFold(name, "Content-Type"):
			if seenType {
				return errors.New("header Content-Type is given more than once; leave it to keyfence")
			}
			seenType = true
			if !sameContentType(f.Value, contentType) {
				return fmt.Errorf("header Content-Type %q is not %s; leave it to keyfence", shorten(f.Value), contentType)
			}
		case refusedHeader(name):
			return fmt.Errorf("header %s changes how the venue reads the request; leave it out", shorten(f.Name))
		}
	}
	return nil
}

// refusedHeaders are the fields CheckHeader refuses whatever their value,
// in lower case.
var refusedHeaders = []string{
	"content-encoding", "transfer-encoding", "content-length", "trailer",
	"x-http-method-override", "x-http-method", "x-method-override",
	"host", "forwarded", "x-original-url", "x-rewrite-url",
}

func refusedHeader(name string) bool {
	for _, h := range refusedHeaders {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	const fwd = "x-forwarded-"
	return len(name) >= len(fwd) && strings.EqualFold(name[:len(fwd)], fwd)
}

// sameContentType reports whether v is want, case-insensitively,
// optionally followed by a UTF-8 charset parameter and nothing else.
func sameContentType(v, want string) bool {
	mt, rest, _ := strings.Cut(v, ";")
	if !strings.EqualFold(strings.TrimSpace(mt), want) {
		return false
	}
	if rest = strings.TrimSpace(rest); rest == "" {
		return true
	}
	k, val, ok := strings.Cut(rest, "=")
	val = strings.Trim(strings.TrimSpace(val), `"`)
	return ok && strings.EqualFold(strings.TrimSpace(k), "charset") && strings.EqualFold(val, "utf-8")
}

// shorten cuts s for an error message.
func shorten(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// CleanPath reports whether p is a path that no server reads as another
// path: it starts with '/', holds only letters, digits and "-._~/" (no
// escape, no ';' path parameter, no backslash, no query or fragment), and
// no segment is empty, "." or "..". Route tables match exact paths; a
// table that also classifies whole families by prefix must refuse what is
// not clean, or "/refused/prefix/../../order" would be classified by its
// prefix and run elsewhere.
func CleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	segStart := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			if c := p[i]; !unreserved[c] {
				return false
			}
			continue
		}
		switch p[segStart:i] {
		case "", ".", "..":
			return false
		}
		segStart = i + 1
	}
	return true
}
