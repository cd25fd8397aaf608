package exchange_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

// splitSignature splits a Binance query into the signed part and the
// signature.
func splitSignature(t *testing.T, query string) (payload, sig string) {
	t.Helper()
	i := strings.LastIndex(query, "&signature=")
	if i < 0 {
		t.Fatalf("query %q carries no signature", query)
	}
	return query[:i], query[i+len("&signature="):]
}

func hmacHex(secret []byte, msg string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func sha256Of(s string) audit.Digest { return sha256.Sum256([]byte(s)) }

func TestAuthorizeAllows(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := limitOrder("50000", "0.01")

	a, err := f.auth.Authorize(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Reservation == nil {
		t.Fatal("no reservation to settle")
	}
	if len(a.Intent.Orders) != 1 || a.Intent.Credential != "bot" || a.Intent.Venue != "binance" || a.Intent.Class() != exchange.ClassTrade {
		t.Fatalf("intent = %+v", a.Intent)
	}

	w := a.Wire
	if w.Method != "POST" || w.Path != "/api/v3/order" {
		t.Fatalf("wire %s %s", w.Method, w.Path)
	}
	if got := w.Header.Get(binance.APIKeyHeader); got != "bot-api-key" {
		t.Errorf("%s = %q, want the key's API key", binance.APIKeyHeader, got)
	}
	payload, sig := splitSignature(t, w.Query)
	wantPayload := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000&recvWindow=5000&timestamp=" +
		strconv.FormatInt(testNow.UnixMilli(), 10)
	if payload != wantPayload {
		t.Errorf("signed query = %q, want %q (stamped with the Authorizer's clock)", payload, wantPayload)
	}
	if want := hmacHex(f.secret, payload); sig != want {
		t.Errorf("signature = %s, want HMAC-SHA256 of the payload %s", sig, want)
	}
	if f.signer.Calls() != 1 {
		t.Errorf("signer called %d times, want 1", f.signer.Calls())
	}
	if f.guard.Releases() != 0 {
		t.Errorf("reservation released %d times on success", f.guard.Releases())
	}

	recs := f.records(t)
	if len(recs) != 1 {
		t.Fatalf("%d audit records, want 1: %+v", len(recs), recs)
	}
	r := recs[0]
	if r.Decision != audit.Allow || r.Rule != "" || r.Reason != "" {
		t.Errorf("record decision=%q rule=%q reason=%q, want a plain allow", r.Decision, r.Rule, r.Reason)
	}
	if r.PayloadSHA256 != sha256Of(payload) {
		t.Errorf("payload_sha256 = %s, want SHA-256 of the signed bytes %s", r.PayloadSHA256, sha256Of(payload))
	}
	if want := f.limits.PolicyHash("bot"); r.PolicySHA256 != want || want.IsZero() {
		t.Errorf("policy_sha256 = %s, want the guard's %s", r.PolicySHA256, want)
	}
	if r.Intent != "POST /api/v3/order: BUY LIMIT 0.01 BTCUSDT @ 50000 GTC" {
		t.Errorf("intent = %q", r.Intent)
	}
	if r.Credential != "bot" || r.Venue != "binance" || r.Class != "trade" || r.Route != "POST /api/v3/order" {
		t.Errorf("record = %+v", r)
	}
	if !r.Time.Equal(testNow) {
		t.Errorf("record time = %v, want the Authorizer's clock %v", r.Time, testNow)
	}

	// The decision is logged too.
	if log := f.logBuf.String(); !strings.Contains(log, `"decision":"allow"`) || !strings.Contains(log, `"level":"INFO"`) {
		t.Errorf("log = %s", log)
	}

	if err := a.Reservation.Commit(ctx, exchange.Outcome{OrderIDs: []string{"1"}, Open: true}); err != nil {
		t.Errorf("Commit: %v", err)
	}
}

// Reads go through the same path: classified, recorded, signed.
func TestAuthorizeRead(t *testing.T) {
	f := newFixture(t)
	a, err := f.auth.Authorize(context.Background(), &exchange.Request{Credential: "bot", Method: "GET", Path: "/api/v3/account"})
	if err != nil {
		t.Fatal(err)
	}
	payload, sig := splitSignature(t, a.Wire.Query)
	if sig != hmacHex(f.secret, payload) {
		t.Error("read request signature does not verify")
	}
	recs := f.records(t)
	if len(recs) != 1 || recs[0].Class != "read" || recs[0].PayloadSHA256 != sha256Of(payload) {
		t.Fatalf("records = %+v", recs)
	}
}

func TestAuthorizeUnknownEndpoint(t *testing.T) {
	f := newFixture(t)
	req := &exchange.Request{Credential: "bot", Method: "POST", Path: "/sapi/v1/secret/drain"}
	a, err := f.auth.Authorize(context.Background(), req)
	if !errors.Is(err, exchange.ErrUnknownEndpoint) || a != nil {
		t.Fatalf("Authorize = %v, %v; want an error wrapping ErrUnknownEndpoint", a, err)
	}
	assertDenied(t, f, "endpoint")
	recs := f.records(t)
	if recs[0].Route != "POST /sapi/v1/secret/drain" || recs[0].Class != "" || !recs[0].PayloadSHA256.IsZero() {
		t.Errorf("record = %+v", recs[0])
	}
}

// assertDenied checks that exactly one deny record with the rule was
// written and that nothing was signed.
func assertDenied(t *testing.T, f *fixture, rule string) {
	t.Helper()
	recs := f.records(t)
	if len(recs) != 1 {
		t.Fatalf("%d audit records, want 1 deny: %+v", len(recs), recs)
	}
	r := recs[0]
	if r.Decision != audit.Deny || r.Rule != rule || r.Reason == "" {
		t.Errorf("record decision=%q rule=%q reason=%q; want deny by %q with a reason", r.Decision, r.Rule, r.Reason, rule)
	}
	if !r.PayloadSHA256.IsZero() {
		t.Errorf("deny record carries a payload hash %s", r.PayloadSHA256)
	}
	if n := f.signer.Calls(); n != 0 {
		t.Errorf("signer called %d times on a denial", n)
	}
	if log := f.logBuf.String(); !strings.Contains(log, `"decision":"deny"`) || !strings.Contains(log, `"level":"WARN"`) || !strings.Contains(log, `"rule":"`+rule+`"`) {
		t.Errorf("log = %s", log)
	}
}

func TestAuthorizeWrongVenue(t *testing.T) {
	f := newFixture(t)
	if err := f.keys.Import(signer.KeyInfo{Name: "kc", Venue: "kucoin", Type: signer.KeyHMAC, APIKey: "k"}, canary(t), nil); err != nil {
		t.Fatal(err)
	}
	req := limitOrder("50000", "0.01")
	req.Credential = "kc"
	_, err := f.auth.Authorize(context.Background(), req)
	if !errors.Is(err, exchange.ErrWrongVenue) {
		t.Fatalf("Authorize = %v, want ErrWrongVenue", err)
	}
	if !strings.Contains(err.Error(), "kucoin") {
		t.Errorf("error %q does not name the key's venue", err)
	}
	assertDenied(t, f, "credential")
}

func TestAuthorizeUnknownCredential(t *testing.T) {
	f := newFixture(t)
	req := limitOrder("50000", "0.01")
	req.Credential = "nobody"
	_, err := f.auth.Authorize(context.Background(), req)
	if !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("Authorize = %v, want signer.ErrKeyNotFound", err)
	}
	assertDenied(t, f, "credential")
}

func TestAuthorizeMalformedIntent(t *testing.T) {
	f := newFixture(t)
	req := limitOrder("50000", "0.01")
	req.Params = append(req.Params, exchange.Param{Key: "price", Value: "1"}) // given twice
	_, err := f.auth.Authorize(context.Background(), req)
	if !errors.Is(err, exchange.ErrMalformedRequest) {
		t.Fatalf("Authorize = %v, want ErrMalformedRequest", err)
	}
	assertDenied(t, f, "intent")
}

func TestAuthorizeGuardDenies(t *testing.T) {
	tests := []struct {
		name, price, qty, rule string
	}{
		{"price band", "60000", "0.001", "price_band"},
		{"order notional", "50000", "0.03", "order_notional"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.auth.Authorize(context.Background(), limitOrder(tt.price, tt.qty))
			if !errors.Is(err, limits.ErrDenied) {
				t.Fatalf("Authorize = %v, want limits.ErrDenied", err)
			}
			var v *limits.Violation
			if !errors.As(err, &v) || string(v.Rule) != tt.rule {
				t.Fatalf("violation = %+v, want rule %s", v, tt.rule)
			}
			assertDenied(t, f, tt.rule)
			r := f.records(t)[0]
			if r.Reason != err.Error() || r.Intent != "POST /api/v3/order: BUY LIMIT "+tt.qty+" BTCUSDT @ "+tt.price+" GTC" || r.Class != "trade" {
				t.Errorf("record = %+v", r)
			}
			if r.PolicySHA256 != f.limits.PolicyHash("bot") {
				t.Errorf("deny record policy_sha256 = %s", r.PolicySHA256)
			}
		})
	}
}

