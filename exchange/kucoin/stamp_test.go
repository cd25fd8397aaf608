package kucoin

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// TestStampAtSignsTheDocumentedVectors: an Authorizer whose StampAt is
// the vectors' time puts it in KC-API-TIMESTAMP (never in the query) and
// signs the KuCoin vectors of VENUES.md byte for byte, whatever the clock
// and the venue's offset say; the guard and the audit record still run on
// the clock.
func TestStampAtSignsTheDocumentedVectors(t *testing.T) {
	sg, _ := memSigner(t, "kc", "test_api_key", "test_api_secret", "test_passphrase")
	cases := []struct {
		name string
		req  *exchange.Request
		sign string
	}{
		{"GET", &exchange.Request{Credential: "kc", Method: http.MethodGet, Path: "/api/v1/accounts", Params: params("currency", "BTC")},
			"AtR2fpomVFyr6IHrW9PF5Yx6kYeh00c1/xyAyGmfOBw="},
		{"POST", &exchange.Request{Credential: "kc", Method: http.MethodPost, Path: "/api/v1/hf/orders",
			Body: []byte(`{"clientOid":"5c52e11203aa677f33e493fb","side":"buy","symbol":"BTC-USDT","type":"limit","price":"10000","size":"0.001"}`)},
			"n0ZAGr6Z+/X7sg10JgxVrEQTtpvwDKDicJ0TmYcehzU="},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, a := &recorder{}, &memAudit{}
			auth := &exchange.Authorizer{Scheme: mustScheme(t, "2"), Signer: sg, Guard: g, Audit: a,
				Offset: func() time.Duration { return time.Hour }, StampAt: time.UnixMilli(1234567890000)}
			before := time.Now()
			res, err := auth.Authorize(context.Background(), c.req)
			if err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			h := res.Wire.Header.HTTP()
			if got := h.Get("KC-API-TIMESTAMP"); got != "1234567890000" {
				t.Errorf("KC-API-TIMESTAMP %q, want the stamp", got)
			}
			if got := h.Get("KC-API-SIGN"); got != c.sign {
				t.Errorf("KC-API-SIGN %q, want the documented %q", got, c.sign)
			}
			if got := h.Get("KC-API-PASSPHRASE"); got != "Ikr9KjwgA4urCb5Az1TNKgQELW10z84iOq+wsZsRRz0=" {
				t.Errorf("KC-API-PASSPHRASE is not the documented vector")
			}
			if c.req.Method == http.MethodGet && res.Wire.Query != "currency=BTC" {
				t.Errorf("query %q: the stamp goes in the header only", res.Wire.Query)
			}
			recs := a.records()
			if at := res.Intent.At; at.Before(before) || at.After(after) {
				t.Errorf("the guard judged the request at %v, not on the clock", at)
			}
			if len(recs) != 1 || recs[0].Time.Before(before) || recs[0].Time.After(after) {
				t.Errorf("audit records %+v: want one on the clock", recs)
			}
		})
	}
}
