package kucoin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
)

// sign runs Classify, Prepare and Sign as the Authorizer does.
func sign(t *testing.T, s *Scheme, sg signer.Signer, key signer.KeyInfo, req *exchange.Request, now time.Time) ([]byte, *exchange.Wire, error) {
	t.Helper()
	r := req.Clone()
	if _, err := s.Classify(r); err != nil {
		return nil, nil, err
	}
	payload, err := s.Prepare(nil, r, key, now)
	if err != nil {
		return nil, nil, err
	}
	w := new(exchange.Wire)
	err = s.Sign(context.Background(), sg, key, r, payload, now, w)
	return payload, w, err
}

// The VENUES.md 2.9 KuCoin fixtures, through the scheme.
func TestSchemeVectors(t *testing.T) {
	sg, key := memSigner(t, "doc", docAPIKey, docSecret, docPassphrase)
	now := time.UnixMilli(docTS)
	const postBody = `{"clientOid":"5c52e11203aa677f33e493fb","side":"buy","symbol":"BTC-USDT","type":"limit","price":"10000","size":"0.001"}`
	tests := []struct {
		name, prehash, sign, query string
		req                        *exchange.Request
	}{
		{"GET", "1234567890000GET/api/v1/accounts?currency=BTC", "AtR2fpomVFyr6IHrW9PF5Yx6kYeh00c1/xyAyGmfOBw=", "currency=BTC",
			&exchange.Request{Credential: "doc", Method: "GET", Path: "/api/v1/accounts", Params: params("currency", "BTC")}},
		{"POST", "1234567890000POST/api/v1/hf/orders" + postBody, "n0ZAGr6Z+/X7sg10JgxVrEQTtpvwDKDicJ0TmYcehzU=", "",
			&exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v1/hf/orders", Body: []byte(postBody)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload, w, err := sign(t, mustScheme(t, ""), sg, key, tc.req, now)
			if err != nil {
				t.Fatal(err)
			}
			if string(payload) != tc.prehash {
				t.Fatalf("prehash %q, want %q", payload, tc.prehash)
			}
			h := w.Header
			for k, want := range map[string]string{
				HeaderSign: tc.sign, HeaderPassphrase: "Ikr9KjwgA4urCb5Az1TNKgQELW10z84iOq+wsZsRRz0=",
				HeaderTimestamp: "1234567890000", HeaderKey: docAPIKey, HeaderKeyVersion: "2", "Content-Type": "application/json",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if w.Query != tc.query || string(w.Body) != string(tc.req.Body) {
				t.Errorf("wire query %q body %q, want %q and the request's body", w.Query, w.Body, tc.query)
			}
		})
	}
}

func TestSchemeKeyVersion(t *testing.T) {
	sg, key := memSigner(t, "doc", docAPIKey, docSecret, docPassphrase)
	_, w, err := sign(t, mustScheme(t, "3"), sg, key, &exchange.Request{Credential: "doc", Method: "GET", Path: "/api/v1/accounts"}, time.UnixMilli(docTS))
	if err != nil {
		t.Fatal(err)
	}
	if v := w.Header.Get(HeaderKeyVersion); v != "3" {
		t.Fatalf("key version %q, want 3", v)
	}
	for _, v := range []string{"1", "4", "v2"} {
		if _, err := NewScheme(v); err == nil {
			t.Errorf("NewScheme(%q) accepted", v)
		}
	}
}

