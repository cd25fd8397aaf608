package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/signer"
)

// FuzzFront sends arbitrary requests to each venue's front: nothing
// panics, nothing leaks the venue secret, and a request no client signed
// is never answered as a success of a signed route.
func FuzzFront(f *testing.F) {
	f.Add("GET", "/api/v3/account", "timestamp=1&signature=ab", "", "k")
	f.Add("POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT", "quantity=1&signature=zz", "")
	f.Add("POST", "/api/v1/hf/orders", "", `{"symbol":"BTC-USDT"}`, "KC")
	f.Add("POST", "/api/v3/brokerage/orders", "", `{"product_id":"BTC-USD"}`, "Bearer a.b.c")
	f.Add("GET", "/api/v3/ticker/bookTicker", "symbol=BTCUSDT", "", "")
	f.Add("DELETE", "/api/v3/userDataStream", "listenKey=%zz", "", "x")
	f.Add("GET", "/%2e%2e/api/v3/account", "a=1&a=2", "", "")
	e := newEnv(f, envOpts{dir: f.TempDir()})
	e.issue("bot", Binance, "binance-main")
	f.Fuzz(func(t *testing.T, method, path, query, body, key string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " ?#\r\n") || method == "" ||
			strings.Trim(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return // not a request line a server would deliver
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // a server would not deliver it
		}
		for _, venue := range e.gw.Venues() {
			h, _ := e.gw.Handler(venue)
			req := httptest.NewRequest(method, "http://gw"+path, strings.NewReader(body))
			req.URL.RawQuery = query
			req.RequestURI = path + "?" + query
			req.Header.Set("X-MBX-APIKEY", key)
			req.Header.Set("KC-API-KEY", key)
			req.Header.Set("Authorization", key)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if strings.Contains(rec.Body.String(), canary) {
				t.Fatal("the venue secret leaked")
			}
			route, err := e.gw.fronts[venue].scheme.Classify(&exchange.Request{Method: method, Path: req.URL.Path})
			if err == nil && route.Signed && rec.Code == http.StatusOK {
				t.Fatalf("%s %s %s: a signed route answered 200 to a request no client signed", venue, method, path)
			}
		}
	})
}

// FuzzClientsRegistry opens arbitrary registry files: an unusable one is
// refused with ErrRegistry, never a panic.
func FuzzClientsRegistry(f *testing.F) {
	f.Add([]byte(`{"format":"keyfence-gateway-clients","version":1,"clients":[]}`))
	f.Add([]byte(`{"format":"keyfence-gateway-clients","version":1,"clients":[{"name":"a","nonce":"AAAA","sealed":"AAAA"}]}`))
	f.Add([]byte(`not json`))
	keys := signer.NewMemory()
	f.Cleanup(func() { _ = keys.Close() })
	if err := keys.Import(signer.KeyInfo{Name: RegistryKeyName, Venue: "gateway", APIKey: "r", Type: signer.KeyHMAC}, []byte("fuzz-registry-key-0123456789abcdef"), nil); err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "clients.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := OpenClients(context.Background(), path, keys, RegistryKeyName)
		if err != nil {
			if !errors.Is(err, ErrRegistry) {
				t.Fatalf("error %v does not wrap ErrRegistry", err)
			}
			return
		}
		_ = c.List()
	})
}