// ruleGuard refuses every intent with err.
type ruleGuard struct{ err error }

func (g ruleGuard) Check(context.Context, *exchange.Intent) (exchange.Reservation, error) {
	return nil, g.err
}
func (g ruleGuard) PolicyHash(string) audit.Digest { return ruleGuardPolicy() }

// ruleGuardPolicy returns the policy digest ruleGuard reports.
func ruleGuardPolicy() audit.Digest { return audit.Digest{0: 0xab, 31: 0xab} }

type namedRule struct{}

func (namedRule) Error() string    { return "custom refusal" }
func (namedRule) RuleName() string { return "custom_rule" }

func TestAuthorizeDenyRuleNames(t *testing.T) {
	tests := []struct {
		err  error
		rule string
	}{
		{namedRule{}, "custom_rule"},
		{fmt.Errorf("wrapped: %w", namedRule{}), "custom_rule"},
		{&exchange.RateLimitError{Venue: "binance", Limit: "ban", Banned: true}, "rate"},
		{errors.New("store down"), "guard"},
	}
	for _, tt := range tests {
		f := newFixture(t)
		f.auth.Guard = ruleGuard{tt.err}
		_, err := f.auth.Authorize(context.Background(), limitOrder("50000", "0.01"))
		if !errors.Is(err, tt.err) {
			t.Errorf("Authorize = %v, want %v", err, tt.err)
		}
		recs := f.records(t)
		if len(recs) != 1 || recs[0].Rule != tt.rule || recs[0].PolicySHA256 != ruleGuardPolicy() {
			t.Errorf("guard error %v: records %+v, want one deny by %q", tt.err, recs, tt.rule)
		}
		if f.signer.Calls() != 0 {
			t.Error("signed a denied request")
		}
	}
}

