package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"text/template"
	"time"

	"github.com/keyfence/keyfence/audit"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/coinbase"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/exchange/kucoin"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/limits"
	"github.com/keyfence/keyfence/signer"
)

// client is what the quickstart uses of a venue client.
type client interface {
	exchange.Client
	Do(ctx context.Context, req *exchange.Request) (*exchange.Response, error)
}

// market names the venue's symbols and quote asset.
type market struct {
	Venue          string
	Quote          string
	BTC, ETH, Thin string
	UnreportedIP   bool // the venue does not report a key's IP allowlist
	burst          exchange.Request
	burstRequests  int // ten times what the venue allows per second
	withdraw       exchange.Request
	assets         []string
}

// deps are the pieces the quickstart wires around every venue client.
type deps struct {
	signer signer.Signer
	audit  *audit.Log
	store  limits.Store
	guard  func(prices exchange.PriceSource) (*limits.Guard, error)
}

// venueRun is one simulated venue with the bot's keys registered.
type venueRun struct {
	url         string
	close       func()
	balances    func() []exchange.Balance // of the bot's account
	withdrawals func() int                // value moved out by the venue
	rejections  func() int64              // rate-limit answers (429/418)
	// connect builds a guarded client for a credential of the keystore.
	connect func(ctx context.Context, name string) (client, error)
}

// venueKit is a venue's market and the setup of its simulator: start adds
// the venue's two keys (a well-configured one and one with withdrawals
// enabled) to the keystore, registers them at the simulator and starts it.
type venueKit struct {
	market market
	start  func(ctx context.Context, ks *keystore.Keystore, d *deps) (*venueRun, error)
}

var venues = map[string]venueKit{
	binance.Venue: {market: market{
		Venue: binance.Venue, Quote: "USDT", BTC: "BTCUSDT", ETH: "ETHUSDT", Thin: "THINUSDT",
		burst:         exchange.Request{Method: "GET", Path: "/api/v3/ticker/price", Params: exchange.Params{{Key: "symbol", Value: "BTCUSDT"}}},
		burstRequests: 600, // weight 2 each: ten times the 120 per second
		withdraw: exchange.Request{Method: "POST", Path: "/sapi/v1/capital/withdraw/apply", Params: exchange.Params{
			{Key: "coin", Value: "USDT"}, {Key: "address", Value: "attacker-wallet"}, {Key: "amount", Value: "9000"}}},
		assets: []string{"USDT", "BTC", "ETH", "THIN"},
	}, start: startBinance},
	kucoin.Venue: {market: market{
		Venue: kucoin.Venue, Quote: "USDT", BTC: "BTC-USDT", ETH: "ETH-USDT", Thin: "THIN-USDT",
		burst:         exchange.Request{Method: "GET", Path: "/api/v1/accounts"},
		burstRequests: 200, // weight 5 each: ten times the 100 per 30 s of the management pool
		withdraw: exchange.Request{Method: "POST", Path: "/api/v3/withdrawals",
			Body: []byte(`{"currency":"USDT","toAddress":"attacker-wallet","amount":"9000","withdrawType":"ADDRESS"}`)},
		assets: []string{"USDT", "BTC", "ETH", "THIN"},
	}, start: startKuCoin},
	coinbase.Venue: {market: market{
		Venue: coinbase.Venue, Quote: "USD", BTC: "BTC-USD", ETH: "ETH-USD", Thin: "THIN-USD", UnreportedIP: true,
		burst:         exchange.Request{Method: "GET", Path: "/api/v3/brokerage/accounts"},
		burstRequests: 300, // ten times the 30 private requests per second
		withdraw: exchange.Request{Method: "POST", Path: "/v2/accounts/primary/transactions",
			Body: []byte(`{"type":"send","to":"attacker-wallet","amount":"9000","currency":"USD"}`)},
		assets: []string{"USD", "BTC", "ETH", "THIN"},
	}, start: startCoinbase},
}

// policy fills the policy template in for a market.
func (m market) policy() (*limits.Policy, error) {
	t, err := template.New("policy").Parse(string(policyYAML))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, m); err != nil {
		return nil, err
	}
	return limits.ParsePolicy(b.Bytes())
}

