package binance_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
	"github.com/shopspring/decimal"
)

// botFiles are the files a bot keeps: the keystore, the policy, the limit
// state and the audit log.
type botFiles struct {
	keys, policy, state, audit string
}

// useInABot is the code README.md shows under "Use it in a bot", between
// the README markers; TestReadmeShowsUseInABot keeps the two the same.
func useInABot(ctx context.Context, baseURL string, f botFiles, passphrase []byte) error {
	// README:begin
	ks, err := keystore.Open(ctx, f.keys, passphrase) // secrets stay sealed until first use
	if err != nil {
		return err
	}
	defer ks.Close()
	policy, err := limits.LoadPolicy(f.policy)
	if err != nil {
		return err
	}
	log, err := audit.Open(ctx, f.audit) // every decision, hash-chained
	if err != nil {
		return err
	}
	defer log.Close()
	// Caps and the kill switch survive restarts; the state is tied to the
	// audit log, so a deleted or older state file is refused.
	store, err := limits.OpenFileStoreContext(ctx, f.state, limits.WithAuditLog(log))
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.CheckGeneration(ctx, "keystore", ks.Generation()); err != nil {
		return err // an older copy of the keystore (a removed key back) is refused
	}
	prices := binance.NewPriceFeed(binance.PriceFeedConfig{BaseURL: baseURL})
	guard, err := limits.NewGuard(policy, store, limits.WithPrices(binance.Venue, prices))
	if err != nil {
		return err
	}
	// keyfence killswitch trip --state <f.state> halts the running bot.
	ctl, err := limits.ServeControl(limits.ControlSocket(f.state), guard, nil)
	if err != nil {
		return err
	}
	defer ctl.Close(context.WithoutCancel(ctx))
	risks, _ := guard.AcceptKeyRisks("binance-main")
	client, err := binance.New(ctx, binance.Config{ // refuses a key that can withdraw
		BaseURL: baseURL, Credential: "binance-main", Signer: ks.Signer(),
		Guard: guard, Audit: log, KeyRisks: risks, Prices: prices,
	})
	if err != nil {
		return err
	}
	order, err := client.PlaceOrder(ctx, exchange.Order{
		Symbol: "BTCUSDT", Side: exchange.Buy, Type: exchange.Limit, TimeInForce: exchange.GTC,
		Price: decimal.RequireFromString("49500"), Quantity: decimal.RequireFromString("0.001"),
	})
	var v *limits.Violation
	if errors.As(err, &v) {
		return fmt.Errorf("refused by the guard (rule %s): %w", v.Rule, err)
	}
	if err != nil {
		return err
	}
	fmt.Println("placed", order.Symbol, order.Status)
	return nil
	// README:end
}

// A bot wired as the README shows, against the simulated Binance: an
// encrypted keystore, a policy file, the audit log, the state tied to it,
// the kill switch's control socket and the guarded client.
func Example_useInABot() {
	ctx := context.Background()
	sim := exchangetest.NewBinance()
	defer sim.Close()
	secret := make([]byte, 32) // a test key generated here; never a real secret in code
	for i := range secret {
		secret[i] = byte(3 * i)
	}
	sim.AddKey(exchangetest.BinanceKey{APIKey: "readme-key", HMACSecret: secret,
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}})

	dir, err := os.MkdirTemp("", "kf-readme")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	f := botFiles{keys: filepath.Join(dir, "keys.kfs"), policy: filepath.Join(dir, "policy.yaml"),
		state: filepath.Join(dir, "limits.state"), audit: filepath.Join(dir, "audit.jsonl")}
	passphrase := []byte("example passphrase, not a real one")
	ks, err := keystore.Create(ctx, f.keys, passphrase, keystore.WithKDFParams(keystore.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}))
	if err != nil {
		fmt.Println(err)
		return
	}
	err = ks.Add(ctx, keystore.Entry{Name: "binance-main", Venue: "binance", APIKey: "readme-key", Type: signer.KeyHMAC}, secret, nil)
	ks.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = os.WriteFile(f.policy, []byte(`version: 1
credentials:
  binance-main:
    venue: binance
    order_types: [LIMIT]
    max_open_orders: 5
    price_band: "2%"
    quotes:
      USDT: {max_order_notional: "1000", max_daily_notional: "5000"}
    symbols:
      BTCUSDT: {}
`), 0o600)

	if err := useInABot(ctx, sim.URL(), f, passphrase); err != nil {
		fmt.Println(err)
	}
	// Output:
	// placed BTCUSDT NEW
}