func TestAuthorizeRateRefusalReleases(t *testing.T) {
	f := newFixture(t)
	rate := &refusingRate{}
	f.auth.Rate = rate
	_, err := f.auth.Authorize(context.Background(), limitOrder("50000", "0.01"))
	if !errors.Is(err, exchange.ErrRateLimited) {
		t.Fatalf("Authorize = %v, want ErrRateLimited", err)
	}
	if f.guard.Releases() != 1 {
		t.Errorf("reservation released %d times, want 1", f.guard.Releases())
	}
	if len(rate.waits) != 1 || rate.waits[0] != (exchange.Cost{Weight: 1, Orders: 1}) {
		t.Errorf("rate limiter asked for %+v, want the route's cost", rate.waits)
	}
	assertDenied(t, f, "rate")

	// The released budget is usable again: with the limiter gone, five
	// orders of 1000 USDT fill the 5000 USDT daily cap exactly.
	f.auth.Rate = nil
	for i := range 5 {
		if _, err := f.auth.Authorize(context.Background(), limitOrder("50000", "0.02")); err != nil {
			t.Fatalf("order %d after the refusal: %v", i, err)
		}
	}
}

// A real rate guard whose capacity the request exceeds refuses at once
// (the context has no time to wait) and the reservation goes back.
func TestAuthorizeRealRateGuard(t *testing.T) {
	f := newFixture(t)
	rg, err := limits.NewRateGuard("binance", []limits.RateLimit{{Name: "REQUEST_WEIGHT", Interval: time.Minute, Limit: 1, Counts: limits.RateWeight}},
		limits.RateMargin(0),
		limits.RateClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	f.auth.Rate = rg
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := f.auth.Authorize(ctx, limitOrder("50000", "0.01")); err != nil {
		t.Fatalf("first request: %v", err)
	}
	// The venue reports the window full.
	rg.Observe(exchange.Usage{At: testNow, Status: 200, Used: map[string]int{exchange.BucketKey("REQUEST_WEIGHT", time.Minute): 1}})
	_, err = f.auth.Authorize(ctx, limitOrder("50000", "0.01"))
	if !errors.Is(err, exchange.ErrRateLimited) {
		t.Fatalf("second request = %v, want ErrRateLimited", err)
	}
	if f.guard.Releases() != 1 || f.signer.Calls() != 1 {
		t.Errorf("releases=%d signatures=%d, want 1 and 1", f.guard.Releases(), f.signer.Calls())
	}
	recs := f.records(t)
	if len(recs) != 2 || recs[1].Decision != audit.Deny || recs[1].Rule != "rate" {
		t.Errorf("records = %+v", recs)
	}
}

func TestAuthorizeAuditFailureSignsNothing(t *testing.T) {
	f := newFixture(t)
	aud := &recordingAuditor{failOn: audit.Allow}
	f.auth.Audit = aud
	a, err := f.auth.Authorize(context.Background(), limitOrder("50000", "0.01"))
	if !errors.Is(err, exchange.ErrAudit) || !errors.Is(err, errDiskFull) || a != nil {
		t.Fatalf("Authorize = %v, %v; want an error wrapping ErrAudit and the cause", a, err)
	}
	if f.signer.Calls() != 0 {
		t.Errorf("signer called %d times although the decision was not recorded", f.signer.Calls())
	}
	if f.guard.Releases() != 1 {
		t.Errorf("reservation released %d times, want 1", f.guard.Releases())
	}
	if recs := aud.Records(); len(recs) != 0 {
		t.Errorf("records = %+v", recs)
	}
}

// A real audit log that is closed refuses to record; nothing is signed.
func TestAuthorizeClosedAuditLog(t *testing.T) {
	f := newFixture(t)
	if err := f.log.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := f.auth.Authorize(context.Background(), limitOrder("50000", "0.01"))
	if !errors.Is(err, exchange.ErrAudit) || !errors.Is(err, audit.ErrWrite) {
		t.Fatalf("Authorize = %v, want ErrAudit wrapping audit.ErrWrite", err)
	}
	if f.signer.Calls() != 0 || f.guard.Releases() != 1 {
		t.Errorf("signatures=%d releases=%d, want 0 and 1", f.signer.Calls(), f.guard.Releases())
	}
}

// When the deny record cannot be written, the error says both.
func TestAuthorizeDenyAuditFailure(t *testing.T) {
	f := newFixture(t)
	f.auth.Audit = &recordingAuditor{failOn: audit.Deny}
	_, err := f.auth.Authorize(context.Background(), &exchange.Request{Credential: "bot", Method: "GET", Path: "/nope"})
	if !errors.Is(err, exchange.ErrUnknownEndpoint) || !errors.Is(err, exchange.ErrAudit) || !errors.Is(err, errDiskFull) {
		t.Fatalf("Authorize = %v, want ErrUnknownEndpoint joined with ErrAudit", err)
	}
}

// A key the scheme cannot sign with fails after the guard: the reservation
// goes back.
func TestAuthorizeSignFailureReleases(t *testing.T) {
	f := newFixture(t)
	if err := f.keys.Import(signer.KeyInfo{Name: "nokey", Venue: "binance", Type: signer.KeyHMAC}, canary(t), nil); err != nil {
		t.Fatal(err)
	}
	guard := &recordingGuard{Guard: ruleAllGuard{}}
	f.auth.Guard = guard
	req := limitOrder("50000", "0.01")
	req.Credential = "nokey"
	a, err := f.auth.Authorize(context.Background(), req)
	if err == nil || a != nil {
		t.Fatalf("Authorize = %v, %v; want an error", a, err)
	}
	if !strings.Contains(err.Error(), "no API key") {
		t.Errorf("error %q does not say what is wrong", err)
	}
	if guard.Releases() != 1 {
		t.Errorf("reservation released %d times, want 1", guard.Releases())
	}
}

// ruleAllGuard allows everything with a reservation that does nothing.
type ruleAllGuard struct{}

func (ruleAllGuard) Check(context.Context, *exchange.Intent) (exchange.Reservation, error) {
	return nopReservation{}, nil
}
func (ruleAllGuard) PolicyHash(string) audit.Digest { return audit.Digest{} }

type nopReservation struct{}

func (nopReservation) Commit(context.Context, exchange.Outcome) error { return nil }
func (nopReservation) Release(context.Context, error) error           { return nil }

// nilGuard allows with no reservation, which the Authorizer cannot settle.
type nilGuard struct{}

func (nilGuard) Check(context.Context, *exchange.Intent) (exchange.Reservation, error) {
	return nil, nil
}
func (nilGuard) PolicyHash(string) audit.Digest { return audit.Digest{} }

func TestAuthorizeGuardWithoutReservation(t *testing.T) {
	f := newFixture(t)
	f.auth.Guard = nilGuard{}
	a, err := f.auth.Authorize(context.Background(), limitOrder("50000", "0.01"))
	if err == nil || a != nil {
		t.Fatalf("Authorize = %v, %v; want a refusal", a, err)
	}
	assertDenied(t, f, "guard")
}

func TestAuthorizeCallerMutationAfterwards(t *testing.T) {
	f := newFixture(t)
	req := limitOrder("50000", "0.01")
	req.Header = exchange.Header{{Name: "X-Trace", Value: "1"}}
	before := req.Clone()
	a, err := f.auth.Authorize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// Authorize stamps and signs its own copy, never the caller's request.
	if len(req.Params) != len(before.Params) || req.Params.Has("timestamp") || req.Params.Has("signature") || req.Header.Get(binance.APIKeyHeader) != "" {
		t.Errorf("caller's request was changed: %+v", req)
	}
	query, header := a.Wire.Query, a.Wire.Header.Clone()

	req.Params[4].Value = "1000" // quantity
	req.Params = append(req.Params, exchange.Param{Key: "x", Value: "y"})
	req.Header.Set("X-Trace", "2")
	req.Header.Set(binance.APIKeyHeader, "evil")
	if a.Wire.Query != query || a.Wire.Header.Get("X-Trace") != "1" || a.Wire.Header.Get(binance.APIKeyHeader) != header.Get(binance.APIKeyHeader) {
		t.Errorf("wire changed with the caller's request: %q %v", a.Wire.Query, a.Wire.Header)
	}
	if a.Intent.Orders[0].Quantity.String() != "0.01" {
		t.Errorf("intent changed: %v", a.Intent.Orders[0])
	}
}

// A caller that changes its request while Authorize runs (here: while the
// guard decides) changes nothing that is checked, recorded or signed.
func TestAuthorizeCallerMutationDuring(t *testing.T) {
	f := newFixture(t)
	req := limitOrder("50000", "0.01")
	req.Body = []byte("newClientOrderId=abc")
	f.guard.onCheck = func(in *exchange.Intent) {
		req.Params[4].Value = "1000" // quantity
		req.Params[5].Value = "1"    // price
		req.Body[0] = 'X'
		req.Params = append(req.Params, exchange.Param{Key: "timestamp", Value: "1"})
	}
	a, err := f.auth.Authorize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	payload, sig := splitSignature(t, a.Wire.Query)
	if strings.Contains(payload, "quantity=1000") || !strings.Contains(payload, "quantity=0.01&price=50000") {
		t.Errorf("signed query %q follows the caller's late change", payload)
	}
	if string(a.Wire.Body) != "newClientOrderId=abc" {
		t.Errorf("wire body = %q", a.Wire.Body)
	}
	signed := payload + string(a.Wire.Body)
	if sig != hmacHex(f.secret, signed) {
		t.Error("signature does not cover query followed by body")
	}
	if r := f.records(t)[0]; r.PayloadSHA256 != sha256Of(signed) {
		t.Errorf("payload_sha256 = %s, want %s", r.PayloadSHA256, sha256Of(signed))
	}
}

func TestAuthorizeMissingFields(t *testing.T) {
	f := newFixture(t)
	full := *f.auth
	tests := map[string]func(a *exchange.Authorizer){
		"no scheme": func(a *exchange.Authorizer) { a.Scheme = nil },
		"no signer": func(a *exchange.Authorizer) { a.Signer = nil },
		"no guard":  func(a *exchange.Authorizer) { a.Guard = nil },
		"no audit":  func(a *exchange.Authorizer) { a.Audit = nil },
		"zero":      func(a *exchange.Authorizer) { *a = exchange.Authorizer{} },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			a := full
			mutate(&a)
			got, err := a.Authorize(context.Background(), limitOrder("50000", "0.01"))
			if err == nil || got != nil {
				t.Fatalf("Authorize = %v, %v; want an error", got, err)
			}
		})
	}
	var nilAuth *exchange.Authorizer
	if _, err := nilAuth.Authorize(context.Background(), limitOrder("50000", "0.01")); err == nil {
		t.Error("nil Authorizer: no error")
	}
	if _, err := full.Authorize(context.Background(), nil); err == nil {
		t.Error("nil Request: no error")
	}
	if f.signer.Calls() != 0 {
		t.Error("signed with an incomplete Authorizer")
	}
}

