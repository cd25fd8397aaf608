package binance

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
)

// Venue is the venue name of Binance keys and requests.
const Venue = "binance"

// APIKeyHeader carries the public API key of signed requests.
const APIKeyHeader = "X-MBX-APIKEY"

// canonicalAPIKeyHeader is APIKeyHeader in net/http's canonical form.
var canonicalAPIKeyHeader = http.CanonicalHeaderKey(APIKeyHeader)

// MaxRecvWindow is the largest receive window Binance accepts.
const MaxRecvWindow = 60 * time.Second

// Scheme is the Binance Spot REST scheme: route table, intent parser and
// signing. It implements exchange.Scheme. The zero value is not usable; use
// NewScheme. A Scheme is safe for concurrent use.
type Scheme struct {
	recvWindow string // encoded recvWindow parameter, or ""
	symbols    atomic.Pointer[map[string]exchange.SymbolInfo]
	lastRoute  atomic.Pointer[namedRoute] // see Scheme.lookup
	decimals   decimalCache               // quantities and prices of recent intents
}

// NewScheme returns the Binance scheme. A positive recvWindow (at most
// MaxRecvWindow, millisecond precision or finer down to microseconds) is
// added to every signed request that does not carry one.
func NewScheme(recvWindow time.Duration) (*Scheme, error) {
	if recvWindow < 0 || recvWindow > MaxRecvWindow {
		return nil, fmt.Errorf("binance: recvWindow %s is outside 0..%s", recvWindow, MaxRecvWindow)
	}
	s := &Scheme{}
	if recvWindow > 0 {
		s.recvWindow = formatRecvWindow(recvWindow)
	}
	return s, nil
}

func formatRecvWindow(d time.Duration) string {
	us := d.Microseconds()
	ms, frac := us/1000, us%1000
	if frac == 0 {
		return strconv.FormatInt(ms, 10)
	}
	return strings.TrimRight(fmt.Sprintf("%d.%03d", ms, frac), "0")
}

// Venue returns "binance".
func (s *Scheme) Venue() string { return Venue }

// SetSymbols installs the symbol table (from exchangeInfo). Once a table is
// set, an order for a symbol outside it is malformed.
func (s *Scheme) SetSymbols(symbols []exchange.SymbolInfo) {
	m := make(map[string]exchange.SymbolInfo, len(symbols))
	for _, si := range symbols {
		m[si.Symbol] = si
	}
	s.symbols.Store(&m)
}

// Symbol returns the table entry of a symbol.
func (s *Scheme) Symbol(symbol string) (exchange.SymbolInfo, bool) {
	m := s.symbols.Load()
	if m == nil {
		return exchange.SymbolInfo{}, false
	}
	si, ok := (*m)[symbol]
	return si, ok
}

// Classify returns the route of a request: its class, its cost in request
// weight and orders, and whether it is signed. A method and path outside
// the route table wrap exchange.ErrUnknownEndpoint.
func (s *Scheme) Classify(req *exchange.Request) (exchange.Route, error) {
	name, spec, ok := s.lookup(req.Method, req.Path)
	if !ok {
		return exchange.Route{}, fmt.Errorf("%w: binance %s", exchange.ErrUnknownEndpoint, name)
	}
	w := spec.weightFor(req)
	return exchange.Route{
		Name:   name,
		Class:  spec.class,
		Cost:   exchange.Cost{Weight: w, Orders: spec.orders},
		Signed: spec.signed,
	}, nil
}

