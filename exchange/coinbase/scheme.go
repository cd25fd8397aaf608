package coinbase

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
)

// Venue is the venue name of Coinbase keys and requests.
const Venue = "coinbase"

// DefaultBaseURL is the Advanced Trade production REST endpoint.
const DefaultBaseURL = "https://api.coinbase.com"

// JWTLifetime is the lifetime of a request JWT (exp − nbf), as in
// Coinbase's own SDKs; Coinbase accepts at most two minutes.
const JWTLifetime = 120 * time.Second

// maxTrackedOrders bounds the order → product table kept for edits.
const maxTrackedOrders = 100_000

// Scheme is the Coinbase Advanced Trade scheme: route table, intent
// parser and JWT signing. It implements exchange.Scheme. The zero value is
// not usable; use NewScheme. A Scheme is safe for concurrent use.
type Scheme struct {
	host     string
	products atomic.Pointer[map[string]Product]

	mu     sync.Mutex
	orders map[string]trackedOrder
	order  []string // insertion order, to forget the oldest
}

// trackedOrder is what the scheme remembers of an order this client placed
// or read, so that an edit (which names only the order id) can be valued.
type trackedOrder struct {
	Product  string
	Side     exchange.Side
	PostOnly bool
	TIF      exchange.TimeInForce
}

// NewScheme returns the scheme for the venue at baseURL (DefaultBaseURL if
// empty). The JWT's uri claim names the base URL's host, so requests signed
// for one host are refused by any other.
func NewScheme(baseURL string) (*Scheme, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("coinbase: base URL %q is not an http(s) URL with a host", baseURL)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("coinbase: base URL %q has a path; give the scheme and host only", baseURL)
	}
	return &Scheme{host: u.Host, orders: make(map[string]trackedOrder)}, nil
}

// Venue returns "coinbase".
func (s *Scheme) Venue() string { return Venue }

// Host returns the host the JWTs are bound to.
func (s *Scheme) Host() string { return s.host }

// setProducts installs the product table. Once a table is set, an order
// for a product outside it is malformed, and every order is checked
// against its product's status flags, increments and sizes.
func (s *Scheme) setProducts(products []Product) {
	m := make(map[string]Product, len(products))
	for _, p := range products {
		m[p.ID] = p
	}
	s.products.Store(&m)
}

// Product returns the table entry of a product.
func (s *Scheme) Product(id string) (Product, bool) {
	m := s.products.Load()
	if m == nil {
		return Product{}, false
	}
	p, ok := (*m)[id]
	return p, ok
}

// track remembers an order's product and side, so that an edit of it can
// be valued. The client tracks every order it places or reads.
func (s *Scheme) track(orderID string, t trackedOrder) {
	if orderID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orders[orderID]; !ok {
		s.order = append(s.order, orderID)
		if len(s.order) > maxTrackedOrders {
			delete(s.orders, s.order[0])
			s.order = s.order[1:]
		}
	}
	s.orders[orderID] = t
}

// tracked returns what the scheme knows of an order.
func (s *Scheme) tracked(orderID string) (trackedOrder, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.orders[orderID]
	return t, ok
}

// Classify returns the route of a request. A method and path outside the
// route table wrap exchange.ErrUnknownEndpoint. Every route costs one
// request (Coinbase limits requests per second), and an order-creating
// route one order.
func (s *Scheme) Classify(req *exchange.Request) (exchange.Route, error) {
	name, spec, ok := lookup(req.Method, req.Path)
	if !ok {
		return exchange.Route{}, fmt.Errorf("%w: coinbase %s", exchange.ErrUnknownEndpoint, name)
	}
	cost := exchange.Cost{Weight: 1}
	if spec.kind == kindOrder && !spec.test {
		cost.Orders = 1
	}
	return exchange.Route{Name: name, Class: spec.class, Cost: cost, Signed: spec.signed}, nil
}

// Prepare appends the exact request as it will be sent to dst, for the
// audit log: "METHOD path[?query]\n" followed by the body bytes. Coinbase's
// JWT does not cover the query or the body, so keyfence hashes them itself;
// the JWT is minted in Sign and never enters the payload.
func (s *Scheme) Prepare(dst []byte, req *exchange.Request, _ signer.KeyInfo, _ time.Time) ([]byte, error) {
	name, _, ok := lookup(req.Method, req.Path)
	if !ok {
		return nil, fmt.Errorf("%w: coinbase %s", exchange.ErrUnknownEndpoint, name)
	}
	if req.Header.Get("Authorization") != "" {
		return nil, fmt.Errorf("%w: %s: the request already carries an Authorization header", exchange.ErrMalformedRequest, name)
	}
	return appendRequest(dst, req), nil
}