// The HMAC secret appears in no record, error, log line or wire, whatever
// path a request takes.
func TestAuthorizeSecretNeverLeaks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var errs []string
	var wires []string
	for _, req := range []*exchange.Request{
		limitOrder("50000", "0.01"),
		limitOrder("60000", "0.01"),
		{Credential: "bot", Method: "GET", Path: "/unknown"},
		{Credential: "bot", Method: "GET", Path: "/api/v3/account"},
		{Credential: "missing", Method: "GET", Path: "/api/v3/account"},
	} {
		a, err := f.auth.Authorize(ctx, req)
		if err != nil {
			errs = append(errs, err.Error(), fmt.Sprintf("%+v %#v", err, err))
			continue
		}
		wires = append(wires, fmt.Sprintf("%+v %s", a, a.Wire.Query), fmt.Sprint(a.Wire.Header), string(a.Wire.Body))
	}
	f.auth.Audit = &recordingAuditor{failOn: audit.Allow}
	if _, err := f.auth.Authorize(ctx, limitOrder("50000", "0.01")); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) < 4 || len(wires) < 2 {
		t.Fatalf("paths not taken: %d errors, %d wires", len(errs), len(wires))
	}
	hay := map[string]string{
		"audit file": string(f.auditBytes(t)),
		"log":        f.logBuf.String(),
		"errors":     strings.Join(errs, "\n"),
		"wires":      strings.Join(wires, "\n"),
	}
	if hay["log"] == "" {
		t.Fatal("nothing was logged")
	}
	forms := []string{string(f.secret), hex.EncodeToString(f.secret), base64.StdEncoding.EncodeToString(f.secret), "CANARY"}
	for where, text := range hay {
		for _, s := range forms {
			if strings.Contains(text, s) {
				t.Errorf("the secret (as %q) appears in the %s", s, where)
			}
		}
	}
	if bytes.Contains(f.auditBytes(t), f.secret) {
		t.Error("secret in the audit file")
	}
}

