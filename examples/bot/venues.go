package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"log/slog"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/coinbase"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/keyfence/keyfence/exchange/kucoin"
	"github.com/keyfence/keyfence/keystore"
	"github.com/keyfence/keyfence/signer"
)

// wiring is what the bot hands every venue client.
type wiring struct {
	baseURL, key string
	signer       signer.Signer
	guard        exchange.Guard
	audit        exchange.Auditor
	keyRisks     exchange.KeyRisks
	logger       *slog.Logger
	testnet      bool // the venue is a testnet (binance.Config.Testnet)
}

// venue knows how to price, connect and simulate one exchange.
type venue struct {
	symbol string // default symbol
	// prices returns the reference price feed the guard reads.
	prices func(baseURL string) exchange.PriceSource
	// connect returns the guarded venue client.
	connect func(ctx context.Context, w wiring, prices exchange.PriceSource) (exchange.Client, error)
	// simulate starts the simulated venue with a new key, which it adds to
	// ks under name.
	simulate func(ctx context.Context, ks *keystore.Keystore, name string) (url string, stop func(), err error)
	// simulateTestnet is simulate for the venue's testnet, nil when the
	// venue has none.
	simulateTestnet func(ctx context.Context, ks *keystore.Keystore, name string) (url string, stop func(), err error)
}

// simulateBinance starts a simulated Binance (its Spot testnet with
// testnet set) with a new HMAC key, which it adds to ks under name.
func simulateBinance(ctx context.Context, ks *keystore.Keystore, name string, testnet bool) (string, func(), error) {
	apiKey, secret := randomHex(16), randomHex(32)
	if err := ks.Add(ctx, keystore.Entry{Name: name, Venue: binance.Venue, APIKey: apiKey, Type: signer.KeyHMAC}, []byte(secret), nil); err != nil {
		return "", nil, err
	}
	opts := []exchangetest.BinanceOption{exchangetest.WithBinanceKeys(exchangetest.BinanceKey{
		APIKey: apiKey, HMACSecret: []byte(secret),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true},
	})}
	if testnet {
		opts = append(opts, exchangetest.WithBinanceTestnet())
	}
	sim := exchangetest.NewBinance(opts...)
	return sim.URL(), sim.Close, nil
}

var venues = map[string]venue{
	binance.Venue: {
		symbol: "BTCUSDT",
		prices: func(u string) exchange.PriceSource { return binance.NewPriceFeed(binance.PriceFeedConfig{BaseURL: u}) },
		connect: func(ctx context.Context, w wiring, p exchange.PriceSource) (exchange.Client, error) {
			return binance.New(ctx, binance.Config{BaseURL: w.baseURL, Credential: w.key, Signer: w.signer,
				Guard: w.guard, Audit: w.audit, KeyRisks: w.keyRisks, Prices: p.(*binance.PriceFeed), Logger: w.logger,
				Testnet: w.testnet})
		},
		simulate: func(ctx context.Context, ks *keystore.Keystore, name string) (string, func(), error) {
			return simulateBinance(ctx, ks, name, false)
		},
		simulateTestnet: func(ctx context.Context, ks *keystore.Keystore, name string) (string, func(), error) {
			return simulateBinance(ctx, ks, name, true)
		},
	},
	coinbase.Venue: {
		symbol: "BTC-USD",
		prices: func(string) exchange.PriceSource { return coinbase.NewPriceFeed(coinbase.PriceFeedConfig{}) },
		connect: func(ctx context.Context, w wiring, p exchange.PriceSource) (exchange.Client, error) {
			return coinbase.New(ctx, coinbase.Config{BaseURL: w.baseURL, Credential: w.key, Signer: w.signer,
				Guard: w.guard, Audit: w.audit, KeyRisks: w.keyRisks, Prices: p.(*coinbase.PriceFeed), Logger: w.logger})
		},
		simulate: func(ctx context.Context, ks *keystore.Keystore, name string) (string, func(), error) {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				return "", nil, err
			}
			der, err := x509.MarshalECPrivateKey(k)
			if err != nil {
				return "", nil, err
			}
			keyName := "organizations/" + randomHex(8) + "/apiKeys/" + randomHex(8)
			pemKey := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
			err = ks.Add(ctx, keystore.Entry{Name: name, Venue: coinbase.Venue, APIKey: keyName, Type: signer.KeyECDSAP256}, pemKey, nil)
			signer.Wipe(pemKey)
			if err != nil {
				return "", nil, err
			}
			sim := exchangetest.NewCoinbase(exchangetest.WithCoinbaseKeys(exchangetest.CoinbaseKey{
				Name: keyName, PublicKey: &k.PublicKey, Permissions: exchange.Permissions{Read: true, Trade: true},
			}))
			return sim.URL(), sim.Close, nil
		},
	},
	kucoin.Venue: {
		symbol: "BTC-USDT",
		prices: func(u string) exchange.PriceSource { return kucoin.NewPriceFeed(kucoin.PriceFeedConfig{BaseURL: u}) },
		connect: func(ctx context.Context, w wiring, p exchange.PriceSource) (exchange.Client, error) {
			return kucoin.New(ctx, kucoin.Config{BaseURL: w.baseURL, Credential: w.key, Signer: w.signer,
				Guard: w.guard, Audit: w.audit, KeyRisks: w.keyRisks, Prices: p.(*kucoin.PriceFeed), Logger: w.logger})
		},
		simulate: func(ctx context.Context, ks *keystore.Keystore, name string) (string, func(), error) {
			apiKey, secret, pass := randomHex(12), randomHex(18), randomHex(8)
			if err := ks.Add(ctx, keystore.Entry{Name: name, Venue: kucoin.Venue, APIKey: apiKey, Type: signer.KeyHMAC}, []byte(secret), []byte(pass)); err != nil {
				return "", nil, err
			}
			sim := exchangetest.NewKuCoin(exchangetest.WithKuCoinKeys(exchangetest.KuCoinKey{
				APIKey: apiKey, Secret: []byte(secret), Passphrase: []byte(pass),
				Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true},
			}))
			return sim.URL(), sim.Close, nil
		},
	},
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
