package binance

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
)

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

func docOrder() *exchange.Request {
	return &exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v3/order",
		Params: params("symbol", "LTCBTC", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "1", "price", "0.1")}
}

// The Binance documentation's HMAC example, reproduced through the scheme:
// the caller's parameters in order, then recvWindow and timestamp appended
// by Prepare.
func TestDocumentationHMACVector(t *testing.T) {
	s := mustScheme(t, 5000)
	sg, key := hmacSigner(t)
	req := docOrder()
	now := time.UnixMilli(1499827319559)
	payload, err := s.Prepare(nil, req, key, now)
	if err != nil {
		t.Fatal(err)
	}
	const want = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	if string(payload) != want {
		t.Fatalf("payload\n got %s\nwant %s", payload, want)
	}
	w := new(exchange.Wire)
	err = s.Sign(context.Background(), sg, key, req, payload, now, w)
	if err != nil {
		t.Fatal(err)
	}
	if w.Query != want+"&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71" {
		t.Fatalf("query %s", w.Query)
	}
	if got := w.Header.Get("X-MBX-APIKEY"); got != docAPIKey {
		t.Fatalf("api key header %q", got)
	}
	if w.Body != nil || w.Method != "POST" || w.Path != "/api/v3/order" {
		t.Fatalf("wire %+v", w)
	}
}

// The same vector through the Authorizer: the audit record carries the
// SHA-256 of the exact payload.
func TestDocumentationVectorThroughAuthorizer(t *testing.T) {
	s := mustScheme(t, 5000)
	sg, _ := hmacSigner(t)
	g, a := &recorder{}, &memAudit{}
	auth := &exchange.Authorizer{Scheme: s, Signer: sg, Guard: g, Audit: a,
		Clock: func() time.Time { return time.UnixMilli(1499827319559) }}
	got, err := auth.Authorize(context.Background(), docOrder())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(got.Wire.Query, "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71") {
		t.Fatalf("query %s", got.Wire.Query)
	}
	sum := sha256.Sum256([]byte("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"))
	recs := a.records()
	if len(recs) != 1 || recs[0].PayloadSHA256 != sum || recs[0].Class != "trade" {
		t.Fatalf("audit %+v", recs)
	}
	if recs[0].Intent != "POST /api/v3/order: BUY LIMIT 1 LTCBTC @ 0.1 GTC" {
		t.Fatalf("intent %q", recs[0].Intent)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// A caller's timestamp (the CLI's --timestamp) and recvWindow are kept.
func TestPrepareKeepsCallerTimestamp(t *testing.T) {
	s := mustScheme(t, 0)
	_, key := hmacSigner(t)
	req := docOrder()
	req.Params = append(req.Params, exchange.Param{Key: "recvWindow", Value: "5000"}, exchange.Param{Key: "timestamp", Value: "1499827319559"})
	payload, err := s.Prepare(nil, req, key, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(payload), "&price=0.1&recvWindow=5000&timestamp=1499827319559") {
		t.Fatalf("payload %s", payload)
	}
	req.Params = append(req.Params, exchange.Param{Key: "signature", Value: "x"})
	if _, err := s.Prepare(nil, req, key, time.Unix(0, 0)); !errors.Is(err, exchange.ErrMalformedRequest) {
		t.Fatalf("presigned request: %v", err)
	}
}

// Prepare writes its stamps into the payload, not into the request: the
// caller's parameters are left as they were, and a request without any
// parameter gets stamps without a leading '&'.
func TestPrepareStampsOnlyThePayload(t *testing.T) {
	s := mustScheme(t, 5000)
	_, key := hmacSigner(t)
	req := docOrder()
	before := slices.Clone(req.Params)
	payload, err := s.Prepare(nil, req, key, time.UnixMilli(1499827319559))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(payload), "&price=0.1&recvWindow=5000&timestamp=1499827319559") {
		t.Fatalf("payload %s", payload)
	}
	if !slices.Equal(req.Params, before) {
		t.Fatalf("Prepare changed the parameters: %v", req.Params)
	}
	bare := &exchange.Request{Method: "GET", Path: "/api/v3/account"}
	payload, err = s.Prepare([]byte("prefix:"), bare, key, time.UnixMilli(-5))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(payload), "prefix:recvWindow=5000&timestamp=-5"; got != want {
		t.Fatalf("payload %q, want %q", got, want)
	}
	// Stamps the body already carries are not added again; a signature
	// in the body is refused like one in the query.
	inBody := &exchange.Request{Method: "POST", Path: "/api/v3/order", Params: exchange.Params{{Key: "symbol", Value: "LTCBTC"}},
		Body: []byte("recvWindow=100&timestamp=7")}
	payload, err = s.Prepare(nil, inBody, key, time.UnixMilli(9))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(payload), "symbol=LTCBTCrecvWindow=100&timestamp=7"; got != want {
		t.Fatalf("payload %q, want %q", got, want)
	}
	inBody.Body = []byte("side=BUY&signature=00")
	if _, err := s.Prepare(nil, inBody, key, time.UnixMilli(9)); !errors.Is(err, exchange.ErrMalformedRequest) {
		t.Fatalf("signature in the body: %v, want ErrMalformedRequest", err)
	}
}

func TestRecvWindowFormat(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{5 * time.Second, "5000"}, {1500 * time.Microsecond, "1.5"}, {6000346 * time.Microsecond, "6000.346"}} {
		if got := formatRecvWindow(tc.d); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.d, got, tc.want)
		}
	}
	if _, err := NewScheme(61 * time.Second); err == nil {
		t.Fatal("recvWindow above 60s accepted")
	}
}

