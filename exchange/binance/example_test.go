package binance_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// The Binance documentation's signed order, reproduced through the scheme:
// Prepare appends recvWindow and timestamp, Sign appends the signature.
func ExampleScheme() {
	s, _ := binance.NewScheme(5 * time.Second)
	keys := signer.NewMemory()
	defer keys.Close()
	// The published documentation key (not a real account).
	_ = keys.Import(signer.KeyInfo{Name: "doc", Venue: "binance", Type: signer.KeyHMAC,
		APIKey: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"},
		[]byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"), nil)
	key, _ := keys.Info(context.Background(), "doc")

	req := &exchange.Request{Credential: "doc", Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
		{Key: "symbol", Value: "LTCBTC"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
		{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "1"}, {Key: "price", Value: "0.1"}}}
	route, _ := s.Classify(req)
	var in exchange.Intent
	_ = s.Intent(req, route, &in)
	now := time.UnixMilli(1499827319559)
	payload, _ := s.Prepare(nil, req, key, now)
	var wire exchange.Wire
	_ = s.Sign(context.Background(), keys, key, req, payload, now, &wire)

	fmt.Println(route.Class, route.Cost.Weight, route.Cost.Orders)
	fmt.Println(in.String())
	fmt.Println(wire.Query)
	// Output:
	// trade 1 1
	// POST /api/v3/order: BUY LIMIT 1 LTCBTC @ 0.1 GTC
	// symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71
}

// A guarded client against the simulated Binance: the guard is built with
// the public price feed before the client exists; New checks the key's
// permissions; every signed request is audited.
func ExampleNew() {
	ctx := context.Background()
	sim := exchangetest.NewBinance()
	defer sim.Close()
	secret := make([]byte, 32) // a test key generated here; never a real secret in code
	for i := range secret {
		secret[i] = byte(i)
	}
	sim.AddKey(exchangetest.BinanceKey{APIKey: "example-key", HMACSecret: secret,
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})
	keys := signer.NewMemory()
	defer keys.Close()
	_ = keys.Import(signer.KeyInfo{Name: "bot", Venue: "binance", APIKey: "example-key", Type: signer.KeyHMAC}, secret, nil)

	prices := binance.NewPriceFeed(binance.PriceFeedConfig{BaseURL: sim.URL()})
	policy, err := limits.ParsePolicy([]byte(`
version: 1
credentials:
  bot:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTCUSDT: {}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	guard, err := limits.NewGuard(policy, limits.NewMemoryStore(), limits.WithPrices("binance", prices))
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

	c, err := binance.New(ctx, binance.Config{BaseURL: sim.URL(), Credential: "bot", Signer: keys,
		Guard: guard, Audit: log, Prices: prices})
	if err != nil {
		fmt.Println(err)
		return
	}
	o, err := c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: decimal.RequireFromString("0.001"), Price: decimal.RequireFromString("49500")})
	fmt.Println(o.Status, err)

	// A price the filters refuse never reaches the guard or the signer.
	_, err = c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: decimal.RequireFromString("0.001"), Price: decimal.RequireFromString("49500.005")})
	fmt.Println(err)

	// Far above the market: the guard's price band refuses it.
	_, err = c.PlaceOrder(ctx, exchange.Order{Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: decimal.RequireFromString("0.001"), Price: decimal.RequireFromString("60000")})
	fmt.Println(err != nil)
	// Output:
	// NEW <nil>
	// exchange: BTCUSDT: PRICE_FILTER tickSize: price 49500.005 is not a multiple of tickSize 0.01 (nearest 49500.00 or 49500.01)
	// true
}

// An order answered with ACK (no status, no fills) holds its budget, of
// unknown outcome, until reconciliation sees it at the venue: resting, and
// accounted for by its allow record (no foreign order).
func ExampleClient_Reconcile() {
	ctx := context.Background()
	sim := exchangetest.NewBinance()
	defer sim.Close()
	secret := make([]byte, 32) // a test key generated here; never a real secret in code
	for i := range secret {
		secret[i] = byte(i)
	}
	sim.AddKey(exchangetest.BinanceKey{APIKey: "example-key", HMACSecret: secret,
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})
	keys := signer.NewMemory()
	defer keys.Close()
	_ = keys.Import(signer.KeyInfo{Name: "bot", Venue: "binance", APIKey: "example-key", Type: signer.KeyHMAC}, secret, nil)
	prices := binance.NewPriceFeed(binance.PriceFeedConfig{BaseURL: sim.URL()})
	policy, _ := limits.ParsePolicy([]byte(`
version: 1
credentials:
  bot:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTCUSDT: {}
`))
	guard, _ := limits.NewGuard(policy, limits.NewMemoryStore(), limits.WithPrices("binance", prices))
	dir, _ := os.MkdirTemp("", "keyfence-example")
	defer os.RemoveAll(dir)
	log, _ := audit.Open(ctx, filepath.Join(dir, "audit.log"))
	defer log.Close()
	c, err := binance.New(ctx, binance.Config{BaseURL: sim.URL(), Credential: "bot", Signer: keys, Guard: guard, Audit: log,
		Prices: prices, Reconcile: exchange.ReconcileConfig{Every: time.Hour}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	_, err = c.Do(ctx, &exchange.Request{Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
		{Key: "symbol", Value: "BTCUSDT"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
		{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "0.001"}, {Key: "price", Value: "49500"},
		{Key: "newOrderRespType", Value: "ACK"}}})
	tracked, _ := guard.TrackedOrders(ctx, "bot")
	fmt.Println(err, len(tracked), tracked[0].Unknown)

	rep, err := c.Reconcile(ctx)
	fmt.Println(err, len(rep.Open), len(rep.Foreign))
	// Output:
	// <nil> 1 true
	// <nil> 1 0
}
