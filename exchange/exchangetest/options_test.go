package exchangetest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func timedGet(t *testing.T, url string) (*http.Response, time.Duration) {
	t.Helper()
	began := time.Now()
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	return resp, time.Since(began)
}

// The shared options work on KuCoin and Coinbase as on Binance.
func TestSharedOptionsKuCoin(t *testing.T) {
	clk := newFakeClock(start)
	d := Drift{Step: dec("0.001"), Every: time.Second, Seed: 3}
	k := NewKuCoin(WithKuCoinClock(clk.Now), WithKuCoinDrift(d), WithKuCoinLatency(20*time.Millisecond), WithKuCoinNoRateLimits())
	t.Cleanup(k.Close)
	p0, _ := k.Price("BTC-USDT")
	clk.Add(10 * time.Second)
	p1, _ := k.Price("BTC-USDT")
	require.False(t, p0.Equal(p1), "the drift moves KuCoin's prices")

	resp, took := timedGet(t, k.URL()+"/api/v1/timestamp")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.GreaterOrEqual(t, took, 20*time.Millisecond)
	require.Equal(t, "1000000000", resp.Header.Get("gw-ratelimit-limit"))

	require.Panics(t, func() { NewKuCoin(WithKuCoinDrift(Drift{Step: dec("0.001")})) }, "a drift without a step interval")
}

func TestSharedOptionsCoinbase(t *testing.T) {
	clk := newFakeClock(start)
	d := Drift{Step: dec("0.001"), Every: time.Second, Seed: 3}
	cb := NewCoinbase(WithCoinbaseClock(clk.Now), WithCoinbaseDrift(d), WithCoinbaseLatency(20*time.Millisecond), WithCoinbaseNoRateLimits())
	t.Cleanup(cb.Close)
	p0, _ := cb.Price("BTC-USD")
	clk.Add(10 * time.Second)
	p1, _ := cb.Price("BTC-USD")
	require.False(t, p0.Equal(p1), "the drift moves Coinbase's prices")

	_, took := timedGet(t, cb.URL()+"/api/v3/brokerage/accounts")
	require.GreaterOrEqual(t, took, 20*time.Millisecond)

	cfg := coinbaseConfigOf([]CoinbaseOption{WithCoinbaseNoRateLimits()})
	require.Equal(t, noLimit, cfg.private)
	require.Equal(t, noLimit, cfg.public)
}
