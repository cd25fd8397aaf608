package binance

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// TestStampAtSignsTheDocumentedOrder: an Authorizer whose StampAt is the
// documentation's time puts it in the timestamp parameter and signs the
// documentation's LIMIT order byte for byte (VENUES.md 2.1), whatever the
// clock and the venue's offset say; the guard and the audit record still
// run on the clock.
func TestStampAtSignsTheDocumentedOrder(t *testing.T) {
	sg, _ := hmacSigner(t)
	g, a := &recorder{}, &memAudit{}
	auth := &exchange.Authorizer{Scheme: mustScheme(t, 5000), Signer: sg, Guard: g, Audit: a,
		Offset: func() time.Duration { return time.Hour }, StampAt: time.UnixMilli(1499827319559)}
	before := time.Now()
	res, err := auth.Authorize(context.Background(), &exchange.Request{Credential: "doc", Method: http.MethodPost, Path: "/api/v3/order",
		Params: params("symbol", "LTCBTC", "side", "BUY", "type", "LIMIT", "timeInForce", "GTC", "quantity", "1", "price", "0.1")})
	if err != nil {
		t.Fatal(err)
	}
	const want = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559" +
		"&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
	if res.Wire.Query != want {
		t.Fatalf("query\n%s\nwant the documentation's\n%s", res.Wire.Query, want)
	}
	after := time.Now()
	recs := a.records()
	if at := res.Intent.At; at.Before(before) || at.After(after) {
		t.Errorf("the guard judged the order at %v, not on the clock", at)
	}
	if len(recs) != 1 || recs[0].Time.Before(before) || recs[0].Time.After(after) {
		t.Errorf("audit records %+v: want one on the clock", recs)
	}
}

// TestStampAtAheadRefused: a stamp later than the venue's time would make
// a signature that outlives its reservation's grace; nothing is signed,
// the denial is recorded and the reservation released. A stamp ahead of
// the local clock but not of the venue's (the offset) is signed.
func TestStampAtAheadRefused(t *testing.T) {
	sg, _ := hmacSigner(t)
	g, a := &recorder{}, &memAudit{}
	auth := &exchange.Authorizer{Scheme: mustScheme(t, 5000), Signer: sg, Guard: g, Audit: a,
		Offset: func() time.Duration { return time.Hour }, StampAt: time.Now().Add(2 * time.Hour)}
	req := &exchange.Request{Credential: "doc", Method: http.MethodGet, Path: "/api/v3/account"}
	res, err := auth.Authorize(context.Background(), req)
	if !errors.Is(err, exchange.ErrStampAhead) || res != nil {
		t.Fatalf("Authorize %v %v, want ErrStampAhead and no signature", res, err)
	}
	recs := a.records()
	if len(recs) != 1 || recs[0].Rule != "stamp" || recs[0].Decision != "deny" {
		t.Errorf("audit records %+v, want one denial", recs)
	}
	if _, releases, _ := g.snapshot(); len(releases) != 1 {
		t.Errorf("%d releases, want the reservation released", len(releases))
	}
	auth.StampAt = time.Now().Add(30 * time.Minute)
	if _, err := auth.Authorize(context.Background(), req); err != nil {
		t.Fatalf("a stamp behind the venue's time: %v", err)
	}
}
