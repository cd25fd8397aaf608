package main

import (
	"context"
	"fmt"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/coinbase"
	"github.com/keyfence/keyfence/exchange/kucoin"
	"github.com/keyfence/keyfence/signer"
)

// connectConfig is what a venue client needs from the CLI.
type connectConfig struct {
	BaseURL    string
	Credential string
	Signer     signer.Signer
	Guard      exchange.Guard
	Audit      exchange.Auditor
	KeyRisks   exchange.KeyRisks
	Prices     exchange.PriceSource // made by the driver's prices
	// DryRun: no signed request may be sent (the key check is skipped);
	// public market data may still be read for the guard.
	DryRun bool
	// Reconcile configures the client's reconciliation; the CLI runs it
	// only in 'keyfence reconcile' (Every -1 elsewhere).
	Reconcile exchange.ReconcileConfig
	// StampAt, when not zero, stamps the requests Authorize signs without
	// sending at that time (keyfence request --dry-run --timestamp).
	StampAt time.Time
}

// requester is what `keyfence request` and `keyfence reconcile` use of a
// venue client.
type requester interface {
	Authorize(ctx context.Context, req *exchange.Request) (*exchange.Authorized, error)
	Do(ctx context.Context, req *exchange.Request) (*exchange.Response, error)
	Reconcile(ctx context.Context) (exchange.ReconcileReport, error)
	Close() error
}

// driver binds a venue name to its scheme and client.
type driver struct {
	defaultURL string
	// scheme returns the venue's scheme for offline signing (no market
	// data: order intents cannot be parsed without symbols).
	scheme func(base string) (exchange.Scheme, error)
	// prices returns the venue's public reference price feed at base.
	prices func(base string) exchange.PriceSource
	// connect builds a guarded client on the venue at cfg.BaseURL.
	connect func(ctx context.Context, cfg connectConfig) (requester, error)
}

var drivers = map[string]driver{
	kucoin.Venue: {
		defaultURL: kucoin.DefaultBaseURL,
		scheme:     func(string) (exchange.Scheme, error) { return kucoin.NewScheme("2") },
		prices: func(base string) exchange.PriceSource {
			return kucoin.NewPriceFeed(kucoin.PriceFeedConfig{BaseURL: base})
		},
		connect: func(ctx context.Context, cfg connectConfig) (requester, error) {
			feed, _ := cfg.Prices.(*kucoin.PriceFeed)
			return kucoin.New(ctx, kucoin.Config{
				BaseURL: cfg.BaseURL, Credential: cfg.Credential, Signer: cfg.Signer,
				Guard: cfg.Guard, Audit: cfg.Audit, KeyRisks: cfg.KeyRisks, Prices: feed,
				SkipKeyCheck: cfg.DryRun, Reconcile: cfg.Reconcile, StampAt: cfg.StampAt,
			})
		},
	},
	coinbase.Venue: {
		defaultURL: coinbase.DefaultBaseURL,
		scheme:     func(base string) (exchange.Scheme, error) { return coinbase.NewScheme(base) },
		prices: func(string) exchange.PriceSource {
			// Coinbase serves best bid and ask to authenticated requests
			// only: the feed reads through the client once it exists.
			return coinbase.NewPriceFeed(coinbase.PriceFeedConfig{})
		},
		connect: func(ctx context.Context, cfg connectConfig) (requester, error) {
			feed, _ := cfg.Prices.(*coinbase.PriceFeed)
			return coinbase.New(ctx, coinbase.Config{
				BaseURL: cfg.BaseURL, Credential: cfg.Credential, Signer: cfg.Signer,
				Guard: cfg.Guard, Audit: cfg.Audit, KeyRisks: cfg.KeyRisks, Prices: feed,
				SkipKeyCheck: cfg.DryRun, Reconcile: cfg.Reconcile, StampAt: cfg.StampAt,
			})
		},
	},
	binance.Venue: {
		defaultURL: binance.DefaultBaseURL,
		scheme:     func(string) (exchange.Scheme, error) { return binance.NewScheme(0) },
		prices: func(base string) exchange.PriceSource {
			return binance.NewPriceFeed(binance.PriceFeedConfig{BaseURL: base})
		},
		connect: func(ctx context.Context, cfg connectConfig) (requester, error) {
			feed, _ := cfg.Prices.(*binance.PriceFeed)
			return binance.New(ctx, binance.Config{
				BaseURL: cfg.BaseURL, Credential: cfg.Credential, Signer: cfg.Signer,
				Guard: cfg.Guard, Audit: cfg.Audit, KeyRisks: cfg.KeyRisks, Prices: feed,
				SkipKeyCheck: cfg.DryRun, Reconcile: cfg.Reconcile, StampAt: cfg.StampAt,
			})
		},
	},
}

func lookupDriver(venue string) (driver, error) {
	d, ok := drivers[venue]
	if !ok {
		return driver{}, fmt.Errorf("keyfence request does not support venue %q yet", venue)
	}
	return d, nil
}