// A request that already carries a signature is refused before signing.
func TestAuthorizePresignedRefused(t *testing.T) {
	f := newFixture(t)
	req := &exchange.Request{Credential: "bot", Method: "GET", Path: "/api/v3/account",
		Params: exchange.Params{{Key: "signature", Value: "00"}}}
	_, err := f.auth.Authorize(context.Background(), req)
	if !errors.Is(err, exchange.ErrMalformedRequest) {
		t.Fatalf("Authorize = %v, want ErrMalformedRequest", err)
	}
	assertDenied(t, f, "intent")
}

// Without a Clock the Authorizer stamps the current time.
func TestAuthorizeDefaultClock(t *testing.T) {
	f := newFixture(t)
	f.auth.Clock = nil
	f.auth.Guard = ruleAllGuard{}
	before := time.Now().UnixMilli()
	a, err := f.auth.Authorize(context.Background(), &exchange.Request{Credential: "bot", Method: "GET", Path: "/api/v3/account"})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().UnixMilli()
	if ts := signedTimestamp(t, a); ts < before || ts > after {
		t.Errorf("timestamp %d outside [%d, %d]", ts, before, after)
	}
}

// signedTimestamp returns the timestamp parameter a was signed with.
func signedTimestamp(t *testing.T, a *exchange.Authorized) int64 {
	t.Helper()
	payload, _ := splitSignature(t, a.Wire.Query)
	ps, err := exchange.ParseParams(payload)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := ps.Get("timestamp")
	ts, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("timestamp %q: %v", v, err)
	}
	return ts
}