func startBinance(ctx context.Context, ks *keystore.Keystore, d *deps) (*venueRun, error) {
	botKey, botSecret := randomHex(16), randomHex(32)
	wideKey, wideSecret := randomHex(16), randomHex(32)
	err := ks.Update(ctx, func(tx *keystore.Tx) error {
		if err := tx.Add(keystore.Entry{Name: "bot", Venue: binance.Venue, APIKey: botKey, Type: signer.KeyHMAC}, []byte(botSecret), nil); err != nil {
			return err
		}
		return tx.Add(keystore.Entry{Name: "wide", Venue: binance.Venue, APIKey: wideKey, Type: signer.KeyHMAC}, []byte(wideSecret), nil)
	})
	if err != nil {
		return nil, err
	}
	sim := exchangetest.NewBinance(
		exchangetest.WithBinanceKeys(
			exchangetest.BinanceKey{APIKey: botKey, HMACSecret: []byte(botSecret),
				Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}},
			exchangetest.BinanceKey{APIKey: wideKey, HMACSecret: []byte(wideSecret),
				Permissions: exchange.Permissions{Read: true, Trade: true, Withdraw: true}},
		),
		// A small allowance, so that a burst of ten times it is quick.
		exchangetest.WithBinanceRateLimits(
			exchangetest.BinanceRateLimit{Type: exchangetest.BinanceRequestWeight, Interval: time.Second, Limit: 120},
			exchangetest.BinanceRateLimit{Type: exchangetest.BinanceOrders, Interval: 10 * time.Second, Limit: 50},
		),
	)
	prices := binance.NewPriceFeed(binance.PriceFeedConfig{BaseURL: sim.URL()})
	guard, err := d.guard(prices)
	if err != nil {
		sim.Close()
		return nil, err
	}
	// Binance counts request weight per IP address: every client on this
	// host shares the first one's rate guard.
	var rate exchange.RateLimiter
	return &venueRun{
		url:         sim.URL(),
		close:       sim.Close,
		balances:    func() []exchange.Balance { return sim.Balances(botKey) },
		withdrawals: func() int { return len(sim.Withdrawals()) },
		rejections:  func() int64 { return sim.Count429() + sim.Count418() },
		connect: func(ctx context.Context, name string) (client, error) {
			risks, _ := guard.AcceptKeyRisks(name)
			c, err := binance.New(ctx, binance.Config{
				BaseURL: sim.URL(), Credential: name, Signer: d.signer,
				Guard: guard, Audit: d.audit, KeyRisks: risks, Prices: prices, Rate: rate,
			})
			if err != nil {
				return nil, err
			}
			if rate == nil {
				rate = c.RateLimiter()
			}
			return c, nil
		},
	}, nil
}

func startCoinbase(ctx context.Context, ks *keystore.Keystore, d *deps) (*venueRun, error) {
	org := randomHex(8)
	botName, wideName := "organizations/"+org+"/apiKeys/"+randomHex(8), "organizations/"+org+"/apiKeys/"+randomHex(8)
	botPEM, botPub, err := newECKey()
	if err != nil {
		return nil, err
	}
	widePEM, widePub, err := newECKey()
	if err != nil {
		return nil, err
	}
	err = ks.Update(ctx, func(tx *keystore.Tx) error {
		if err := tx.Add(keystore.Entry{Name: "bot", Venue: coinbase.Venue, APIKey: botName, Type: signer.KeyECDSAP256}, botPEM, nil); err != nil {
			return err
		}
		return tx.Add(keystore.Entry{Name: "wide", Venue: coinbase.Venue, APIKey: wideName, Type: signer.KeyECDSAP256}, widePEM, nil)
	})
	signer.Wipe(botPEM)
	signer.Wipe(widePEM)
	if err != nil {
		return nil, err
	}
	sim := exchangetest.NewCoinbase(
		exchangetest.WithCoinbaseKeys(
			exchangetest.CoinbaseKey{Name: botName, PublicKey: botPub, Permissions: exchange.Permissions{Read: true, Trade: true}},
			exchangetest.CoinbaseKey{Name: wideName, PublicKey: widePub, Permissions: exchange.Permissions{Read: true, Trade: true, Transfer: true, Withdraw: true}},
		),
	)
	prices := coinbase.NewPriceFeed(coinbase.PriceFeedConfig{})
	guard, err := d.guard(prices)
	if err != nil {
		sim.Close()
		return nil, err
	}
	var rate exchange.RateLimiter
	return &venueRun{
		url:         sim.URL(),
		close:       sim.Close,
		balances:    func() []exchange.Balance { return sim.Balances(botName) },
		withdrawals: func() int { return len(sim.Transfers()) },
		rejections:  sim.Count429,
		connect: func(ctx context.Context, name string) (client, error) {
			risks, _ := guard.AcceptKeyRisks(name)
			c, err := coinbase.New(ctx, coinbase.Config{
				BaseURL: sim.URL(), Credential: name, Signer: d.signer,
				Guard: guard, Audit: d.audit, KeyRisks: risks, Prices: prices, Rate: rate,
			})
			if err != nil {
				return nil, err
			}
			if rate == nil {
				rate = c.RateLimiter()
			}
			return c, nil
		},
	}, nil
}

