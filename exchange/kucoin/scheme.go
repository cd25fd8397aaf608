package kucoin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
)

// Venue is the venue name of KuCoin keys and requests.
const Venue = "kucoin"

// Headers of signed requests.
const (
	HeaderKey        = "KC-API-KEY"
	HeaderSign       = "KC-API-SIGN"
	HeaderTimestamp  = "KC-API-TIMESTAMP"
	HeaderPassphrase = "KC-API-PASSPHRASE"
	HeaderKeyVersion = "KC-API-KEY-VERSION"
)

// Key versions the scheme signs for. Version 1 keys sent the passphrase in
// plain text; keyfence refuses them, because the passphrase would leave
// the signer backend.
const (
	KeyVersion2 = "2"
	KeyVersion3 = "3"
)

var (
	canonKey        = http.CanonicalHeaderKey(HeaderKey)
	canonSign       = http.CanonicalHeaderKey(HeaderSign)
	canonTimestamp  = http.CanonicalHeaderKey(HeaderTimestamp)
	canonPassphrase = http.CanonicalHeaderKey(HeaderPassphrase)
	canonKeyVersion = http.CanonicalHeaderKey(HeaderKeyVersion)
)

// Scheme is the KuCoin Spot (high-frequency) REST scheme: route table,
// intent parser and signing. It implements exchange.Scheme. Use NewScheme;
// a Scheme is safe for concurrent use.
type Scheme struct {
	keyVersion string
	symbols    atomic.Pointer[map[string]exchange.SymbolInfo]
}

// NewScheme returns the KuCoin scheme for keys of the given version, "2"
// or "3" ("" means "2").
func NewScheme(keyVersion string) (*Scheme, error) {
	switch keyVersion {
	case "":
		keyVersion = KeyVersion2
	case KeyVersion2, KeyVersion3:
	case "1":
		return nil, errors.New("kucoin: key version 1 sends the passphrase in plain text; create a version 2 or 3 key")
	default:
		return nil, fmt.Errorf("kucoin: unknown key version %q; use \"2\" or \"3\"", keyVersion)
	}
	return &Scheme{keyVersion: keyVersion}, nil
}

// Venue returns "kucoin".
func (s *Scheme) Venue() string { return Venue }

// KeyVersion returns the KC-API-KEY-VERSION the scheme sends.
func (s *Scheme) KeyVersion() string { return s.keyVersion }

// SetSymbols installs the symbol table (from /api/v2/symbols). Once a table
// is set, an order for a symbol outside it is malformed.
func (s *Scheme) SetSymbols(symbols []exchange.SymbolInfo) {
	m := make(map[string]exchange.SymbolInfo, len(symbols))
	for _, si := range symbols {
		m[si.Symbol] = si
	}
	s.symbols.Store(&m)
}

func (s *Scheme) listed(symbol string) bool {
	m := s.symbols.Load()
	if m == nil {
		return true
	}
	_, ok := (*m)[symbol]
	return ok
}

// Classify returns the route of a request: class, pool weight and whether
// it is signed. Routes outside the table wrap exchange.ErrUnknownEndpoint.
func (s *Scheme) Classify(req *exchange.Request) (exchange.Route, error) {
	name, spec, _, ok := lookup(req.Method, req.Path)
	if !ok {
		return exchange.Route{}, fmt.Errorf("%w: kucoin %s", exchange.ErrUnknownEndpoint, name)
	}
	cost := exchange.Cost{Weight: spec.weight, Orders: spec.orders}
	if spec.kind == kindMulti {
		// One order per element; a body the intent parser refuses costs 1.
		if obj, err := parseObject(req.Body); err == nil {
			if raw, ok := obj.get("orderList"); ok {
				if elems, err := parseArray(raw); err == nil {
					cost.Orders = len(elems)
				}
			}
		}
	}
	return exchange.Route{Name: name, Class: spec.class, Cost: cost, Signed: spec.signed}, nil
}

// poolOf returns the rate-limit pool a request is counted in.
func poolOf(method, path string) (Pool, bool) {
	_, spec, _, ok := lookup(method, path)
	if !ok {
		return "", false
	}
	return spec.pool, true
}

// safeQueryByte reports whether c goes into a signed query unescaped. KuCoin
// signs the query un-URL-encoded; restricting values to bytes that need no
// escaping makes the query sent and the query signed the same bytes.
func safeQueryByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == ','
}

// appendQuery appends the parameters as key=value pairs joined by '&',
// unescaped, or fails on a byte that would need escaping.
func appendQuery(dst []byte, p exchange.Params) ([]byte, error) {
	for i, kv := range p {
		if kv.Key == "" {
			return nil, errors.New("a query parameter has no name")
		}
		for _, s := range [2]string{kv.Key, kv.Value} {
			for j := 0; j < len(s); j++ {
				if !safeQueryByte(s[j]) {
					return nil, fmt.Errorf("query parameter %s holds a character KuCoin would sign unescaped but that must be escaped on the wire (use letters, digits and - _ . ~ ,)", quote(kv.Key))
				}
			}
		}
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, kv.Key...)
		dst = append(dst, '=')
		dst = append(dst, kv.Value...)
	}
	return dst, nil
}