// Body parameters are signed after the query with no separator: the
// documentation's mixed query-and-body example.
func TestQueryAndBodySignedWithoutSeparator(t *testing.T) {
	s := mustScheme(t, 5000)
	sg, key := hmacSigner(t)
	req := &exchange.Request{Method: "POST", Path: "/api/v3/order",
		Params: params("symbol", "LTCBTC", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC"),
		Body:   []byte("quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559")}
	var in exchange.Intent
	err := s.Intent(req, exchange.Route{Name: "POST /api/v3/order"}, &in)
	if err != nil || len(in.Orders) != 1 || !in.Orders[0].Price.Equal(dec("0.1")) {
		t.Fatalf("intent from query and body: %v %+v", err, in)
	}
	payload, err := s.Prepare(nil, req, key, time.UnixMilli(1))
	if err != nil {
		t.Fatal(err)
	}
	// The body's recvWindow and timestamp are kept; nothing is appended.
	want := "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTCquantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	if string(payload) != want {
		t.Fatalf("payload %s", payload)
	}
	w := new(exchange.Wire)
	err = s.Sign(context.Background(), sg, key, req, payload, time.Time{}, w)
	if err != nil {
		t.Fatal(err)
	}
	if w.Query != "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&signature=0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77" {
		t.Fatalf("query %s", w.Query)
	}
	if string(w.Body) != string(req.Body) || w.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("wire %+v", w)
	}
	// A parameter in both query and body is refused: the venue would read
	// the query's.
	req.Params = append(req.Params, exchange.Param{Key: "quantity", Value: "100"})
	if err := s.Intent(req, exchange.Route{Name: "POST /api/v3/order"}, &exchange.Intent{}); !errors.Is(err, exchange.ErrMalformedRequest) ||
		!strings.Contains(err.Error(), `"quantity" is given more than once`) {
		t.Fatalf("duplicate quantity across query and body: %v", err)
	}
}

func TestNonASCIISymbolEncodedAndSignedAsSent(t *testing.T) {
	s := mustScheme(t, 5000)
	sg, key := hmacSigner(t)
	req := &exchange.Request{Method: "POST", Path: "/api/v3/order",
		Params: params("symbol", "１２３４５６", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "1", "price", "0.1")}
	now := time.UnixMilli(1499827319559)
	payload, err := s.Prepare(nil, req, key, now)
	if err != nil {
		t.Fatal(err)
	}
	const enc = "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY"
	if !strings.HasPrefix(string(payload), enc) {
		t.Fatalf("payload %s", payload)
	}
	w := new(exchange.Wire)
	err = s.Sign(context.Background(), sg, key, req, payload, now, w)
	if err != nil {
		t.Fatal(err)
	}
	q, sig, ok := strings.Cut(w.Query, "&signature=")
	if !ok || q != string(payload) {
		t.Fatalf("query %s", w.Query)
	}
	mac, err := sg.Sign(context.Background(), "doc", signer.HMACSHA256, []byte(q))
	if err != nil {
		t.Fatal(err)
	}
	if sig != hexString(mac) {
		t.Fatal("signature does not cover the query as sent")
	}
}

