package gateway

import (
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange/exchangetest"
)

// TestTwoBotsShareTheRateGuard runs two bots with their own client
// credentials on one venue account through one gateway, together asking
// for ten times the request weight the venue allows in a second: the
// gateway's rate guard for the account spaces them, and the venue answers
// no 429 and no 418.
func TestTwoBotsShareTheRateGuard(t *testing.T) {
	testTwoBots(t, "binance-main", "binance-main")
}

// TestTwoAccountsShareTheAddressWeight is the same with the bots on two
// venue accounts: Binance counts request weight per address, which the two
// accounts' clients at the gateway share.
func TestTwoAccountsShareTheAddressWeight(t *testing.T) {
	testTwoBots(t, "binance-main", "binance-second")
}

func testTwoBots(t *testing.T, credA, credB string) {
	if testing.Short() {
		t.Skip("runs for about ten seconds")
	}
	const (
		limit    = 300 // request weight per second
		weight   = 6   // GET /api/v3/openOrders with a symbol
		requests = 10 * limit / weight
		workers  = 16 // per bot
	)
	e := newEnv(t, envOpts{binance: []exchangetest.BinanceOption{exchangetest.WithBinanceRateLimits(
		exchangetest.BinanceRateLimit{Type: exchangetest.BinanceRequestWeight, Interval: time.Second, Limit: limit},
		exchangetest.BinanceRateLimit{Type: exchangetest.BinanceOrders, Interval: 10 * time.Second, Limit: 100},
	)}})
	bots := []Issued{e.issue("bot-a", Binance, credA), e.issue("bot-b", Binance, credB)}
	var ok, refused atomic.Int64
	jobs := make(chan Issued, requests)
	for i := range requests {
		jobs <- bots[i%2]
	}
	close(jobs)
	var wg sync.WaitGroup
	for range 2 * workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for bot := range jobs {
				q := signedQuery(bot.Secret, url.Values{"symbol": {"BTCUSDT"}})
				req, _ := http.NewRequest("GET", e.srv[Binance].URL+"/api/v3/openOrders?"+q, nil)
				req.Header.Set("X-MBX-APIKEY", bot.APIKey)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					refused.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else if refused.Add(1) == 1 {
					t.Logf("first refusal: %d %s", resp.StatusCode, b)
				}
			}
		}()
	}
	wg.Wait()
	if n := e.binance.Count429(); n != 0 {
		t.Errorf("the venue answered %d 429s", n)
	}
	if n := e.binance.Count418(); n != 0 {
		t.Errorf("the venue answered %d 418s", n)
	}
	if ok.Load() != requests {
		t.Errorf("%d of %d requests passed, %d refused; want all to pass, spaced by the gateway", ok.Load(), requests, refused.Load())
	}
}
