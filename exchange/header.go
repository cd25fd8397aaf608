package exchange

import (
	"net/http"
	"net/textproto"
	"strings"
)

// HeaderField is one header field of a request.
type HeaderField struct {
	Name, Value string
}

// Header is a request's header fields in the order they are sent. Names
// compare case-insensitively, as in HTTP; Set and Add store them in
// canonical form ("X-Mbx-Apikey"), as net/http does.
//
// A slice rather than an http.Header: a signed request carries two to six
// fields, and keeping them in order makes the wire form of a request
// (keyfence request --dry-run) the same on every run.
type Header []HeaderField

// Get returns the value of the first field named name, or "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if f.Name == name || strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns the values of the fields named name, in order.
func (h Header) Values(name string) []string {
	var vs []string
	for _, f := range h {
		if f.Name == name || strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Has reports whether a field named name is present.
func (h Header) Has(name string) bool {
	for _, f := range h {
		if f.Name == name || strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Set replaces the fields named name with one field holding value, in the
// place of the first of them, or appends it.
func (h *Header) Set(name, value string) {
	name = textproto.CanonicalMIMEHeaderKey(name)
	for i, f := range *h {
		if strings.EqualFold(f.Name, name) {
			rest := (*h)[i+1:].without(name) // in place, from i+1
			(*h)[i] = HeaderField{name, value}
			*h = (*h)[:i+1+len(rest)]
			return
		}
	}
	*h = append(*h, HeaderField{name, value})
}

// Add appends a field.
func (h *Header) Add(name, value string) {
	*h = append(*h, HeaderField{textproto.CanonicalMIMEHeaderKey(name), value})
}

// Del removes the fields named name.
func (h *Header) Del(name string) {
	if h.Has(name) {
		*h = (*h).without(name)
	}
}

// without returns h without the fields named name, reusing h's array.
func (h Header) without(name string) Header {
	out := h[:0]
	for _, f := range h {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	clear(h[len(out):])
	return out
}

// Clone returns a copy of h that shares nothing with it; nil stays nil.
func (h Header) Clone() Header {
	if h == nil {
		return nil
	}
	return append(make(Header, 0, len(h)), h...)
}

// HTTP returns h as an http.Header, for net/http.
func (h Header) HTTP() http.Header {
	out := make(http.Header, len(h))
	for _, f := range h {
		k := textproto.CanonicalMIMEHeaderKey(f.Name)
		out[k] = append(out[k], f.Value)
	}
	return out
}
