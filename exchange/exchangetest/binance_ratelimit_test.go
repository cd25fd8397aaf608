package exchangetest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBinanceWeightHeadersByDefault(t *testing.T) {
	_, c, _ := newSim(t)
	a := c.get("/api/v3/ping", "")
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "1", a.header.Get("X-MBX-USED-WEIGHT-1M"))
	a = c.get("/api/v3/exchangeInfo", "")
	require.Equal(t, "21", a.header.Get("X-MBX-USED-WEIGHT-1M"), "exchangeInfo weighs 20")
	a = c.get("/api/v3/ticker/bookTicker", "symbol=BTCUSDT")
	require.Equal(t, "23", a.header.Get("X-MBX-USED-WEIGHT-1M"), "bookTicker for one symbol weighs 2")
	a = c.get("/api/v3/ticker/bookTicker", "")
	require.Equal(t, "27", a.header.Get("X-MBX-USED-WEIGHT-1M"), "bookTicker for all symbols weighs 4")
	a = c.signed(http.MethodGet, "/api/v3/account", "")
	require.Equal(t, "47", a.header.Get("X-MBX-USED-WEIGHT-1M"), "account weighs 20")
	a = c.raw(http.MethodGet, "/api/v3/account", "timestamp=1&signature=00", "")
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, "67", a.header.Get("X-MBX-USED-WEIGHT-1M"), "refused requests count too")
}

func TestBinanceWeightLimitThenBan(t *testing.T) {
	b, c, clk := newSim(t,
		WithBinanceRateLimits(BinanceRateLimit{BinanceRequestWeight, time.Second, 3}),
		WithBinanceBanDuration(2*time.Minute))
	clk.Add(400 * time.Millisecond) // the window still ends at start+1s
	for i, want := range []string{"1", "2", "3"} {
		a := c.get("/api/v3/ping", "")
		require.Equal(t, http.StatusOK, a.status, "request %d", i)
		require.Equal(t, want, a.header.Get("X-MBX-USED-WEIGHT-1S"))
		require.Empty(t, a.header.Get("X-MBX-USED-WEIGHT-1M"), "only configured intervals are reported")
	}
	a := c.get("/api/v3/ping", "")
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, -1003, a.code(t))
	require.Equal(t, "1", a.header.Get("Retry-After"), "600 ms to the window's end, rounded up")
	require.EqualValues(t, 1, b.Count429())

	// Sending again before Retry-After has passed earns an IP ban.
	clk.Add(100 * time.Millisecond)
	a = c.get("/api/v3/ping", "")
	require.Equal(t, http.StatusTeapot, a.status)
	require.Equal(t, -1003, a.code(t))
	require.Contains(t, a.str(t, "msg"), "banned until")
	require.Equal(t, "120", a.header.Get("Retry-After"))
	require.EqualValues(t, 1, b.Count418())

	// The ban outlives the weight window.
	clk.Add(time.Minute)
	a = c.get("/api/v3/ping", "")
	require.Equal(t, http.StatusTeapot, a.status)
	require.Equal(t, "60", a.header.Get("Retry-After"))

	clk.Add(time.Minute)
	a = c.get("/api/v3/ping", "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, "1", a.header.Get("X-MBX-USED-WEIGHT-1S"))
	require.EqualValues(t, 7, b.Requests())
}

func TestBinanceWaitingOutA429AvoidsTheBan(t *testing.T) {
	b, c, clk := newSim(t, WithBinanceRateLimits(BinanceRateLimit{BinanceRequestWeight, time.Second, 1}))
	require.Equal(t, http.StatusOK, c.get("/api/v3/ping", "").status)
	a := c.get("/api/v3/ping", "")
	require.Equal(t, http.StatusTooManyRequests, a.status)
	clk.Add(time.Second) // Retry-After: 1
	require.Equal(t, http.StatusOK, c.get("/api/v3/ping", "").status)
	require.EqualValues(t, 0, b.Count418())
}

