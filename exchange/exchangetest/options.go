package exchangetest

import "time"

// The options every simulated venue shares, for KuCoin and Coinbase (the
// Binance ones are in binance.go): a market that moves, a fixed latency
// and rate limits switched off.

// WithKuCoinDrift makes prices random-walk as d says, so that resting
// orders fill over time. The simulator panics at start when d is invalid.
func WithKuCoinDrift(d Drift) KuCoinOption { return func(c *kucoinConfig) { c.setDrift(d) } }

// WithKuCoinLatency answers every request after d (wall-clock time).
func WithKuCoinLatency(d time.Duration) KuCoinOption {
	return func(c *kucoinConfig) { c.latency = d }
}

// WithKuCoinNoRateLimits raises every pool's quota to one no client
// reaches, for benchmarks.
func WithKuCoinNoRateLimits() KuCoinOption {
	return func(c *kucoinConfig) { c.pools = KuCoinPoolLimits{Spot: noLimit, Management: noLimit, Public: noLimit} }
}

// WithCoinbaseDrift makes prices random-walk as d says, so that resting
// orders fill over time. The simulator panics at start when d is invalid.
func WithCoinbaseDrift(d Drift) CoinbaseOption { return func(c *coinbaseConfig) { c.setDrift(d) } }

// WithCoinbaseLatency answers every request after d (wall-clock time).
func WithCoinbaseLatency(d time.Duration) CoinbaseOption {
	return func(c *coinbaseConfig) { c.latency = d }
}

// WithCoinbaseNoRateLimits raises the private and public limits to ones
// no client reaches, for benchmarks.
func WithCoinbaseNoRateLimits() CoinbaseOption {
	return func(c *coinbaseConfig) { c.private, c.public = noLimit, noLimit }
}
