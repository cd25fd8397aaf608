package exchangetest

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func usedWeight(t *testing.T, a answer) int {
	t.Helper()
	n, err := strconv.Atoi(a.header.Get("X-MBX-USED-WEIGHT-1M"))
	require.NoError(t, err, "X-MBX-USED-WEIGHT-1M %q", a.header.Get("X-MBX-USED-WEIGHT-1M"))
	require.Equal(t, a.header.Get("X-MBX-USED-WEIGHT-1M"), a.header.Get("X-MBX-USED-WEIGHT"), "the legacy header carries the 1-minute count")
	return n
}

func TestBinanceDepth(t *testing.T) {
	_, c, _ := newSim(t)
	a := c.get("/api/v3/depth", "symbol=THINUSDT&limit=3")
	m := a.obj(t)
	bids, asks := m["bids"].([]any), m["asks"].([]any)
	require.Len(t, bids, 3)
	require.Len(t, asks, 3)
	require.Equal(t, []any{"0.04990000", "2000.00000000"}, bids[0])
	require.Equal(t, []any{"0.04890000", "2000.00000000"}, bids[1], "bids fall away from the top")
	require.Equal(t, []any{"0.05010000", "2000.00000000"}, asks[0])
	require.Equal(t, []any{"0.05110000", "2000.00000000"}, asks[1], "asks rise away from the top")
	require.Equal(t, 5, usedWeight(t, a))

	// The default is 100 levels; the thin book has 5. Deeper limits weigh more.
	a = c.get("/api/v3/depth", "symbol=THINUSDT")
	require.Len(t, a.obj(t)["asks"], 5)
	a = c.get("/api/v3/depth", "symbol=THINUSDT&limit=500")
	require.Equal(t, 5+5+25, usedWeight(t, a))
	a = c.get("/api/v3/depth", "symbol=THINUSDT&limit=6000")
	require.Equal(t, http.StatusOK, a.status, "limits over 5000 are truncated")
	require.Equal(t, 5+5+25+250, usedWeight(t, a))

	// A book with unlimited liquidity shows its best prices.
	a = c.get("/api/v3/depth", "symbol=BTCUSDT&limit=5")
	require.Equal(t, []any{[]any{"49999.99000000", "1000000.00000000"}}, a.obj(t)["bids"])

	for _, q := range []string{"symbol=BTCUSDT&limit=0", "symbol=BTCUSDT&limit=x", "symbol=BTCUSDT&limit=-5"} {
		a = c.get("/api/v3/depth", q)
		require.Equal(t, http.StatusBadRequest, a.status, q)
		require.Equal(t, -1100, a.code(t), q)
	}
	require.Equal(t, -1121, c.get("/api/v3/depth", "symbol=NOPE").code(t))
	require.Equal(t, -1102, c.get("/api/v3/depth", "").code(t))
}

func TestBinanceTicker24hr(t *testing.T) {
	b, c, clk := newSim(t)
	a := c.get("/api/v3/ticker/24hr", "symbol=BTCUSDT")
	m := a.obj(t)
	require.Equal(t, "50000.00000000", m["lastPrice"])
	require.Equal(t, "0.00000000", m["volume"])
	require.EqualValues(t, -1, m["firstId"], "no trades yet")
	require.EqualValues(t, 0, m["count"])
	require.Equal(t, 2, usedWeight(t, a))

	clk.Add(time.Minute)
	b.SetPrice("BTCUSDT", dec("51000"))
	buy := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.002")
	require.Equal(t, http.StatusOK, buy.status, "%s", buy.body)
	b.SetPrice("BTCUSDT", dec("49000"))
	m = c.get("/api/v3/ticker/24hr", "symbol=BTCUSDT").obj(t)
	require.Equal(t, "50000.00000000", m["openPrice"])
	require.Equal(t, "51000.01000000", m["highPrice"], "the fill at the ask")
	require.Equal(t, "49000.00000000", m["lowPrice"])
	require.Equal(t, "49000.00000000", m["lastPrice"])
	require.Equal(t, "-1000.00000000", m["priceChange"])
	require.Equal(t, "-2.000", m["priceChangePercent"])
	require.Equal(t, "0.00200000", m["volume"])
	require.Equal(t, "102.00002000", m["quoteVolume"])
	require.Equal(t, "51000.01000000", m["weightedAvgPrice"])
	require.Equal(t, "0.00200000", m["lastQty"])
	require.EqualValues(t, 1, m["count"])
	require.Equal(t, m["firstId"], m["lastId"])
	require.EqualValues(t, start.Add(time.Minute-24*time.Hour).UnixMilli(), m["openTime"])

	// A day later the trade has left the window.
	clk.Add(25 * time.Hour)
	m = c.get("/api/v3/ticker/24hr", "symbol=BTCUSDT").obj(t)
	require.EqualValues(t, 0, m["count"])
	require.Equal(t, "49000.00000000", m["openPrice"])

	all := c.get("/api/v3/ticker/24hr", "")
	require.Len(t, all.list(t), len(DefaultBinanceSymbols()))
	mini := c.get("/api/v3/ticker/24hr", `symbols=["BTCUSDT","ETHUSDT"]&type=MINI`).list(t)
	require.Len(t, mini, 2)
	require.NotContains(t, mini[0], "priceChange")
	require.Equal(t, -1100, c.get("/api/v3/ticker/24hr", "symbol=BTCUSDT&type=HUGE").code(t))
}