// prehash builds the signed string: timestamp + METHOD + path (+ "?" +
// query when there is one) + body.
func prehash(dst []byte, ts string, req *exchange.Request) ([]byte, error) {
	dst = append(dst, ts...)
	dst = append(dst, req.Method...)
	dst = append(dst, req.Path...)
	if len(req.Params) > 0 {
		dst = append(dst, '?')
		var err error
		if dst, err = appendQuery(dst, req.Params); err != nil {
			return nil, err
		}
	}
	return append(dst, req.Body...), nil
}

// Prepare stamps a signed request with KC-API-TIMESTAMP (milliseconds of
// the venue's clock) and returns the string KuCoin signs: timestamp +
// METHOD + path + "?" + query (when there is one) + body. GET and DELETE
// requests carry no body and POST requests no query, so that everything
// the venue acts on is signed. An unsigned route returns METHOD + path +
// query. The payload is appended to dst.
func (s *Scheme) Prepare(dst []byte, req *exchange.Request, key signer.KeyInfo, now time.Time) ([]byte, error) {
	name, spec, _, ok := lookup(req.Method, req.Path)
	if !ok {
		return nil, fmt.Errorf("%w: kucoin %s", exchange.ErrUnknownEndpoint, name)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: kucoin %s: %s", exchange.ErrMalformedRequest, name, fmt.Sprintf(format, args...))
	}
	switch req.Method {
	case http.MethodGet, http.MethodDelete:
		if len(req.Body) > 0 {
			return nil, bad("%s requests carry no body; put the parameters in the query", req.Method)
		}
	case http.MethodPost:
		if len(req.Params) > 0 {
			return nil, bad("POST requests carry their parameters in the JSON body; KuCoin does not sign a POST query")
		}
	default:
		return nil, bad("method %s is not used by KuCoin's spot API", req.Method)
	}
	for _, h := range []string{canonKey, canonSign, canonTimestamp, canonPassphrase, canonKeyVersion} {
		if req.Header.Get(h) != "" {
			return nil, bad("the request already carries %s", h)
		}
	}
	ts := ""
	if spec.signed {
		ts = strconv.FormatInt(now.UnixMilli(), 10)
		req.Header.Set(canonTimestamp, ts)
	}
	payload, err := prehash(dst, ts, req)
	if err != nil {
		return nil, bad("%v", err)
	}
	return payload, nil
}

// Sign signs a prepared request: KC-API-SIGN is base64(HMAC-SHA256(secret,
// payload)) and KC-API-PASSPHRASE base64(HMAC-SHA256(secret, passphrase)),
// both computed by the signer backend, which must implement
// signer.PassphraseSigner and hold the key's passphrase. The query is sent
// as signed, the body as signed. See exchange.Scheme for how w is filled.
func (s *Scheme) Sign(ctx context.Context, sg signer.Signer, key signer.KeyInfo, req *exchange.Request, payload []byte, now time.Time, w *exchange.Wire) error {
	name, spec, _, ok := lookup(req.Method, req.Path)
	if !ok {
		return fmt.Errorf("%w: kucoin %s", exchange.ErrUnknownEndpoint, name)
	}
	ts := req.Header.Get(canonTimestamp)
	want, err := prehash(make([]byte, 0, len(payload)), ts, req)
	if err != nil || string(want) != string(payload) {
		return fmt.Errorf("kucoin: %s: the payload is not the request's; Prepare the request first", name)
	}
	query, _ := appendQuery(nil, req.Params)
	*w = exchange.Wire{Method: req.Method, Path: req.Path, Query: string(query), Header: append(w.Header[:0], req.Header...), Body: req.Body}
	if len(req.Body) > 0 {
		w.Header.Set("Content-Type", "application/json")
	}
	if !spec.signed {
		return nil
	}
	switch {
	case key.APIKey == "":
		return fmt.Errorf("kucoin: key %q has no API key; set it in the keystore", key.Name)
	case key.Type != signer.KeyHMAC:
		return fmt.Errorf("kucoin: key %q is a %s key; KuCoin keys are HMAC keys", key.Name, key.Type)
	case !key.HasPassphrase:
		return fmt.Errorf("kucoin: key %q has no API passphrase; store the passphrase with the key", key.Name)
	}
	ps, ok := sg.(signer.PassphraseSigner)
	if !ok {
		return fmt.Errorf("kucoin: the signer backend of key %q cannot sign a passphrase; use one that implements signer.PassphraseSigner", key.Name)
	}
	sig, err := sg.Sign(ctx, key.Name, signer.HMACSHA256, payload)
	if err != nil {
		return err
	}
	pass, err := ps.SignPassphrase(ctx, key.Name, signer.HMACSHA256)
	if err != nil {
		return err
	}
	w.Header.Set(canonKey, key.APIKey)
	w.Header.Set(canonSign, base64.StdEncoding.EncodeToString(sig))
	w.Header.Set(canonPassphrase, base64.StdEncoding.EncodeToString(pass))
	w.Header.Set(canonKeyVersion, s.keyVersion)
	w.Header.Set("Content-Type", "application/json")
	return nil
}
