package coinbase

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/internal/venueauth"
	"github.com/keyfence/keyfence/signer"
)

// TestStampAtStampsTheJWT: a client whose Config.StampAt is set mints its
// JWTs with nbf at that time and exp its lifetime later, whatever the
// clock says; Coinbase's verification accepts the token at that time and
// refuses it now. The guard and the audit record still run on the clock,
// and the requests the client sends are stamped on it.
func TestStampAtStampsTheJWT(t *testing.T) {
	stamp := time.Unix(1700000000, 0)
	e, err := newEnv(t, signer.KeyECDSAP256, exchange.Permissions{Read: true, Trade: true}, func(c *Config) {
		c.StampAt, c.SkipKeyCheck = stamp, true
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.c.Close() })
	before := time.Now()
	res, err := e.c.Authorize(context.Background(), &exchange.Request{Method: http.MethodGet, Path: Prefix + "/accounts"})
	if err != nil {
		t.Fatal(e.seen(err))
	}
	after := time.Now()
	h := res.Wire.Header.HTTP()
	token := strings.TrimPrefix(h.Get("Authorization"), "Bearer ")
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatal("no JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Nbf, Exp int64 }
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Nbf != stamp.Unix() || claims.Exp != stamp.Add(JWTLifetime).Unix() {
		t.Fatalf("nbf %d exp %d, want %d and %d", claims.Nbf, claims.Exp, stamp.Unix(), stamp.Add(JWTLifetime).Unix())
	}
	r := httptest.NewRequest(res.Wire.Method, res.Wire.URL(e.sim.URL()), nil)
	r.Header = h
	lookup := func(kid string) (crypto.PublicKey, bool) { return e.key.priv.Public(), kid == keyName }
	if _, why := venueauth.VerifyCoinbase(r, stamp.Add(time.Second), lookup); why != "" {
		t.Errorf("refused at the stamp: %s", why)
	}
	if _, why := venueauth.VerifyCoinbase(r, time.Now(), lookup); why == "" {
		t.Error("a token stamped in 2023 accepted now")
	}
	if at := res.Intent.At; at.Before(before) || at.After(after) {
		t.Errorf("the guard judged the request at %v, not on the clock", at)
	}
	recs := e.a.records()
	if len(recs) == 0 || recs[len(recs)-1].Time.Before(before) || recs[len(recs)-1].Time.After(after) {
		t.Errorf("audit records %+v: want the last on the clock", recs)
	}
	// What the client sends is stamped on the clock: the simulator takes it.
	if _, err := e.c.Do(context.Background(), &exchange.Request{Method: http.MethodGet, Path: Prefix + "/accounts"}); err != nil {
		t.Fatalf("a request the client sends: %v", e.seen(err))
	}
}
