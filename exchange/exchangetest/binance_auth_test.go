package exchangetest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/stretchr/testify/require"
)

// The published Binance example (VENUES.md 2.1).
const (
	docAPIKey    = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
	docSecret    = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
	docPayload   = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	docSignature = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
	docTime      = 1499827319559
)

func docSim(t *testing.T) (*Binance, *client) {
	t.Helper()
	clk := newFakeClock(time.UnixMilli(docTime + 250))
	b := NewBinance(WithBinanceClock(clk.Now))
	t.Cleanup(b.Close)
	b.AddKey(BinanceKey{APIKey: docAPIKey, HMACSecret: []byte(docSecret), Permissions: traderPerms})
	return b, &client{t: t, base: b.URL(), apiKey: docAPIKey, sign: hmacSigner(docSecret), now: clk.Now}
}

func TestBinanceDocVectorAccepted(t *testing.T) {
	require.Equal(t, docSignature, hmacSigner(docSecret)(docPayload), "the test signer must reproduce the published signature")
	mixedQuery := "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
	mixedBody := "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
	mixedSig := hmacSigner(docSecret)(mixedQuery + mixedBody)

	for _, tc := range []struct {
		name        string
		query, body string
	}{
		{"body", "", docPayload + "&signature=" + docSignature},
		{"query", docPayload + "&signature=" + docSignature, ""},
		{"upper-case hex", docPayload + "&signature=" + strings.ToUpper(docSignature), ""},
		{"query and body, no separator", mixedQuery, mixedBody + "&signature=" + mixedSig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, c := docSim(t)
			a := c.raw(http.MethodPost, "/api/v3/order", tc.query, tc.body)
			require.Equal(t, http.StatusOK, a.status, "%s", a.body)
			require.Equal(t, "LTCBTC", a.str(t, "symbol"))
			require.Equal(t, "FILLED", a.str(t, "status"), "a buy at 0.1 crosses the ask")
			require.EqualValues(t, 1, b.OrdersPlaced())
		})
	}
}

func TestBinanceAuthFailures(t *testing.T) {
	withdrawOnly := BinanceKey{APIKey: "reader", HMACSecret: []byte("reader-secret"), Permissions: exchange.Permissions{Read: true}}
	ts := func(d time.Duration) string { return strconv.FormatInt(start.Add(d).UnixMilli(), 10) }
	const order = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=40000"
	for _, tc := range []struct {
		name     string
		apiKey   string
		secret   string
		path     string
		query    string // signed as given; "{sig}" marks where the signature goes when not at the end
		tamper   func(string) string
		status   int
		code     int
		msgStart string
	}{
		{name: "valid", query: order + "&timestamp=" + ts(0), status: 200},
		{name: "tampered quantity", query: order + "&timestamp=" + ts(0),
			tamper: func(s string) string { return strings.Replace(s, "quantity=0.001", "quantity=0.002", 1) },
			status: 400, code: -1022, msgStart: "Signature for this request is not valid."},
		{name: "wrong secret", secret: "other-secret", query: order + "&timestamp=" + ts(0), status: 400, code: -1022},
		{name: "signature not last", query: order + "&timestamp=" + ts(0), tamper: func(s string) string {
			i := strings.Index(s, "&signature=")
			return s[i+1:] + "&" + s[:i]
		}, status: 400, code: -1022},
		{name: "signature twice", query: order + "&timestamp=" + ts(0), tamper: func(s string) string {
			return s[strings.Index(s, "&signature=")+1:] + "&" + s
		}, status: 400, code: -1101},
		{name: "no signature", query: order + "&timestamp=" + ts(0), tamper: func(s string) string {
			return s[:strings.Index(s, "&signature=")]
		}, status: 400, code: -1102},
		{name: "timestamp 5001 ms old", query: order + "&timestamp=" + ts(-5001*time.Millisecond), status: 400, code: -1021,
			msgStart: "Timestamp for this request is outside of the recvWindow."},
		{name: "timestamp 5000 ms old", query: order + "&timestamp=" + ts(-5000*time.Millisecond), status: 200},
		{name: "recvWindow 60000, 59 s old", query: order + "&recvWindow=60000&timestamp=" + ts(-59*time.Second), status: 200},
		{name: "recvWindow 60001", query: order + "&recvWindow=60001&timestamp=" + ts(0), status: 400, code: -1131},
		{name: "recvWindow with an exponent", query: order + "&recvWindow=1e999999999&timestamp=" + ts(0), status: 400, code: -1131},
		{name: "recvWindow with four decimals", query: order + "&recvWindow=100.0001&timestamp=" + ts(0), status: 400, code: -1131},
		{name: "recvWindow with microseconds", query: order + "&recvWindow=100.5&timestamp=" + ts(-100*time.Millisecond), status: 200},
		{name: "timestamp 1000 ms ahead", query: order + "&timestamp=" + ts(time.Second), status: 400, code: -1021,
			msgStart: "Timestamp for this request was 1000ms ahead"},
		{name: "timestamp 999 ms ahead", query: order + "&timestamp=" + ts(999*time.Millisecond), status: 200},
		{name: "timestamp in microseconds", query: order + "&timestamp=" + strconv.FormatInt(start.UnixMicro()-10, 10), status: 200},
		{name: "no timestamp", query: order, status: 400, code: -1102},
		{name: "unknown key", apiKey: "nobody", query: order + "&timestamp=" + ts(0), status: 401, code: -2015,
			msgStart: "Invalid API-key, IP, or permissions for action."},
		{name: "no key", apiKey: "-", query: order + "&timestamp=" + ts(0), status: 401, code: -2014},
		{name: "trading not permitted", apiKey: "reader", secret: "reader-secret", query: order + "&timestamp=" + ts(0), status: 401, code: -2015},
		{name: "reading permitted", apiKey: "reader", secret: "reader-secret", path: "/api/v3/account", query: "timestamp=" + ts(0), status: 200},
		{name: "duplicate parameter", query: order + "&side=SELL&timestamp=" + ts(0), status: 400, code: -1101},
		{name: "unknown parameter", query: order + "&colour=blue&timestamp=" + ts(0), status: 400, code: -1104},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, c, _ := newSim(t)
			b.AddKey(withdrawOnly)
			if tc.apiKey != "" {
				c.apiKey = tc.apiKey
				if tc.apiKey == "-" {
					c.apiKey = ""
				}
			}
			if tc.secret != "" {
				c.sign = hmacSigner(tc.secret)
			}
			path := tc.path
			if path == "" {
				path = "/api/v3/order"
			}
			q := tc.query + "&signature=" + c.sign(tc.query)
			if tc.tamper != nil {
				q = tc.tamper(q)
			}
			method := http.MethodPost
			if path == "/api/v3/account" {
				method = http.MethodGet
			}
			a := c.raw(method, path, q, "")
			require.Equal(t, tc.status, a.status, "%s", a.body)
			if tc.code != 0 {
				require.Equal(t, tc.code, a.code(t), "%s", a.body)
				require.True(t, strings.HasPrefix(a.str(t, "msg"), tc.msgStart), "%s", a.body)
				require.EqualValues(t, 0, b.OrdersPlaced(), "a refused request must not reach the matching engine")
			}
		})
	}
}