func TestBinanceOrderCountHeadersAndLimit(t *testing.T) {
	b, c, clk := newSim(t, WithBinanceRateLimits(
		BinanceRateLimit{BinanceRequestWeight, time.Minute, 6000},
		BinanceRateLimit{BinanceOrders, 10 * time.Second, 2},
		BinanceRateLimit{BinanceOrders, 24 * time.Hour, 100},
	))
	rest := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=40000"
	for _, want := range []string{"1", "2"} {
		a := c.signed(http.MethodPost, "/api/v3/order", rest)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		require.Equal(t, want, a.header.Get("X-MBX-ORDER-COUNT-10S"))
		require.Equal(t, want, a.header.Get("X-MBX-ORDER-COUNT-1D"))
	}
	a := c.signed(http.MethodPost, "/api/v3/order", rest)
	require.Equal(t, http.StatusTooManyRequests, a.status)
	require.Equal(t, -1015, a.code(t))
	require.Contains(t, a.str(t, "msg"), "Too many new orders")
	require.Len(t, c.signed(http.MethodGet, "/api/v3/openOrders", "symbol=BTCUSDT").list(t), 2, "the refused order was not placed")

	clk.Add(10 * time.Second)
	a = c.signed(http.MethodPost, "/api/v3/order", rest)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, "1", a.header.Get("X-MBX-ORDER-COUNT-10S"))
	require.Equal(t, "3", a.header.Get("X-MBX-ORDER-COUNT-1D"))

	// An order that trades at once is not an unfilled order.
	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, "1", a.header.Get("X-MBX-ORDER-COUNT-10S"))
	require.Equal(t, "3", a.header.Get("X-MBX-ORDER-COUNT-1D"))

	// A resting order that fills gives its count back.
	b.SetPrice("BTCUSDT", dec("39000"))
	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=38000")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, "NEW", a.str(t, "status"))
	require.Equal(t, "1", a.header.Get("X-MBX-ORDER-COUNT-10S"), "the resting orders filled, then this one came")
	require.Equal(t, "1", a.header.Get("X-MBX-ORDER-COUNT-1D"), "the resting orders filled, then this one came")
}

func TestBinanceRateLimitsServedInExchangeInfo(t *testing.T) {
	_, c, _ := newSim(t, WithBinanceRateLimits(
		BinanceRateLimit{BinanceRequestWeight, time.Second, 50},
		BinanceRateLimit{BinanceOrders, 10 * time.Second, 5},
		BinanceRateLimit{BinanceRawRequests, 5 * time.Minute, 100},
	))
	a := c.get("/api/v3/exchangeInfo", "symbol=BTCUSDT")
	require.Equal(t, http.StatusOK, a.status)
	rls := a.obj(t)["rateLimits"].([]any)
	require.Equal(t, []any{
		map[string]any{"rateLimitType": "REQUEST_WEIGHT", "interval": "SECOND", "intervalNum": 1.0, "limit": 50.0},
		map[string]any{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10.0, "limit": 5.0},
		map[string]any{"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5.0, "limit": 100.0},
	}, rls)
}

func TestBinanceInvalidRateLimitPanics(t *testing.T) {
	require.Panics(t, func() {
		NewBinance(WithBinanceRateLimits(BinanceRateLimit{BinanceOrders, 1500 * time.Millisecond, 5}))
	})
	require.Panics(t, func() {
		NewBinance(WithBinanceRateLimits(BinanceRateLimit{"WEIGHT", time.Second, 5}))
	})
}

func TestWindowAlignment(t *testing.T) {
	for _, tc := range []struct {
		interval time.Duration
		at       time.Time
		end      time.Time
		retry    int
	}{
		{time.Minute, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC), 55},
		{10 * time.Second, time.Date(2026, 1, 2, 3, 4, 5, 500e6, time.UTC), time.Date(2026, 1, 2, 3, 4, 10, 0, time.UTC), 5},
		{24 * time.Hour, time.Date(2026, 1, 2, 23, 59, 59, 900e6, time.UTC), time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), 1},
	} {
		w := &window{interval: tc.interval}
		w.roll(tc.at)
		require.True(t, tc.end.Equal(w.end()), "%s at %s ends %s", tc.interval, tc.at, w.end())
		require.Equal(t, tc.retry, w.retryAfter(tc.at))
	}
}
