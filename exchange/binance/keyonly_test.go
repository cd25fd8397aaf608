package binance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
)

// TestListenKeyRouteCarriesTheAPIKeyOnly: the user-data-stream routes are
// sent with the API key and neither timestamp nor signature, as Binance
// documents them.
func TestListenKeyRouteCarriesTheAPIKeyOnly(t *testing.T) {
	s, err := NewScheme(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"POST", "PUT", "DELETE"} {
		req := &exchange.Request{Method: method, Path: "/api/v3/userDataStream"}
		if method != "POST" {
			req.Params = exchange.Params{{Key: "listenKey", Value: "abc"}}
		}
		route, err := s.Classify(req)
		if err != nil || !route.Signed || route.Class != exchange.ClassRead {
			t.Fatalf("%s: route %+v, %v; want a read that needs the credential", method, route, err)
		}
		key := signer.KeyInfo{Name: "k", Venue: Venue, APIKey: "PUBLIC-KEY", Type: signer.KeyHMAC}
		payload, err := s.Prepare(nil, req, key, time.UnixMilli(1700000000000))
		if err != nil {
			t.Fatal(err)
		}
		var w exchange.Wire
		if err := s.Sign(context.Background(), nil, key, req, payload, time.Now(), &w); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(w.Query, "timestamp") || strings.Contains(w.Query, "signature") || strings.Contains(w.Query, "recvWindow") {
			t.Fatalf("%s: query %q carries what Binance does not take on this route", method, w.Query)
		}
		if w.Header.Get(APIKeyHeader) != "PUBLIC-KEY" {
			t.Fatalf("%s: no API key header: %v", method, w.Header)
		}
	}
}