func TestBinanceKlines(t *testing.T) {
	b, c, clk := newSim(t)
	// start is 2023-11-14T22:13:20Z: the first 1m candle opens at 22:13:00.
	open0 := start.Truncate(time.Minute)
	buy := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001")
	require.Equal(t, http.StatusOK, buy.status, "%s", buy.body)
	clk.Add(time.Minute)
	b.SetPrice("BTCUSDT", dec("50500"))
	b.SetPrice("BTCUSDT", dec("50200"))
	clk.Add(time.Minute)

	a := c.get("/api/v3/klines", "symbol=BTCUSDT&interval=1m&limit=5")
	rows := decodeAny(t, a).([]any)
	require.Len(t, rows, 3, "no candle before the simulator started")
	k0, k1, k2 := rows[0].([]any), rows[1].([]any), rows[2].([]any)
	require.EqualValues(t, open0.UnixMilli(), k0[0])
	require.EqualValues(t, open0.Add(time.Minute).UnixMilli()-1, k0[6], "close time is the candle's last millisecond")
	require.Equal(t, []any{"50000.00000000", "50000.01000000", "50000.00000000", "50000.01000000", "0.00100000"}, k0[1:6])
	require.EqualValues(t, 1, k0[8], "one trade")
	require.Equal(t, "0.00100000", k0[9], "the taker bought")
	require.Equal(t, []any{"50000.01000000", "50500.00000000", "50000.01000000", "50200.00000000", "0.00000000"}, k1[1:6])
	require.Equal(t, []any{"50200.00000000", "50200.00000000", "50200.00000000", "50200.00000000"}, k2[1:5])
	require.Equal(t, 2, usedWeight(t, a))

	// startTime picks the candles from there; endTime stops them.
	rows = decodeAny(t, c.get("/api/v3/klines", "symbol=BTCUSDT&interval=1m&startTime="+strconv.FormatInt(open0.Add(time.Minute).UnixMilli(), 10))).([]any)
	require.Len(t, rows, 2)
	rows = decodeAny(t, c.get("/api/v3/klines", "symbol=BTCUSDT&interval=1m&endTime="+strconv.FormatInt(open0.Add(90*time.Second).UnixMilli(), 10))).([]any)
	require.Len(t, rows, 2)
	rows = decodeAny(t, c.get("/api/v3/klines", "symbol=BTCUSDT&interval=1h")).([]any)
	require.Len(t, rows, 1)
	require.Equal(t, "50500.00000000", rows[0].([]any)[2])
	rows = decodeAny(t, c.get("/api/v3/klines", "symbol=BTCUSDT&interval=1w")).([]any)
	require.Equal(t, time.Monday, time.UnixMilli(int64(rows[0].([]any)[0].(float64))).UTC().Weekday(), "weeks open on Monday")
	rows = decodeAny(t, c.get("/api/v3/klines", "symbol=BTCUSDT&interval=1M")).([]any)
	require.Equal(t, 1, time.UnixMilli(int64(rows[0].([]any)[0].(float64))).UTC().Day())

	require.Equal(t, -1120, c.get("/api/v3/klines", "symbol=BTCUSDT&interval=7m").code(t))
	require.Equal(t, -1102, c.get("/api/v3/klines", "symbol=BTCUSDT").code(t))
	require.Equal(t, -1100, c.get("/api/v3/klines", "symbol=BTCUSDT&interval=1m&timeZone=%2B08:00").code(t))
	require.Equal(t, http.StatusOK, c.get("/api/v3/klines", "symbol=BTCUSDT&interval=1m&timeZone=0").status)
	require.Equal(t, -1023, c.get("/api/v3/klines", "symbol=BTCUSDT&interval=1m&startTime=2&endTime=1").code(t))
}