// appendRequest appends what Prepare describes to dst.
func appendRequest(dst []byte, req *exchange.Request) []byte {
	dst = append(dst, req.Method...)
	dst = append(dst, ' ')
	dst = append(dst, req.Path...)
	if len(req.Params) > 0 {
		dst = append(dst, '?')
		dst = req.Params.AppendEncoded(dst)
	}
	dst = append(dst, '\n')
	return append(dst, req.Body...)
}

// Sign mints the request's JWT with the signer and signs the request into
// w: the query and body exactly as prepared (and checked), and
// "Authorization: Bearer <jwt>". The JWT binds the method, host and path;
// it lives two minutes and is minted per request. See exchange.Scheme for
// how w is filled.
func (s *Scheme) Sign(ctx context.Context, sg signer.Signer, key signer.KeyInfo, req *exchange.Request, payload []byte, now time.Time, w *exchange.Wire) error {
	name, spec, ok := lookup(req.Method, req.Path)
	if !ok {
		return fmt.Errorf("%w: coinbase %s", exchange.ErrUnknownEndpoint, name)
	}
	if !bytes.Equal(payload, appendRequest(nil, req)) {
		return fmt.Errorf("coinbase: %s: the request changed after it was prepared; Prepare it again", name)
	}
	*w = exchange.Wire{Method: req.Method, Path: req.Path, Query: req.Params.Encode(), Header: append(w.Header[:0], req.Header...), Body: req.Body}
	if len(req.Body) > 0 && w.Header.Get("Content-Type") == "" {
		w.Header.Set("Content-Type", "application/json")
	}
	if !spec.signed {
		return nil
	}
	jwt, err := s.mintJWT(ctx, sg, key, req.Method, req.Path, now)
	if err != nil {
		return err
	}
	w.Header.Set("Authorization", "Bearer "+jwt)
	return nil
}

// jwtHeader and jwtClaims are the JWT's parts, in the order Coinbase's
// SDKs write them.
type jwtHeader struct {
	Alg   string `json:"alg"`
	Kid   string `json:"kid"`
	Nonce string `json:"nonce"`
	Typ   string `json:"typ"`
}

type jwtClaims struct {
	Sub string `json:"sub"`
	Iss string `json:"iss"`
	Nbf int64  `json:"nbf"`
	Exp int64  `json:"exp"`
	URI string `json:"uri"`
}

var b64 = base64.RawURLEncoding

// mintJWT returns the compact JWS that authenticates one request: header
// {"alg","kid":<key name>,"nonce":<random hex>,"typ":"JWT"}, claims
// {"sub":<key name>,"iss":"cdp","nbf":now,"exp":now+120,
// "uri":"<METHOD> <host><path>"}, signed by the signer with ES256 (raw
// r||s) for an ECDSA P-256 key or EdDSA for an Ed25519 key. The key name
// is the key's KeyInfo.APIKey (organizations/{org}/apiKeys/{id}). The
// result is a credential for two minutes: never log it.
func (s *Scheme) mintJWT(ctx context.Context, sg signer.Signer, key signer.KeyInfo, method, path string, now time.Time) (string, error) {
	if key.APIKey == "" {
		return "", fmt.Errorf("coinbase: key %q has no API key name; set it (organizations/{org}/apiKeys/{id}) in the keystore", key.Name)
	}
	var alg signer.Algorithm
	h := jwtHeader{Kid: key.APIKey, Typ: "JWT"}
	switch key.Type {
	case signer.KeyECDSAP256:
		alg, h.Alg = signer.ES256, "ES256"
	case signer.KeyEd25519:
		alg, h.Alg = signer.Ed25519, "EdDSA"
	default:
		return "", fmt.Errorf("coinbase: key %q is a %s key; Coinbase CDP keys are ecdsa (ES256) or ed25519 (EdDSA)", key.Name, key.Type)
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", fmt.Errorf("coinbase: JWT nonce: %w", err)
	}
	h.Nonce = hex.EncodeToString(nonce[:])
	c := jwtClaims{Sub: key.APIKey, Iss: "cdp", Nbf: now.Unix(), Exp: now.Add(JWTLifetime).Unix(), URI: method + " " + s.host + path}
	hj, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	cj, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	input := make([]byte, 0, b64.EncodedLen(len(hj))+b64.EncodedLen(len(cj))+90)
	input = b64.AppendEncode(input, hj)
	input = append(input, '.')
	input = b64.AppendEncode(input, cj)
	sig, err := sg.Sign(ctx, key.Name, alg, input)
	if err != nil {
		return "", err
	}
	if alg == signer.ES256 && len(sig) != 64 {
		return "", errors.New("coinbase: the signer returned an ES256 signature that is not 64 bytes of r||s")
	}
	input = append(input, '.')
	input = b64.AppendEncode(input, sig)
	return string(input), nil
}
