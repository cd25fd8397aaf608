package exchangetest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkBinanceSignedOrder measures one signed limit order that fills
// at once, through the whole handler: parsing, HMAC verification, rate
// limits, filters, the book and balances.
func BenchmarkBinanceSignedOrder(b *testing.B) {
	clk := newFakeClock(start)
	sim := NewBinance(WithBinanceClock(clk.Now), WithBinanceListener(closedListener{}),
		WithBinanceRateLimits(BinanceRateLimit{BinanceRequestWeight, time.Second, 1 << 30}, BinanceRateLimit{BinanceOrders, time.Second, 1 << 30}))
	defer sim.Close()
	sim.AddKey(BinanceKey{APIKey: "bench", HMACSecret: []byte("bench-secret"), Permissions: traderPerms})
	_ = sim.SetBalance("bench", "USDT", dec("1000000000000"))
	sign := hmacSigner("bench-secret")
	for i := 0; b.Loop(); i++ {
		params := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000&timestamp=" +
			strconv.FormatInt(start.UnixMilli(), 10)
		params += "&signature=" + sign(params)
		req := httptest.NewRequest(http.MethodPost, "/api/v3/order", strings.NewReader(params))
		req.Header.Set("X-MBX-APIKEY", "bench")
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("order %d: %d %s", i, w.Code, w.Body)
		}
	}
}
