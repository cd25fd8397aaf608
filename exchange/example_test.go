package exchange_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// fixedPrices is a reference price source that always gives the same quote;
// venue clients implement exchange.PriceSource from their public tickers.
type fixedPrices exchange.Quote

func (p fixedPrices) Reference(ctx context.Context, symbol string) (exchange.Quote, error) {
	if symbol != p.Symbol {
		return exchange.Quote{}, fmt.Errorf("no ticker for %s", symbol)
	}
	return exchange.Quote(p), nil
}

// An Authorizer in front of a Binance key: the guard checks the order parsed
// from the request, the audit log records the decision, and only then is
// the request signed. The key is the published Binance documentation key,
// not a real account's.
func ExampleAuthorizer() {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }

	keys := signer.NewMemory()
	defer keys.Close()
	err := keys.Import(signer.KeyInfo{Name: "bot", Venue: "binance", Type: signer.KeyHMAC,
		APIKey: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"},
		[]byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}

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
	prices := fixedPrices{Symbol: "BTCUSDT", Bid: decimal.RequireFromString("49990"),
		Ask: decimal.RequireFromString("50000"), At: now}
	guard, err := limits.NewGuard(policy, limits.NewMemoryStore(),
		limits.WithPrices("binance", prices), limits.WithClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}

	dir, err := os.MkdirTemp("", "exchange-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	log, err := audit.Open(ctx, filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer log.Close()

	scheme, err := binance.NewScheme(5 * time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	auth := &exchange.Authorizer{Scheme: scheme, Signer: keys, Guard: guard, Audit: log,
		Clock: clock} // a fixed clock stamps timestamp=..., so the output is stable

	order := func(price string) *exchange.Request {
		return &exchange.Request{Credential: "bot", Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
			{Key: "symbol", Value: "BTCUSDT"}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "LIMIT"},
			{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "0.01"}, {Key: "price", Value: price}}}
	}

	a, err := auth.Authorize(ctx, order("49500"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Intent.String())
	fmt.Println(a.Wire.Method, a.Wire.URL("https://api.binance.com"))
	// ... send a.Wire with exchange.Do, then settle from the venue's answer.
	_ = a.Reservation.Release(ctx, nil)

	// 20% above the ask: the price band refuses it and nothing is signed.
	_, err = auth.Authorize(ctx, order("60000"))
	var v *limits.Violation
	if errors.As(err, &v) {
		fmt.Println("denied by", v.Rule)
		fmt.Println(err)
	}
	// Output:
	// POST /api/v3/order: BUY LIMIT 0.01 BTCUSDT @ 49500 GTC
	// POST https://api.binance.com/api/v3/order?symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=49500&recvWindow=5000&timestamp=1767323045000&signature=e76c8fe369629faf3617bd47e26ce745c0ed91da44869e0c0021d65048ed8b65
	// denied by price_band
	// limits: denied by price_band: credential "bot" symbol BTCUSDT: price outside the band around the reference (price 60000 is 20% above the ask 50000, limit 2%); price the order nearer the market or widen credentials.bot.price_band
}

// Parameters keep their order and are percent-encoded as UTF-8; the
// encoding is what a venue that signs the query string signs.
func ExampleParams_Encode() {
	p := exchange.Params{
		{Key: "symbol", Value: "BTCUSDT"},
		{Key: "newClientOrderId", Value: "１２３"},
		{Key: "note", Value: "a+b & c=d"},
	}
	enc := p.Encode()
	fmt.Println(enc)
	back, err := exchange.ParseParams(enc)
	fmt.Println(back[1].Value, back[2].Value, err)
	// Output:
	// symbol=BTCUSDT&newClientOrderId=%EF%BC%91%EF%BC%92%EF%BC%93&note=a%2Bb+%26+c%3Dd
	// １２３ a+b & c=d <nil>
}

// AppendEncoded writes the same encoding into a caller's buffer, for a
// scheme that signs the query followed by other bytes.
func ExampleParams_AppendEncoded() {
	p := exchange.Params{{Key: "symbol", Value: "LTCBTC"}, {Key: "price", Value: "0.1"}}
	buf := make([]byte, 0, 64)
	buf = p.AppendEncoded(buf)
	buf = append(buf, "&body=x"...)
	fmt.Println(string(buf), string(p.AppendEncoded(nil)) == p.Encode())
	// Output:
	// symbol=LTCBTC&price=0.1&body=x true
}

// A key that can withdraw and works from any address is refused unless the
// policy accepts those risks.
func ExampleCheckPermissions() {
	perms := exchange.Permissions{Read: true, Trade: true, Withdraw: true}
	err := exchange.CheckPermissions("binance", perms, exchange.KeyRisks{})
	fmt.Println(errors.Is(err, exchange.ErrKeyTooPowerful))
	fmt.Println(err)

	err = exchange.CheckPermissions("binance", perms, exchange.KeyRisks{Withdraw: true, UnrestrictedIP: true})
	fmt.Println(err)
	// Output:
	// true
	// exchange: key permissions exceed what the policy accepts: binance key: withdrawals are enabled; no IP restriction is set; restrict the key at the venue, or accept the risk in the policy
	// <nil>
}
