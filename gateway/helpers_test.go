package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

// coinbaseVenueKey is the CDP key name of the venue key.
const coinbaseVenueKey = "organizations/venue-org/apiKeys/venue-key"

// canary is planted as the venue secret: no test output may show it.
const canary = "CANARY-venue-secret-7f3a9c"

// testPolicy is the policy of the tests: BTCUSDT and ETHUSDT on every
// venue's spelling, 1,000 USDT per order, 5,000 a day, 5% band.
const testPolicy = `version: 1
credentials:
  binance-main:
    venue: binance
    allow: [read, trade, cancel]
    order_types: [LIMIT, MARKET]
    max_open_orders: 20
    price_band: "5%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTCUSDT: {}
      ETHUSDT: {}
  binance-second:
    venue: binance
    allow: [read, trade, cancel]
    order_types: [LIMIT, MARKET]
    max_open_orders: 20
    price_band: "5%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTCUSDT: {}
  kucoin-main:
    venue: kucoin
    allow: [read, trade, cancel]
    order_types: [LIMIT, MARKET]
    max_open_orders: 20
    price_band: "5%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTC-USDT: {}
      ETH-USDT: {}
  coinbase-main:
    venue: coinbase
    allow: [read, trade, cancel]
    order_types: [LIMIT, MARKET]
    max_open_orders: 20
    price_band: "5%"
    accept_key_risks: {unrestricted_ip: true}
    quotes:
      USD: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTC-USD: {}
      ETH-USD: {}
`

// env is a gateway in front of simulated venues.
type env struct {
	t        testing.TB
	binance  *exchangetest.Binance
	kucoin   *exchangetest.KuCoin
	coinbase *exchangetest.Coinbase
	gw       *Gateway
	srv      map[string]*httptest.Server
	keys     *signer.Memory
	clients  *Clients
	auditLog *audit.Log
	auditAt  string
	store    limits.Store
	venueKey string // the venue API key of binance-main
}

type envOpts struct {
	policy  string
	store   limits.Store
	replays ReplayGuard
	dir     string
	binance []exchangetest.BinanceOption
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	ctx := context.Background()
	if o.policy == "" {
		o.policy = testPolicy
	}
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	e := &env{t: t, srv: map[string]*httptest.Server{}, venueKey: "venue-binance-main"}
	e.binance = exchangetest.NewBinance(o.binance...)
	t.Cleanup(e.binance.Close)
	e.binance.AddKey(exchangetest.BinanceKey{APIKey: e.venueKey, HMACSecret: []byte(canary),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})
	e.keys = signer.NewMemory()
	t.Cleanup(func() { _ = e.keys.Close() })
	must(t, e.keys.Import(signer.KeyInfo{Name: "binance-main", Venue: "binance", APIKey: e.venueKey, Type: signer.KeyHMAC}, []byte(canary), nil))
	// A second account on the same venue, reached from the same address.
	e.binance.AddKey(exchangetest.BinanceKey{APIKey: "venue-binance-second", HMACSecret: []byte(canary + "-2"),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})
	must(t, e.keys.Import(signer.KeyInfo{Name: "binance-second", Venue: "binance", APIKey: "venue-binance-second", Type: signer.KeyHMAC}, []byte(canary+"-2"), nil))
	must(t, e.keys.Import(signer.KeyInfo{Name: RegistryKeyName, Venue: "gateway", APIKey: "registry", Type: signer.KeyHMAC}, []byte("registry-key-0123456789abcdef0123"), nil))
	e.kucoin = exchangetest.NewKuCoin()
	t.Cleanup(e.kucoin.Close)
	e.kucoin.AddKey(exchangetest.KuCoinKey{APIKey: "venue-kucoin-main", Secret: []byte(canary), Passphrase: []byte("venue-pass"),
		Version: "2", Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})
	must(t, e.keys.Import(signer.KeyInfo{Name: "kucoin-main", Venue: "kucoin", APIKey: "venue-kucoin-main", Type: signer.KeyHMAC}, []byte(canary), []byte("venue-pass")))
	cbPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	cbDER, err := x509.MarshalECPrivateKey(cbPriv)
	must(t, err)
	e.coinbase = exchangetest.NewCoinbase()
	t.Cleanup(e.coinbase.Close)
	e.coinbase.AddKey(exchangetest.CoinbaseKey{Name: coinbaseVenueKey, PublicKey: &cbPriv.PublicKey, Permissions: exchange.Permissions{Read: true, Trade: true}})
	must(t, e.keys.Import(signer.KeyInfo{Name: "coinbase-main", Venue: "coinbase", APIKey: coinbaseVenueKey, Type: signer.KeyECDSAP256},
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: cbDER}), nil))
	e.clients, err = OpenClients(ctx, filepath.Join(o.dir, "clients.json"), e.keys, RegistryKeyName)
	must(t, err)
	pol, err := limits.ParsePolicy([]byte(o.policy))
	must(t, err)
	e.store = o.store
	if e.store == nil {
		e.store = limits.NewMemoryStore()
	}
	e.auditAt = filepath.Join(o.dir, "audit.jsonl")
	e.auditLog, err = audit.Open(ctx, e.auditAt, audit.NoSync())
	must(t, err)
	t.Cleanup(func() { _ = e.auditLog.Close() })
	e.gw, err = New(ctx, Config{Signer: e.keys, Policy: pol, Store: e.store, Audit: e.auditLog, Clients: e.clients, Replays: o.replays,
		Upstreams: map[string]string{Binance: e.binance.URL(), KuCoin: e.kucoin.URL(), Coinbase: e.coinbase.URL()}})
	must(t, err)
	for _, v := range e.gw.Venues() {
		h, _ := e.gw.Handler(v)
		s := httptest.NewServer(h)
		t.Cleanup(s.Close)
		e.srv[v] = s
	}
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// issue registers a client of venue mapped to credential.
func (e *env) issue(name, venue, credential string) Issued {
	e.t.Helper()
	cl, out, err := NewClient(name, venue, credential, IssueOptions{})
	must(e.t, err)
	must(e.t, e.clients.Add(cl))
	return out
}

// binanceCall sends a request to the gateway's Binance front, signed with
// the client's HMAC secret when secret is not empty, and returns the
// status and body.
func (e *env) binanceCall(apiKey, secret, method, path string, params url.Values) (int, []byte) {
	e.t.Helper()
	q := params.Encode()
	if secret != "" {
		if q != "" {
			q += "&"
		}
		q += "timestamp=" + strconv.FormatInt(time.Now().UnixMilli(), 10)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(q))
		q += "&signature=" + hex.EncodeToString(m.Sum(nil))
	}
	return e.send(e.srv[Binance].URL, apiKey, method, path, q)
}

func (e *env) send(base, apiKey, method, path, query string) (int, []byte) {
	e.t.Helper()
	u := base + path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, nil)
	must(e.t, err)
	if apiKey != "" {
		req.Header.Set("X-MBX-APIKEY", apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	must(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(e.t, err)
	if strings.Contains(string(b), canary) {
		e.t.Fatalf("the venue secret leaked into an answer")
	}
	return resp.StatusCode, b
}

// binanceErr decodes a Binance error answer.
func binanceErr(t *testing.T, body []byte) (int, string) {
	t.Helper()
	var e struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not a Binance error: %s", body)
	}
	return e.Code, e.Msg
}

// signedQuery encodes params with a timestamp and an HMAC signature.
func signedQuery(secret string, params url.Values) string {
	q := params.Encode() + "&timestamp=" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(q))
	return q + "&signature=" + hex.EncodeToString(m.Sum(nil))
}
