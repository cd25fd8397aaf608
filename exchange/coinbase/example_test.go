package coinbase_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/coinbase"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// Example places a guarded limit order on the simulated Coinbase with a
// CDP key generated on the spot, and shows that the guard refuses a
// transfer before anything is signed.
func Example() {
	ctx := context.Background()
	const keyName = "organizations/example-org/apiKeys/example-key"

	// A CDP ECDSA key, held by the signer; the venue knows its public half.
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(priv)
	keys := signer.NewMemory()
	defer keys.Close()
	_ = keys.Import(signer.KeyInfo{Name: "cb", Venue: coinbase.Venue, APIKey: keyName, Type: signer.KeyECDSAP256},
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil)

	sim := exchangetest.NewCoinbase(exchangetest.WithCoinbaseKeys(exchangetest.CoinbaseKey{
		Name: keyName, PublicKey: &priv.PublicKey, Permissions: exchange.Permissions{Read: true, Trade: true}}))
	defer sim.Close()

	// The guard values orders at Coinbase's best bid and ask.
	nd := func(s string) decimal.NullDecimal { return decimal.NewNullDecimal(decimal.RequireFromString(s)) }
	policy := &limits.Policy{Version: 1, Credentials: map[string]*limits.CredentialPolicy{"cb": {
		Venue: coinbase.Venue, OrderTypes: []exchange.OrderType{exchange.Limit}, MaxOpenOrders: 5, PriceBand: nd("0.05"),
		Quotes:  map[string]limits.Caps{"USD": {MaxOrderNotional: nd("500"), MaxDailyNotional: nd("5000")}},
		Symbols: map[string]limits.SymbolPolicy{"BTC-USD": {}},
	}}}
	prices := coinbase.NewPriceFeed(coinbase.PriceFeedConfig{})
	guard, err := limits.NewGuard(policy, limits.NewMemoryStore(), limits.WithPrices(coinbase.Venue, prices))
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

	client, err := coinbase.New(ctx, coinbase.Config{
		BaseURL: sim.URL(), Credential: "cb", Signer: keys, Guard: guard, Audit: log, Prices: prices,
		// Coinbase does not report IP allowlists: accept that explicitly.
		KeyRisks: exchange.KeyRisks{UnrestrictedIP: true},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	o, err := client.PlaceOrder(ctx, exchange.Order{Symbol: "BTC-USD", Side: exchange.Buy, Type: exchange.Limit,
		Quantity: decimal.RequireFromString("0.001"), Price: decimal.RequireFromString("49000")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.Status, o.Symbol, o.Price)

	_, err = client.Do(ctx, &exchange.Request{Method: "POST", Path: coinbase.Prefix + "/portfolios/move_funds",
		Body: []byte(`{"funds":{"value":"100","currency":"USD"},"source_portfolio_uuid":"a","target_portfolio_uuid":"b"}`)})
	fmt.Println("transfer refused:", err != nil, "funds moved:", len(sim.Transfers()))
	// Output:
	// NEW BTC-USD 49000
	// transfer refused: true funds moved: 0
}
