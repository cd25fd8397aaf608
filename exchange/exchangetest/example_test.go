package exchangetest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/shopspring/decimal"
)

func ExampleNewBinance() {
	sim := exchangetest.NewBinance()
	defer sim.Close()

	resp, err := http.Get(sim.URL() + "/api/v3/ping")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(strings.HasPrefix(sim.URL(), "http://127.0.0.1:"), resp.StatusCode, string(body))
	// Output: true 200 {}
}

// A test places a signed order the way a bot would, then moves the market
// and reads the balances the simulator keeps.
func ExampleBinance_SetPrice() {
	now := time.UnixMilli(1_700_000_000_000)
	sim := exchangetest.NewBinance(exchangetest.WithBinanceClock(func() time.Time { return now }))
	defer sim.Close()
	sim.AddKey(exchangetest.BinanceKey{
		APIKey:      "bot",
		HMACSecret:  []byte("test-secret"),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true},
	})

	params := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=49000" +
		"&timestamp=" + strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte("test-secret"))
	mac.Write([]byte(params))
	params += "&signature=" + hex.EncodeToString(mac.Sum(nil))

	req, _ := http.NewRequest(http.MethodPost, sim.URL()+"/api/v3/order", strings.NewReader(params))
	req.Header.Set("X-MBX-APIKEY", "bot")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println("order:", resp.StatusCode, "orders counted:", resp.Header.Get("X-MBX-ORDER-COUNT-10S"))

	sim.SetPrice("BTCUSDT", decimal.RequireFromString("48500"))
	for _, b := range sim.Balances("bot") {
		if b.Asset == "BTC" || b.Asset == "USDT" {
			fmt.Println(b.Asset, b.Free, b.Locked)
		}
	}
	// Output:
	// order: 200 orders counted: 1
	// BTC 1.0999 0
	// USDT 5100 0
}