func TestBinanceTradesAndAllOrders(t *testing.T) {
	_, c, clk := newSim(t)
	for i := range 3 {
		a := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.001")
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		clk.Add(time.Duration(i+1) * time.Second)
	}
	c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=40000")

	tr := c.get("/api/v3/trades", "symbol=BTCUSDT&limit=2")
	list := tr.list(t)
	require.Len(t, list, 2, "the latest two")
	require.EqualValues(t, 2, list[0]["id"])
	require.EqualValues(t, 3, list[1]["id"])
	require.Equal(t, true, list[1]["isBuyerMaker"], "a taker sold")
	require.Equal(t, "49.99999000", list[1]["quoteQty"])
	require.Equal(t, 4+25, usedWeight(t, tr), "four orders of weight 1, then the trades")

	agg := c.get("/api/v3/aggTrades", "symbol=BTCUSDT&fromId=2").list(t)
	require.Len(t, agg, 2)
	require.EqualValues(t, 2, agg[0]["a"])
	require.EqualValues(t, 2, agg[0]["f"])
	require.EqualValues(t, 2, agg[0]["l"])

	all := c.signed(http.MethodGet, "/api/v3/allOrders", "symbol=BTCUSDT").list(t)
	require.Len(t, all, 4)
	require.Equal(t, "FILLED", all[0]["status"])
	require.Equal(t, "NEW", all[3]["status"])
	require.Len(t, c.signed(http.MethodGet, "/api/v3/allOrders", "symbol=BTCUSDT&orderId=3").list(t), 2)
	require.Len(t, c.signed(http.MethodGet, "/api/v3/allOrders", "symbol=BTCUSDT&limit=1").list(t), 1)
	require.Equal(t, -1100, c.signed(http.MethodGet, "/api/v3/allOrders", "symbol=BTCUSDT&limit=1001").code(t))
	require.Equal(t, -1102, c.signed(http.MethodGet, "/api/v3/allOrders", "").code(t))
	require.Equal(t, -1102, c.get("/api/v3/allOrders", "symbol=BTCUSDT").code(t), "a signed endpoint: no timestamp")
}

func TestBinanceWalletAndMarginAtStart(t *testing.T) {
	_, c, _ := newSim(t)
	coins := c.signed(http.MethodGet, "/sapi/v1/capital/config/getall", "").list(t)
	byCoin := map[string]map[string]any{}
	for _, co := range coins {
		byCoin[co["coin"].(string)] = co
	}
	require.Equal(t, "1.00000000", byCoin["BTC"]["free"])
	require.Equal(t, "10000.00000000", byCoin["USDT"]["free"])
	require.Contains(t, byCoin, "THIN")
	require.Equal(t, "[]", string(c.signed(http.MethodGet, "/sapi/v1/margin/allPairs", "").body))
	require.Equal(t, "[]", string(c.signed(http.MethodGet, "/sapi/v1/margin/isolated/allPairs", "").body))
	for _, p := range []string{"/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"} {
		m := c.get(p, "").obj(t)
		require.Empty(t, m["symbols"], p)
	}
	// Unknown endpoints keep the venue's answer.
	a := c.get("/api/v3/nope", "")
	require.Equal(t, http.StatusNotFound, a.status)
	require.Equal(t, -1000, a.code(t))
}