func TestBinanceEd25519AndRSAKeys(t *testing.T) {
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, otherEd, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		key    BinanceKey
		sign   func(string) string
		status int
	}{
		{"ed25519", BinanceKey{APIKey: "ed", PublicKey: edPub, Permissions: traderPerms}, ed25519Signer(edPriv), 200},
		{"rsa", BinanceKey{APIKey: "rsa", PublicKey: &rsaPriv.PublicKey, Permissions: traderPerms}, rsaSigner(rsaPriv), 200},
		{"ed25519 wrong key", BinanceKey{APIKey: "ed", PublicKey: edPub, Permissions: traderPerms}, ed25519Signer(otherEd), 400},
		{"rsa signature not percent-encoded", BinanceKey{APIKey: "rsa", PublicKey: &rsaPriv.PublicKey, Permissions: traderPerms},
			func(p string) string { return strings.Repeat("A+/=", 86) }, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, c, _ := newSim(t)
			b.AddKey(tc.key)
			c.apiKey, c.sign = tc.key.APIKey, tc.sign
			a := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&newOrderRespType=RESULT")
			require.Equal(t, tc.status, a.status, "%s", a.body)
			if tc.status == 200 {
				require.Equal(t, "FILLED", a.str(t, "status"))
				requireDec(t, "1.000999", balanceOf(t, b, tc.key.APIKey, "BTC").Free) // 0.001 less the 0.1 % commission
			} else {
				require.Equal(t, -1022, a.code(t))
			}
		})
	}
}

func TestBinanceSecretsNeverLeak(t *testing.T) {
	const canary = "CANARY-7f3a9c-SECRET"
	var logs bytes.Buffer
	clk := newFakeClock(start)
	b := NewBinance(WithBinanceClock(clk.Now), WithBinanceLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	defer b.Close()
	k := BinanceKey{APIKey: "canary", HMACSecret: []byte(canary), Permissions: traderPerms}
	b.AddKey(k)
	c := &client{t: t, base: b.URL(), apiKey: "canary", sign: hmacSigner(canary), now: clk.Now}
	var bodies []string
	for _, a := range []answer{
		c.signed(http.MethodGet, "/api/v3/account", ""),
		c.signed(http.MethodGet, "/sapi/v1/account/apiRestrictions", ""),
		c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001"),
		c.raw(http.MethodGet, "/api/v3/account", "timestamp=1&signature=00", ""),
	} {
		bodies = append(bodies, string(a.body))
	}
	require.NotEmpty(t, logs.String())
	for _, s := range append(bodies, logs.String(), fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k)) {
		require.NotContains(t, s, canary)
		require.NotContains(t, s, fmt.Sprint([]byte(canary)))
	}
}
