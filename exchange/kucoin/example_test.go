package kucoin_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/exchange/kucoin"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// KuCoin's SDK test key signs an HF order through the scheme: the headers
// carry the signature of timestamp + method + path + body and the
// passphrase's HMAC, both computed inside the signer backend.
func ExampleScheme() {
	s, _ := kucoin.NewScheme(kucoin.KeyVersion2)
	keys := signer.NewMemory()
	defer keys.Close()
	// KuCoin's SDK test values (not a real account).
	_ = keys.Import(signer.KeyInfo{Name: "doc", Venue: "kucoin", Type: signer.KeyHMAC, APIKey: "test_api_key"},
		[]byte("test_api_secret"), []byte("test_passphrase"))
	key, _ := keys.Info(context.Background(), "doc")

	req := &exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v1/hf/orders",
		Body: []byte(`{"clientOid":"5c52e11203aa677f33e493fb","side":"buy","symbol":"BTC-USDT","type":"limit","price":"10000","size":"0.001"}`)}
	route, _ := s.Classify(req)
	var in exchange.Intent
	_ = s.Intent(req, route, &in)
	now := time.UnixMilli(1234567890000)
	payload, _ := s.Prepare(nil, req, key, now)
	var wire exchange.Wire
	_ = s.Sign(context.Background(), keys, key, req, payload, now, &wire)

	fmt.Println(route.Class, route.Cost.Weight)
	fmt.Println(in.String())
	fmt.Println(wire.Header.Get(kucoin.HeaderSign))
	fmt.Println(wire.Header.Get(kucoin.HeaderPassphrase))
	// Output:
	// trade 1
	// POST /api/v1/hf/orders: BUY LIMIT 0.001 BTC-USDT @ 10000 GTC cid=5c52e11203aa677f33e493fb
	// n0ZAGr6Z+/X7sg10JgxVrEQTtpvwDKDicJ0TmYcehzU=
	// Ikr9KjwgA4urCb5Az1TNKgQELW10z84iOq+wsZsRRz0=
}

// A guarded client against the simulated KuCoin: the guard is built with
// the public price feed before the client exists; New checks the key's
// permissions and IP whitelist; every signed request is audited.
func ExampleNew() {
	ctx := context.Background()
	sim := exchangetest.NewKuCoin()
	defer sim.Close()
	secret := make([]byte, 32) // a test key generated here; never a real secret in code
	for i := range secret {
		secret[i] = 'a' + byte(i%26)
	}
	sim.AddKey(exchangetest.KuCoinKey{APIKey: "example-key", Secret: secret, Passphrase: []byte("example passphrase"),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})
	keys := signer.NewMemory()
	defer keys.Close()
	_ = keys.Import(signer.KeyInfo{Name: "bot", Venue: "kucoin", APIKey: "example-key", Type: signer.KeyHMAC},
		secret, []byte("example passphrase"))

	prices := kucoin.NewPriceFeed(kucoin.PriceFeedConfig{BaseURL: sim.URL()})
	policy, err := limits.ParsePolicy([]byte(`
version: 1
credentials:
  bot:
    venue: kucoin
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTC-USDT: {}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	guard, err := limits.NewGuard(policy, limits.NewMemoryStore(), limits.WithPrices("kucoin", prices))
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "keyfence-example")
	defer os.RemoveAll(dir)
	log, err := audit.Open(ctx, filepath.Join(dir, "audit.log"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer log.Close()

	c, err := kucoin.New(ctx, kucoin.Config{BaseURL: sim.URL(), Credential: "bot", Signer: keys,
		Guard: guard, Audit: log, Prices: prices})
	if err != nil {
		fmt.Println(err)
		return
	}
	o, err := c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: decimal.RequireFromString("0.001"), Price: decimal.RequireFromString("49500")})
	fmt.Println(o.Status, err)

	// A price off the symbol's priceIncrement never reaches the guard.
	_, err = c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: decimal.RequireFromString("0.001"), Price: decimal.RequireFromString("49500.05")})
	fmt.Println(err)

	// Far above the market: the guard's price band refuses it.
	_, err = c.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: decimal.RequireFromString("0.001"), Price: decimal.RequireFromString("60000")})
	fmt.Println(err != nil)
	// Output:
	// NEW <nil>
	// exchange: BTC-USDT: priceIncrement: price 49500.05 is not a multiple of 0.1 (nearest 49500.0 or 49500.1)
	// true
}