func TestBinanceTestnetServesNoSapi(t *testing.T) {
	_, c, _ := newSim(t, WithBinanceTestnet())
	for _, p := range []string{"/sapi/v1/capital/config/getall", "/sapi/v1/account/apiRestrictions", "/sapi/v1/margin/allPairs"} {
		a := c.signed(http.MethodGet, p, "")
		require.Equal(t, http.StatusNotFound, a.status, p)
		require.Equal(t, -1000, a.code(t), p)
	}
	require.Equal(t, http.StatusOK, c.signed(http.MethodGet, "/api/v3/account", "").status)
}

func TestBinanceNoRateLimits(t *testing.T) {
	_, c, _ := newSim(t, WithBinanceRateLimits(BinanceRateLimit{BinanceRequestWeight, time.Minute, 100}), WithBinanceNoRateLimits())
	for _, rl := range c.get("/api/v3/exchangeInfo", "").obj(t)["rateLimits"].([]any) {
		require.GreaterOrEqual(t, rl.(map[string]any)["limit"], float64(1_000_000_000))
	}
	for range 40 {
		a := c.get("/api/v3/depth", "symbol=BTCUSDT&limit=5000") // 250 each: 10,000 in all
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	}
	// The default limits refuse the same load.
	_, d, _ := newSim(t)
	refused := false
	for range 40 {
		refused = refused || d.get("/api/v3/depth", "symbol=BTCUSDT&limit=5000").status == http.StatusTooManyRequests
	}
	require.True(t, refused)
}

func TestBinanceLatency(t *testing.T) {
	_, c, _ := newSim(t, WithBinanceLatency(30*time.Millisecond))
	began := time.Now()
	require.Equal(t, http.StatusOK, c.get("/api/v3/ping", "").status)
	require.GreaterOrEqual(t, time.Since(began), 30*time.Millisecond)
	require.Panics(t, func() { NewBinance(WithBinanceLatency(-time.Second)) })
}

func TestBinanceOrderCountHeaders(t *testing.T) {
	_, c, _ := newSim(t)
	a := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=40000")
	require.Equal(t, "1", a.header.Get("X-MBX-ORDER-COUNT-10S"))
	require.Equal(t, "1", a.header.Get("X-MBX-ORDER-COUNT-1D"))
	require.Equal(t, 1, usedWeight(t, a))
}

func TestBinanceFeeEndpoints(t *testing.T) {
	_, c, _ := newSim(t)
	m := c.signed(http.MethodGet, "/api/v3/account/commission", "symbol=ETHBTC").obj(t)
	require.Equal(t, "ETHBTC", m["symbol"])
	require.Equal(t, map[string]any{"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000", "seller": "0.00000000"}, m["standardCommission"])
	require.Equal(t, -1102, c.signed(http.MethodGet, "/api/v3/account/commission", "").code(t))
	fees := c.signed(http.MethodGet, "/sapi/v1/asset/tradeFee", "symbol=BTCUSDT").list(t)
	require.Equal(t, []map[string]any{{"symbol": "BTCUSDT", "makerCommission": "0.001", "takerCommission": "0.001"}}, fees)
	require.Len(t, c.signed(http.MethodGet, "/sapi/v1/asset/tradeFee", "").list(t), len(DefaultBinanceSymbols()))

	_, z, _ := newSim(t, WithBinanceCommission(dec("0.0002"), dec("0.0004")))
	fees = z.signed(http.MethodGet, "/sapi/v1/asset/tradeFee", "symbol=BTCUSDT").list(t)
	require.Equal(t, "0.0002", fees[0]["makerCommission"])
	require.Equal(t, "0.0004", fees[0]["takerCommission"])
}

func TestBinanceHistoricalTrades(t *testing.T) {
	_, c, _ := newSim(t)
	for range 3 {
		c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001")
	}
	h := c.get("/api/v3/historicalTrades", "symbol=BTCUSDT&fromId=2&limit=1").list(t)
	require.Len(t, h, 1)
	require.EqualValues(t, 2, h[0]["id"])
	require.Len(t, c.get("/api/v3/historicalTrades", "symbol=BTCUSDT").list(t), 3)
	require.Equal(t, -1100, c.get("/api/v3/historicalTrades", "symbol=BTCUSDT&fromId=x").code(t))
}