func TestAsymmetricSignaturesVerify(t *testing.T) {
	for _, kt := range []signer.KeyType{signer.KeyEd25519, signer.KeyRSA} {
		t.Run(string(kt), func(t *testing.T) {
			s := mustScheme(t, 5000)
			sg, key := asymSigner(t, kt)
			req := docOrder()
			req.Credential = "asym"
			now := time.UnixMilli(1499827319559)
			payload, err := s.Prepare(nil, req, key, now)
			if err != nil {
				t.Fatal(err)
			}
			w := new(exchange.Wire)
			err = s.Sign(context.Background(), sg, key, req, payload, now, w)
			if err != nil {
				t.Fatal(err)
			}
			q, encSig, ok := strings.Cut(w.Query, "&signature=")
			if !ok || q != string(payload) {
				t.Fatalf("query %s", w.Query)
			}
			if strings.ContainsAny(encSig, "+/=") {
				t.Fatalf("signature not percent-encoded: %s", encSig)
			}
			b64, err := url.QueryUnescape(encSig)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Fatal(err)
			}
			switch pub := key.Public.(type) {
			case ed25519.PublicKey:
				if !ed25519.Verify(pub, payload, sig) {
					t.Fatal("Ed25519 signature does not verify")
				}
			case *rsa.PublicKey:
				h := sha256.Sum256(payload)
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
					t.Fatalf("RSA signature does not verify: %v", err)
				}
			default:
				t.Fatalf("public key %T", key.Public)
			}
			if w.Header.Get(APIKeyHeader) != "asym-api-key" {
				t.Fatal("api key header")
			}
		})
	}
}

func TestSignRefusesECDSAAndKeysWithoutAPIKey(t *testing.T) {
	s := mustScheme(t, 0)
	sg, key := hmacSigner(t)
	req := docOrder()
	payload, _ := s.Prepare(nil, req, key, time.Unix(1, 0))
	k := key
	k.Type = signer.KeyECDSAP256
	if err := s.Sign(context.Background(), sg, k, req, payload, time.Time{}, &exchange.Wire{}); err == nil {
		t.Fatal("ecdsa key accepted")
	}
	k = key
	k.APIKey = ""
	if err := s.Sign(context.Background(), sg, k, req, payload, time.Time{}, &exchange.Wire{}); err == nil {
		t.Fatal("key without API key accepted")
	}
}

// Public routes are neither stamped nor signed.
func TestPublicRouteUnsigned(t *testing.T) {
	s := mustScheme(t, 5000)
	sg, key := hmacSigner(t)
	req := &exchange.Request{Method: "GET", Path: "/api/v3/depth", Params: params("symbol", "BTCUSDT", "limit", "10")}
	payload, err := s.Prepare(nil, req, key, time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	w := new(exchange.Wire)
	err = s.Sign(context.Background(), sg, key, req, payload, time.Time{}, w)
	if err != nil {
		t.Fatal(err)
	}
	if w.Query != "symbol=BTCUSDT&limit=10" || w.Header.Get(APIKeyHeader) != "" {
		t.Fatalf("wire %+v", w)
	}
}

// Changing the caller's Request after Authorize changes nothing signed.
func TestMutationAfterAuthorizeChangesNothing(t *testing.T) {
	s := mustScheme(t, 5000)
	sg, _ := hmacSigner(t)
	auth := &exchange.Authorizer{Scheme: s, Signer: sg, Guard: &recorder{}, Audit: &memAudit{},
		Clock: func() time.Time { return time.UnixMilli(1499827319559) }}
	req := docOrder()
	req.Header = exchange.Header{{Name: "X-Test", Value: "a"}, {Name: "X-MBX-APIKEY", Value: "someone-else"}}
	got, err := auth.Authorize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	query := got.Wire.Query
	req.Params[4].Value = "1000"
	req.Params = append(req.Params, exchange.Param{Key: "icebergQty", Value: "1"})
	req.Header.Set("X-Test", "b")
	req.Path = "/api/v3/order/test"
	if got.Wire.Query != query || strings.Contains(got.Wire.Query, "1000") || got.Wire.Header.Get("X-Test") != "a" ||
		got.Wire.Path != "/api/v3/order" || !got.Intent.Orders[0].Quantity.Equal(dec("1")) ||
		len(got.Wire.Header.Values(APIKeyHeader)) != 1 || got.Wire.Header.Get(APIKeyHeader) != docAPIKey || len(got.Wire.Header) != 2 {
		t.Fatalf("wire changed: %+v", got.Wire)
	}
}

func TestAppendQueryMatchesEncode(t *testing.T) {
	for _, p := range []exchange.Params{
		params("symbol", "１２３４５６", "a b", "c+d&e=f", "~-_.", "%/?#", "", ""),
		params("k", "\x00\xff\x7f"),
		nil,
	} {
		if got, want := string(appendQuery(nil, p)), p.Encode(); got != want {
			t.Errorf("appendQuery %q, Encode %q", got, want)
		}
	}
}