func startKuCoin(ctx context.Context, ks *keystore.Keystore, d *deps) (*venueRun, error) {
	botKey, botSecret, botPass := randomHex(12), randomHex(18), randomHex(8)
	wideKey, wideSecret, widePass := randomHex(12), randomHex(18), randomHex(8)
	err := ks.Update(ctx, func(tx *keystore.Tx) error {
		if err := tx.Add(keystore.Entry{Name: "bot", Venue: kucoin.Venue, APIKey: botKey, Type: signer.KeyHMAC}, []byte(botSecret), []byte(botPass)); err != nil {
			return err
		}
		return tx.Add(keystore.Entry{Name: "wide", Venue: kucoin.Venue, APIKey: wideKey, Type: signer.KeyHMAC}, []byte(wideSecret), []byte(widePass))
	})
	if err != nil {
		return nil, err
	}
	// A small management pool, so that a burst of ten times it is quick.
	pools := kucoin.PoolLimits{Spot: 4000, Management: 100, Public: 2000}
	sim := exchangetest.NewKuCoin(
		exchangetest.WithKuCoinKeys(
			exchangetest.KuCoinKey{APIKey: botKey, Secret: []byte(botSecret), Passphrase: []byte(botPass),
				Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}},
			exchangetest.KuCoinKey{APIKey: wideKey, Secret: []byte(wideSecret), Passphrase: []byte(widePass),
				Permissions: exchange.Permissions{Read: true, Trade: true, Withdraw: true}},
		),
		exchangetest.WithKuCoinPoolLimits(exchangetest.KuCoinPoolLimits(pools)),
	)
	prices := kucoin.NewPriceFeed(kucoin.PriceFeedConfig{BaseURL: sim.URL()})
	guard, err := d.guard(prices)
	if err != nil {
		sim.Close()
		return nil, err
	}
	// The pools are per account: each key gets its own rate guards, sized
	// to the account's quotas.
	return &venueRun{
		url:         sim.URL(),
		close:       sim.Close,
		balances:    func() []exchange.Balance { return sim.Balances(botKey) },
		withdrawals: func() int { return len(sim.Withdrawals()) },
		rejections:  sim.Count429,
		connect: func(ctx context.Context, name string) (client, error) {
			risks, _ := guard.AcceptKeyRisks(name)
			rate, err := kucoin.NewPools(pools, time.Now, nil)
			if err != nil {
				return nil, err
			}
			return kucoin.New(ctx, kucoin.Config{
				BaseURL: sim.URL(), Credential: name, Signer: d.signer,
				Guard: guard, Audit: d.audit, KeyRisks: risks, Prices: prices, Rate: rate,
			})
		},
	}, nil
}

// newECKey returns a fresh P-256 key as a SEC1 PEM block, as Coinbase
// issues CDP keys, and its public half.
func newECKey() ([]byte, *ecdsa.PublicKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), &k.PublicKey, nil
}