// Prepare stamps a signed request: it appends recvWindow (when the scheme
// has one and neither query nor body has one) and timestamp (milliseconds,
// unless the query or body already carries one) to the query string, after
// the caller's parameters. It appends the signed payload to dst: the
// percent-encoded query string followed by the body with no separator. An
// unsigned route is appended as sent, unstamped.
//
// The stamps are written into the payload only: req.Params keeps the
// caller's parameters, and Sign sends the query string the payload holds.
func (s *Scheme) Prepare(dst []byte, req *exchange.Request, key signer.KeyInfo, now time.Time) ([]byte, error) {
	name, spec, ok := s.lookup(req.Method, req.Path)
	if !ok {
		return nil, fmt.Errorf("%w: binance %s", exchange.ErrUnknownEndpoint, name)
	}
	recvWindow, timestamp := false, false
	if spec.signed && !spec.keyOnly {
		var body exchange.Params
		if len(req.Body) > 0 {
			var err error
			if body, err = exchange.ParseParams(string(req.Body)); err != nil {
				return nil, fmt.Errorf("%w: %s: the body is not a form-encoded parameter list", exchange.ErrMalformedRequest, name)
			}
		}
		// One pass over query and body for the parameters Prepare sets.
		hasRecvWindow, hasTimestamp := false, false
		for _, ps := range [2]exchange.Params{req.Params, body} {
			for _, kv := range ps {
				switch kv.Key {
				case "signature":
					return nil, fmt.Errorf("%w: %s: the request already carries a signature", exchange.ErrMalformedRequest, name)
				case "recvWindow":
					hasRecvWindow = true
				case "timestamp":
					hasTimestamp = true
				}
			}
		}
		recvWindow = s.recvWindow != "" && !hasRecvWindow
		timestamp = !hasTimestamp
	}
	const stamps = len("&recvWindow=") + 10 + len("&timestamp=") + 20
	if n := encodedLen(req.Params) + stamps + len(req.Body); cap(dst)-len(dst) < n {
		dst = slices.Grow(dst, n)
	}
	start := len(dst)
	payload := appendQuery(dst, req.Params)
	sep := func(b []byte) []byte {
		if len(b) > start {
			b = append(b, '&')
		}
		return b
	}
	if recvWindow {
		payload = append(append(sep(payload), "recvWindow="...), s.recvWindow...)
	}
	if timestamp {
		payload = strconv.AppendInt(append(sep(payload), "timestamp="...), now.UnixMilli(), 10)
	}
	return append(payload, req.Body...), nil
}

// Sign signs a prepared request: HMAC-SHA256 as lowercase hex for HMAC
// keys, Ed25519 and RSA PKCS#1 v1.5 SHA-256 as base64 (percent-encoded in
// the URL). The signature is appended to the query string as the last
// parameter, the API key goes in X-MBX-APIKEY, and the body is sent as it
// was signed. See exchange.Scheme for how w is filled.
func (s *Scheme) Sign(ctx context.Context, sg signer.Signer, key signer.KeyInfo, req *exchange.Request, payload []byte, now time.Time, w *exchange.Wire) error {
	name, spec, ok := s.lookup(req.Method, req.Path)
	if !ok {
		return fmt.Errorf("%w: binance %s", exchange.ErrUnknownEndpoint, name)
	}
	if len(payload) < len(req.Body) || string(payload[len(payload)-len(req.Body):]) != string(req.Body) {
		return fmt.Errorf("binance: %s: payload does not end with the body; Prepare the request first", name)
	}
	query := payload[:len(payload)-len(req.Body)]
	*w = exchange.Wire{Method: req.Method, Path: req.Path, Header: w.Header[:0], Body: req.Body}
	for _, f := range req.Header {
		if !strings.EqualFold(f.Name, APIKeyHeader) { // the key's own API key, never the caller's
			w.Header = append(w.Header, f)
		}
	}
	if len(req.Body) > 0 && !w.Header.Has("Content-Type") {
		w.Header = append(w.Header, exchange.HeaderField{Name: "Content-Type", Value: "application/x-www-form-urlencoded"})
	}
	if !spec.signed {
		w.Query = string(query)
		return nil
	}
	if key.APIKey == "" {
		return fmt.Errorf("binance: key %q has no API key; set it in the keystore", key.Name)
	}
	if spec.keyOnly {
		w.Query = string(query)
		w.Header = append(w.Header, exchange.HeaderField{Name: canonicalAPIKeyHeader, Value: key.APIKey})
		return nil
	}
	var alg signer.Algorithm
	switch key.Type {
	case signer.KeyHMAC:
		alg = signer.HMACSHA256
	case signer.KeyEd25519:
		alg = signer.Ed25519
	case signer.KeyRSA:
		alg = signer.RS256
	default:
		return fmt.Errorf("binance: key %q is a %s key; Binance takes hmac, ed25519 or rsa keys", key.Name, key.Type)
	}
	// The signature goes into payload's spare capacity when there is room.
	sig, err := signer.AppendSign(ctx, sg, payload[len(payload):], key.Name, alg, payload)
	if err != nil {
		return err
	}
	var hexSig [2 * 64]byte
	var enc []byte
	if alg == signer.HMACSHA256 && len(sig) <= 64 {
		enc = hexSig[:hex.Encode(hexSig[:], sig)]
	} else {
		enc = []byte(url.QueryEscape(base64.StdEncoding.EncodeToString(sig)))
	}
	var q strings.Builder
	q.Grow(len(query) + len("&signature=") + len(enc))
	q.Write(query)
	if len(query) > 0 {
		q.WriteByte('&')
	}
	q.WriteString("signature=")
	q.Write(enc)
	w.Query = q.String()
	w.Header = append(w.Header, exchange.HeaderField{Name: canonicalAPIKeyHeader, Value: key.APIKey})
	return nil
}
