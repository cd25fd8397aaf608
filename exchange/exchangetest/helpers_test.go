package exchangetest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// start is a whole second, so that one-second windows begin there.
var start = time.UnixMilli(1_700_000_000_000)

var traderPerms = exchange.Permissions{Read: true, Trade: true, IPRestricted: true}

// client is a minimal Binance client written for the tests from the
// venue's documentation; it shares no code with package binance.
type client struct {
	t      *testing.T
	base   string
	apiKey string
	sign   func(payload string) string // returns the signature as it goes in the URL
	now    func() time.Time
}

func hmacSigner(secret string) func(string) string {
	return func(payload string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(payload))
		return hex.EncodeToString(m.Sum(nil))
	}
}

func ed25519Signer(priv ed25519.PrivateKey) func(string) string {
	return func(payload string) string {
		return url.QueryEscape(base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(payload))))
	}
}

func rsaSigner(priv *rsa.PrivateKey) func(string) string {
	return func(payload string) string {
		sum := sha256.Sum256([]byte(payload))
		sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, sum[:])
		if err != nil {
			panic(err)
		}
		return url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
}

// answer is a decoded reply.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(a.body, &m), "body %s", a.body)
	return m
}

func (a answer) list(t *testing.T) []map[string]any {
	t.Helper()
	var m []map[string]any
	require.NoError(t, json.Unmarshal(a.body, &m), "body %s", a.body)
	return m
}

// code returns the Binance error code of the answer, or 0.
func (a answer) code(t *testing.T) int {
	t.Helper()
	var e struct {
		Code int `json:"code"`
	}
	_ = json.Unmarshal(a.body, &e)
	return e.Code
}

func (a answer) str(t *testing.T, key string) string {
	t.Helper()
	v, ok := a.obj(t)[key]
	require.True(t, ok, "no %q in %s", key, a.body)
	s, ok := v.(string)
	require.True(t, ok, "%q is %T in %s", key, v, a.body)
	return s
}

// raw sends query and body as given, with the API key header when set.
func (c *client) raw(method, path, query, body string) answer {
	c.t.Helper()
	u := c.base + path
	if query != "" {
		u += "?" + query
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(c.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.apiKey != "" {
		req.Header.Set("X-MBX-APIKEY", c.apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// signed adds timestamp and signature to params and sends them in the
// query (GET, DELETE) or the body (POST).
func (c *client) signed(method, path, params string) answer {
	c.t.Helper()
	if params != "" {
		params += "&"
	}
	params += "timestamp=" + strconv.FormatInt(c.now().UnixMilli(), 10)
	params += "&signature=" + c.sign(params)
	if method == http.MethodPost {
		return c.raw(method, path, "", params)
	}
	return c.raw(method, path, params, "")
}

func (c *client) get(path, query string) answer { return c.raw(http.MethodGet, path, query, "") }

// newSim starts a simulator on a fake clock with one HMAC trading key and
// returns it with a client for that key.
func newSim(t *testing.T, opts ...BinanceOption) (*Binance, *client, *fakeClock) {
	t.Helper()
	clk := newFakeClock(start)
	b := NewBinance(append([]BinanceOption{WithBinanceClock(clk.Now)}, opts...)...)
	t.Cleanup(b.Close)
	b.AddKey(BinanceKey{APIKey: "trader", HMACSecret: []byte("trader-secret"), Permissions: traderPerms})
	return b, &client{t: t, base: b.URL(), apiKey: "trader", sign: hmacSigner("trader-secret"), now: clk.Now}, clk
}

func balanceOf(t *testing.T, b *Binance, apiKey, asset string) exchange.Balance {
	t.Helper()
	for _, bl := range b.Balances(apiKey) {
		if bl.Asset == asset {
			return bl
		}
	}
	return exchange.Balance{Asset: asset}
}

func requireDec(t *testing.T, want string, got decimal.Decimal, msgAndArgs ...any) {
	t.Helper()
	require.True(t, decimal.RequireFromString(want).Equal(got), append([]any{"want %s, got %s", want, got}, msgAndArgs...)...)
}

func requireDecStr(t *testing.T, want, got string) {
	t.Helper()
	g, err := decimal.NewFromString(got)
	require.NoError(t, err)
	requireDec(t, want, g)
}
