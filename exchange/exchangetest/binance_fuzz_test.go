package exchangetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzBinanceOrderRequest sends correctly signed orders with arbitrary
// parameters. The simulator must answer every one with JSON, never a 5xx,
// and keep every balance non-negative.
func FuzzBinanceOrderRequest(f *testing.F) {
	for _, s := range []string{
		"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000",
		"symbol=BTCUSDT&side=SELL&type=MARKET&quoteOrderQty=100",
		"symbol=THINUSDT&side=BUY&type=MARKET&quantity=9999999",
		"symbol=LTCBTC&side=BUY&type=LIMIT_MAKER&quantity=1&price=0.0015",
		"symbol=ETHBTC&side=SELL&type=LIMIT&timeInForce=FOK&quantity=100&price=0.00001",
		"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=00.0100&price=99999999999999999999.9",
		"symbol=%ZZ&side=BUY",
		"symbol=BTCUSDT&symbol=ETHUSDT",
	} {
		f.Add(s, "POST")
	}
	f.Add("symbol=BTCUSDT", "DELETE")
	f.Add("symbol=BTCUSDT&orderId=1", "GET")
	sign := hmacSigner("fuzz-secret")
	f.Fuzz(func(t *testing.T, params, method string) {
		// A fresh simulator per input keeps the target deterministic.
		clk := newFakeClock(start)
		b := NewBinance(WithBinanceClock(clk.Now), WithBinanceListener(closedListener{}))
		defer b.Close()
		b.AddKey(BinanceKey{APIKey: "fuzz", HMACSecret: []byte("fuzz-secret"), Permissions: traderPerms})
		switch method {
		case "GET", "POST", "DELETE":
		default:
			method = "POST"
		}
		params += "&timestamp=" + strconv.FormatInt(start.UnixMilli(), 10)
		params += "&signature=" + sign(params)
		req := httptest.NewRequest(method, "/api/v3/order", strings.NewReader(params))
		req.Header.Set("X-MBX-APIKEY", "fuzz")
		w := httptest.NewRecorder()
		b.ServeHTTP(w, req)
		require.Less(t, w.Code, 500, "%s", w.Body)
		require.True(t, json.Valid(w.Body.Bytes()), "%s", w.Body)
		if w.Code != http.StatusOK {
			var e struct{ Code int }
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
			require.Negative(t, e.Code, "%s", w.Body)
		}
		for _, bl := range b.Balances("fuzz") {
			require.False(t, bl.Free.IsNegative(), "%s %s", bl.Asset, bl.Free)
			require.False(t, bl.Locked.IsNegative(), "%s %s", bl.Asset, bl.Locked)
		}
	})
}

// FuzzBinanceMarketData sends arbitrary queries to the market-data and
// history endpoints. The simulator must answer every one with JSON, never
// a 5xx, and an error must carry a Binance code.
func FuzzBinanceMarketData(f *testing.F) {
	for _, s := range []string{
		"/api/v3/depth?symbol=BTCUSDT&limit=5000",
		"/api/v3/depth?symbol=THINUSDT&limit=99999999999999999999",
		"/api/v3/klines?symbol=BTCUSDT&interval=1M&startTime=0&limit=1000",
		"/api/v3/klines?symbol=BTCUSDT&interval=1s&endTime=9007199254740992",
		"/api/v3/klines?symbol=BTCUSDT&interval=1w&startTime=-1",
		"/api/v3/ticker/24hr?symbols=[\"BTCUSDT\",\"NOPE\"]&type=MINI",
		"/api/v3/trades?symbol=BTCUSDT&limit=0",
		"/api/v3/aggTrades?symbol=BTCUSDT&fromId=1&startTime=1&endTime=3600001",
		"/api/v3/allOrders?symbol=BTCUSDT&orderId=1&limit=1000",
		"/api/v3/historicalTrades?symbol=BTCUSDT&fromId=0",
		"/api/v3/uiKlines?symbol=ETHBTC&interval=3d&limit=1",
		"/api/v3/account/commission?symbol=LTCBTC",
		"/sapi/v1/asset/tradeFee?symbol=THINUSDT",
	} {
		f.Add(s)
	}
	sign := hmacSigner("fuzz-secret")
	f.Fuzz(func(t *testing.T, target string) {
		path, query, _ := strings.Cut(target, "?")
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		clk := newFakeClock(start)
		b := NewBinance(WithBinanceClock(clk.Now), WithBinanceListener(closedListener{}),
			WithBinanceDrift(Drift{Step: dec("0.001"), Every: time.Second, Seed: 1}))
		defer b.Close()
		b.AddKey(BinanceKey{APIKey: "fuzz", HMACSecret: []byte("fuzz-secret"), Permissions: traderPerms})
		clk.Add(90 * time.Second)
		if ep := binanceRoutes["GET "+path]; ep != nil && ep.signed {
			if query != "" {
				query += "&"
			}
			query += "timestamp=" + strconv.FormatInt(clk.Now().UnixMilli(), 10)
			query += "&signature=" + sign(query)
		}
		req, err := http.NewRequest(http.MethodGet, "http://sim"+path+"?"+query, nil)
		if err != nil {
			return // not a request a client can send
		}
		req.Body = http.NoBody // as a server's request has
		req.RemoteAddr = "192.0.2.1:1234"
		req.Header.Set("X-MBX-APIKEY", "fuzz")
		w := httptest.NewRecorder()
		b.ServeHTTP(w, req)
		require.Less(t, w.Code, 500, "%s", w.Body)
		require.True(t, json.Valid(w.Body.Bytes()), "%s", w.Body)
		if w.Code != http.StatusOK {
			var e struct{ Code int }
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
			require.Negative(t, e.Code, "%s", w.Body)
		}
	})
}