// advancingRate is a rate guard whose Wait takes a minute of a fake clock.
type advancingRate struct{ now *time.Time }

func (r advancingRate) Wait(context.Context, exchange.Cost) error {
	*r.now = r.now.Add(time.Minute)
	return nil
}
func (advancingRate) Observe(exchange.Usage) {}

// The Authorizer reads its clock once for the decision: the guard judges
// the intent at that time and the record carries it. The request is
// stamped on the venue's clock (plus Offset), read again after a rate
// wait.
func TestAuthorizeClockAndOffset(t *testing.T) {
	f := newFixture(t)
	now, reads := testNow, 0
	f.auth.Clock = func() time.Time { reads++; return now }
	f.auth.Offset = func() time.Duration { return 2 * time.Second }
	var judged time.Time
	f.guard.onCheck = func(in *exchange.Intent) { judged = in.At }

	a, err := f.auth.Authorize(context.Background(), limitOrder("50000", "0.01"))
	if err != nil {
		t.Fatal(err)
	}
	if reads != 1 {
		t.Errorf("clock read %d times without a rate guard, want once", reads)
	}
	if !judged.Equal(testNow) || !a.Intent.At.Equal(testNow) {
		t.Errorf("guard judged at %v (intent at %v), want %v", judged, a.Intent.At, testNow)
	}
	if got, want := signedTimestamp(t, a), testNow.Add(2*time.Second).UnixMilli(); got != want {
		t.Errorf("timestamp %d, want the local time plus the offset %d", got, want)
	}

	f.auth.Rate = advancingRate{&now}
	reads = 0
	a, err = f.auth.Authorize(context.Background(), limitOrder("50000", "0.01"))
	if err != nil {
		t.Fatal(err)
	}
	if reads != 2 {
		t.Errorf("clock read %d times with a rate guard, want twice", reads)
	}
	if !judged.Equal(testNow) {
		t.Errorf("guard judged at %v, want before the wait %v", judged, testNow)
	}
	if got, want := signedTimestamp(t, a), testNow.Add(time.Minute+2*time.Second).UnixMilli(); got != want {
		t.Errorf("timestamp %d, want the time after the wait plus the offset %d", got, want)
	}
	recs := f.records(t)
	if len(recs) != 2 || !recs[0].Time.Equal(testNow) || !recs[1].Time.Equal(testNow) {
		t.Fatalf("records %+v, want both at the decision time %v", recs, testNow)
	}
}