func TestSchemeRefusals(t *testing.T) {
	sg, key := memSigner(t, "doc", docAPIKey, docSecret, docPassphrase)
	noPass, noPassKey := memSigner(t, "nopass", docAPIKey, docSecret, "")
	now := time.UnixMilli(docTS)
	tests := []struct {
		name string
		sg   signer.Signer
		key  signer.KeyInfo
		req  exchange.Request
		want string
	}{
		{"escaped query value", sg, key, exchange.Request{Method: "GET", Path: "/api/v1/accounts", Params: params("currency", "BTC USDT")}, "escap"},
		{"query on POST", sg, key, exchange.Request{Method: "POST", Path: "/api/v1/hf/orders", Params: params("a", "b"), Body: []byte(`{}`)}, "POST"},
		{"body on GET", sg, key, exchange.Request{Method: "GET", Path: "/api/v1/accounts", Body: []byte(`{}`)}, "no body"},
		{"presigned", sg, key, exchange.Request{Method: "GET", Path: "/api/v1/accounts", Header: exchange.Header{{Name: "Kc-Api-Sign", Value: "x"}}}, "already"},
		{"no passphrase", noPass, noPassKey, exchange.Request{Method: "GET", Path: "/api/v1/accounts"}, "passphrase"},
		{"no passphrase signer", signOnly{sg}, key, exchange.Request{Method: "GET", Path: "/api/v1/accounts"}, "PassphraseSigner"},
		{"unknown route", sg, key, exchange.Request{Method: "GET", Path: "/api/v1/nope"}, "not classified"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := sign(t, mustScheme(t, ""), tc.sg, tc.key, &tc.req, now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// signOnly hides the Memory signer's SignPassphrase.
type signOnly struct{ s signer.Signer }

func (s signOnly) Sign(ctx context.Context, key string, alg signer.Algorithm, msg []byte) ([]byte, error) {
	return s.s.Sign(ctx, key, alg, msg)
}

func (s signOnly) Info(ctx context.Context, key string) (signer.KeyInfo, error) {
	return s.s.Info(ctx, key)
}

// Sign refuses a payload that is not the request's: what is signed is
// what is sent.
func TestSignRefusesForeignPayload(t *testing.T) {
	sg, key := memSigner(t, "doc", docAPIKey, docSecret, docPassphrase)
	s := mustScheme(t, "")
	r := &exchange.Request{Method: "POST", Path: "/api/v1/hf/orders", Body: []byte(`{"a":1}`)}
	payload, err := s.Prepare(nil, r, key, time.UnixMilli(docTS))
	if err != nil {
		t.Fatal(err)
	}
	r.Body = []byte(`{"a":2}`)
	if err := s.Sign(context.Background(), sg, key, r, payload, time.UnixMilli(docTS), &exchange.Wire{}); err == nil {
		t.Fatal("signed a body other than the prepared one")
	}
}

func TestClassify(t *testing.T) {
	s := mustScheme(t, "")
	tests := []struct {
		method, path string
		class        exchange.Class
		pool         Pool
		weight       int
	}{
		{"GET", "/api/v2/symbols", exchange.ClassPublic, PoolPublic, 4},
		{"GET", "/api/v1/market/orderbook/level1", exchange.ClassPublic, PoolPublic, 2},
		{"GET", "/api/v1/accounts", exchange.ClassRead, PoolManagement, 5},
		{"GET", "/api/v1/user/api-key", exchange.ClassRead, PoolManagement, 20},
		{"GET", "/api/v1/hf/orders/670fd33bf9406e0007ab3945", exchange.ClassRead, PoolSpot, 2},
		{"GET", "/api/v1/hf/orders/active", exchange.ClassRead, PoolSpot, 2},
		{"GET", "/api/v1/hf/fills", exchange.ClassRead, PoolSpot, 2},
		{"POST", "/api/v1/hf/orders", exchange.ClassTrade, PoolSpot, 1},
		{"POST", "/api/v1/hf/orders/sync", exchange.ClassTrade, PoolSpot, 1},
		{"POST", "/api/v1/hf/orders/multi", exchange.ClassTrade, PoolSpot, 1},
		{"POST", "/api/v1/hf/orders/multi/sync", exchange.ClassTrade, PoolSpot, 1},
		{"POST", "/api/v1/hf/orders/alter", exchange.ClassTrade, PoolSpot, 3},
		{"POST", "/api/v1/hf/orders/test", exchange.ClassTrade, PoolSpot, 1},
		{"DELETE", "/api/v1/hf/orders/670fd33bf9406e0007ab3945", exchange.ClassCancel, PoolSpot, 1},
		{"DELETE", "/api/v1/hf/orders/client-order/my-id_1", exchange.ClassCancel, PoolSpot, 1},
		{"DELETE", "/api/v1/hf/orders/cancelAll", exchange.ClassCancel, PoolSpot, 30},
		{"DELETE", "/api/v1/hf/orders", exchange.ClassCancel, PoolSpot, 2},
		{"POST", "/api/v1/withdrawals", exchange.ClassWithdraw, PoolManagement, 5},
		{"POST", "/api/v3/withdrawals", exchange.ClassWithdraw, PoolManagement, 5},
		{"DELETE", "/api/v1/withdrawals/abc", exchange.ClassWithdraw, PoolManagement, 1},
		{"POST", "/api/v2/accounts/inner-transfer", exchange.ClassTransfer, PoolManagement, 10},
		{"POST", "/api/v3/accounts/universal-transfer", exchange.ClassTransfer, PoolManagement, 4},
		{"POST", "/api/v2/accounts/sub-transfer", exchange.ClassTransfer, PoolManagement, 30},
		{"POST", "/api/v1/sub/api-key", exchange.ClassKeys, PoolManagement, 20},
		{"POST", "/api/v1/sub/api-key/update", exchange.ClassKeys, PoolManagement, 30},
		{"DELETE", "/api/v1/sub/api-key", exchange.ClassKeys, PoolManagement, 30},
	}
	for _, tc := range tests {
		r, err := s.Classify(&exchange.Request{Method: tc.method, Path: tc.path})
		if err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
			continue
		}
		pool, _ := poolOf(tc.method, tc.path)
		if r.Class != tc.class || pool != tc.pool || r.Cost.Weight != tc.weight || !r.Signed != (tc.class == exchange.ClassPublic) {
			t.Errorf("%s %s = %+v in %s, want %s in %s weight %d", tc.method, tc.path, r, pool, tc.class, tc.pool, tc.weight)
		}
	}
	for _, bad := range []struct{ method, path string }{
		{"GET", "/api/v1/orders"}, {"POST", "/api/v1/orders"}, {"PUT", "/api/v1/hf/orders"},
		{"GET", "/api/v1/hf/orders/a/b"}, {"GET", "/api/v1/hf/orders/a%2Fb"}, {"GET", "/api/v1/hf/orders/"},
		{"POST", "/api/v1/margin/order"}, {"GET", "/api/v1/hf/orders/" + strings.Repeat("a", 65)},
	} {
		if _, err := s.Classify(&exchange.Request{Method: bad.method, Path: bad.path}); !errors.Is(err, exchange.ErrUnknownEndpoint) {
			t.Errorf("%s %s: err = %v, want ErrUnknownEndpoint", bad.method, bad.path, err)
		}
	}
	multi := `{"orderList":[{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1","size":"1"},{"symbol":"BTC-USDT","side":"buy","type":"limit","price":"1","size":"1"}]}`
	r, err := s.Classify(&exchange.Request{Method: "POST", Path: "/api/v1/hf/orders/multi", Body: []byte(multi)})
	if err != nil || r.Cost.Orders != 2 {
		t.Fatalf("multi cost = %+v, %v; want 2 orders", r.Cost, err)
	}
}