// TestAuthorizedOutlivesLaterRequests: what Authorize returns shares no
// storage with the state it recycles for the requests after it.
func TestAuthorizedOutlivesLaterRequests(t *testing.T) {
	f := newFixture(t)
	first, err := f.auth.Authorize(context.Background(), limitOrder("50000", "0.01"))
	if err != nil {
		t.Fatal(err)
	}
	query, intent, header := first.Wire.Query, first.Intent.String(), first.Wire.Header.Clone()
	for i := range 20 {
		a, err := f.auth.Authorize(context.Background(), limitOrder("49900", fmt.Sprintf("0.00%d", i%9+1)))
		if err != nil {
			t.Fatal(err)
		}
		// The venue's answer: closed, nothing filled.
		if err := a.Reservation.Commit(context.Background(), exchange.Outcome{}); err != nil {
			t.Fatal(err)
		}
	}
	if first.Wire.Query != query || first.Intent.String() != intent || !reflect.DeepEqual(first.Wire.Header, header) {
		t.Errorf("the first authorization changed: %q %q %v", first.Wire.Query, first.Intent.String(), first.Wire.Header)
	}
}

// The state Authorize recycles is not cleared between requests: a request
// with fewer parameters, a shorter summary and a shorter payload than the
// one before it is checked, recorded and signed with nothing of the one
// before.
func TestAuthorizeRecycledStateLeaksNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	long := limitOrder("50000", "0.01")
	long.Params = append(long.Params, exchange.Param{Key: "newClientOrderId", Value: "a-long-client-order-id-0123456789"})
	short := &exchange.Request{Credential: "bot", Method: "GET", Path: "/api/v3/account"}
	for range 3 {
		for _, req := range []*exchange.Request{long, short} {
			a, err := f.auth.Authorize(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			payload, _ := splitSignature(t, a.Wire.Query)
			want := req.Params.Encode()
			if want != "" {
				want += "&"
			}
			want += "recvWindow=5000&timestamp=" + strconv.FormatInt(testNow.UnixMilli(), 10)
			if payload != want {
				t.Fatalf("signed %q, want %q", payload, want)
			}
			if err := a.Reservation.Release(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	shorts := 0
	for _, r := range f.records(t) {
		if r.Route != "GET /api/v3/account" {
			continue
		}
		shorts++
		if r.Intent != "GET /api/v3/account" || r.Class != "read" {
			t.Fatalf("record of the short request: %+v", r)
		}
	}
	if shorts != 3 {
		t.Fatalf("%d records of the short request, want 3", shorts)
	}
}
