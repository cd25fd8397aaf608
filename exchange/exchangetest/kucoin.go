package exchangetest

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// KuCoin is a simulated KuCoin Spot high-frequency (HF) REST API serving
// on loopback, on the shared market core. It authenticates requests as the
// venue does (HMAC-SHA256 over timestamp + method + path + query + body,
// the passphrase signature of key versions 2 and 3, a five-second clock
// window) and answers with KuCoin's envelope, codes and headers.
//
// Requests are counted in their endpoint's resource pool (Spot and
// Management per key, Public per address) in fixed 30-second windows that
// start at the first request counted; a request that fails
// authentication is not counted. Every answer carries gw-ratelimit-limit,
// gw-ratelimit-remaining and gw-ratelimit-reset (milliseconds to the end
// of the window); over the quota the answer is HTTP 429 with code 429000.
// Order refusals on the HF routes (parameters, filters, balance) are HTTP
// 200 with an error code, as on the venue. Withdrawals and inner
// transfers execute when a key with the permission reaches them. It is
// safe for concurrent use.
type KuCoin struct {
	simServer

	pools KuCoinPoolLimits
	keys  keyRing[kcKeyEntry]

	mu   sync.Mutex
	meta map[int64]*kcOrderMeta
	rl   map[string]*kcWindow // by pool + account or address

	n401 atomic.Int64
}

// KuCoinKey is an API key the simulated KuCoin accepts: a version 2 or 3
// key (Version; "" means "2") whose requests carry KC-API-PASSPHRASE =
// base64(HMAC-SHA256(Secret, Passphrase)). Version 1 keys, which sent the
// passphrase in plain text, are not simulated.
type KuCoinKey struct {
	APIKey     string
	Secret     []byte
	Passphrase []byte
	Version    string
	// Permissions are what the key may do: Read (General) for account
	// data, Trade (Spot) for orders and cancels, Withdraw for withdrawals,
	// Transfer for transfers, Other for further KuCoin permission names
	// (served as they are by GET /api/v1/user/api-key).
	Permissions exchange.Permissions
	// IPWhitelist lists the addresses the key works from. When it is empty
	// and Permissions.IPRestricted is set, it is 127.0.0.1 and ::1.
	IPWhitelist []string
}

// String describes the key without its secret or passphrase.
func (k KuCoinKey) String() string { return "kucoin key " + k.APIKey }

// GoString is String, so that %#v does not print the secret either.
func (k KuCoinKey) GoString() string { return k.String() }

type kcKeyEntry struct {
	key     KuCoinKey
	created time.Time
}

// kcOrderMeta is what the KuCoin front end keeps of an order beside the
// market core's record.
type kcOrderMeta struct {
	tif      string // GTC, GTT, IOC, FOK
	postOnly bool
	remark   string
}

// KuCoinPoolLimits are the quotas of the resource pools per 30 seconds.
type KuCoinPoolLimits struct {
	Spot, Management, Public int
}

// DefaultKuCoinPoolLimits are KuCoin's VIP0 quotas.
func DefaultKuCoinPoolLimits() KuCoinPoolLimits {
	return KuCoinPoolLimits{Spot: 4000, Management: 2000, Public: 2000}
}

type kucoinConfig struct {
	simConfig
	symbols []Symbol
	keys    []KuCoinKey
	pools   KuCoinPoolLimits
}

// KuCoinOption configures NewKuCoin.
type KuCoinOption func(*kucoinConfig)

// WithKuCoinClock makes the simulator read time from now: the timestamp
// window and rate-limit windows follow it.
func WithKuCoinClock(now func() time.Time) KuCoinOption {
	return func(c *kucoinConfig) { c.setClock(now) }
}

// WithKuCoinListener serves on l instead of a new loopback listener.
func WithKuCoinListener(l net.Listener) KuCoinOption {
	return func(c *kucoinConfig) { c.listener = l }
}

// WithKuCoinSymbols replaces the default symbols ("BASE-QUOTE" names).
// A symbol's Filters give priceIncrement (TickSize), baseIncrement
// (StepSize), baseMinSize and baseMaxSize (MinQty, MaxQty), quoteIncrement
// (QuoteStep), minFunds and quoteMinSize (MinNotional) and quoteMaxSize
// (MaxNotional); Halted is enableTrading false.
func WithKuCoinSymbols(symbols ...Symbol) KuCoinOption {
	return func(c *kucoinConfig) { c.symbols = append([]Symbol(nil), symbols...) }
}

// WithKuCoinBalances replaces the trade-account balances every new key is
// funded with.
func WithKuCoinBalances(balances ...exchange.Balance) KuCoinOption {
	return func(c *kucoinConfig) { c.setBalances(balances) }
}

// WithKuCoinKeys registers keys at start, as AddKey does.
func WithKuCoinKeys(keys ...KuCoinKey) KuCoinOption {
	return func(c *kucoinConfig) { c.keys = append(c.keys, keys...) }
}

// WithKuCoinCommission sets the maker and taker fee rates; the default is
// KuCoin's base rate, 0.1% for both.
func WithKuCoinCommission(maker, taker decimal.Decimal) KuCoinOption {
	return func(c *kucoinConfig) { c.maker, c.taker = maker, taker }
}

// WithKuCoinPoolLimits replaces the pools' quotas per 30 s; zero or less
// keeps a pool's default.
func WithKuCoinPoolLimits(l KuCoinPoolLimits) KuCoinOption {
	return func(c *kucoinConfig) {
		if l.Spot > 0 {
			c.pools.Spot = l.Spot
		}
		if l.Management > 0 {
			c.pools.Management = l.Management
		}
		if l.Public > 0 {
			c.pools.Public = l.Public
		}
	}
}

// WithKuCoinLogger logs one line per request (method, path, status, code,
// API key; never a signature, passphrase or secret).
func WithKuCoinLogger(l *slog.Logger) KuCoinOption {
	return func(c *kucoinConfig) { c.setLogger(l) }
}

// DefaultKuCoinSymbols returns the simulated KuCoin's market: BTC-USDT,
// ETH-USDT and ETH-BTC with unlimited liquidity at the best price, and
// THIN-USDT, a thin pair whose book holds 2,000 THIN on each of five levels
// 0.001 USDT apart.
func DefaultKuCoinSymbols() []Symbol {
	return []Symbol{
		{
			Symbol: "BTC-USDT", Base: "BTC", Quote: "USDT",
			Filters: exchange.Filters{TickSize: dec("0.1"), StepSize: dec("0.00000001"), MinQty: dec("0.00001"),
				MaxQty: dec("10000000000"), MinNotional: dec("0.1"), MaxNotional: dec("99999999"),
				QuoteStep: dec("0.000001"), MarketByQuote: true},
			Price: dec("50000"), Spread: dec("0.2"),
		},
		{
			Symbol: "ETH-USDT", Base: "ETH", Quote: "USDT",
			Filters: exchange.Filters{TickSize: dec("0.01"), StepSize: dec("0.0000001"), MinQty: dec("0.0001"),
				MaxQty: dec("10000000000"), MinNotional: dec("0.1"), MaxNotional: dec("99999999"),
				QuoteStep: dec("0.000001"), MarketByQuote: true},
			Price: dec("3000"), Spread: dec("0.02"),
		},
		{
			Symbol: "ETH-BTC", Base: "ETH", Quote: "BTC",
			Filters: exchange.Filters{TickSize: dec("0.00001"), StepSize: dec("0.0000001"), MinQty: dec("0.0001"),
				MaxQty: dec("10000000000"), MinNotional: dec("0.00001"), MaxNotional: dec("99999999"),
				QuoteStep: dec("0.00000001"), MarketByQuote: true},
			Price: dec("0.05"), Spread: dec("0.00002"),
		},
		{
			Symbol: "THIN-USDT", Base: "THIN", Quote: "USDT",
			Filters: exchange.Filters{TickSize: dec("0.0001"), StepSize: dec("1"), MinQty: dec("1"),
				MaxQty: dec("10000000"), MinNotional: dec("1"), MaxNotional: dec("100000"),
				QuoteStep: dec("0.0001"), MarketByQuote: true},
			Price: dec("0.05"), Spread: dec("0.0002"),
			Depth: dec("2000"), Levels: 5, LevelGap: dec("0.001"),
		},
	}
}

// NewKuCoin starts a simulated KuCoin at once, on a new listener on
// 127.0.0.1:0 unless WithKuCoinListener gives one. Like httptest.NewServer
// it panics if it cannot listen on loopback.
func NewKuCoin(opts ...KuCoinOption) *KuCoin {
	c := kucoinConfig{
		simConfig: defaultSimConfig(DefaultBalances()),
		symbols:   DefaultKuCoinSymbols(),
		pools:     DefaultKuCoinPoolLimits(),
	}
	c.maker, c.taker = kcDefaultFeeRate, kcDefaultFeeRate
	for _, o := range opts {
		o(&c)
	}
	if c.listener == nil {
		c.listener = loopbackListener()
	}
	k := &KuCoin{
		pools: c.pools,
		meta:  make(map[int64]*kcOrderMeta),
		rl:    make(map[string]*kcWindow),
	}
	k.init("kucoin", c.simConfig, c.symbols)
	k.mkt.feeInQuote = true // KuCoin charges spot fees in the quote currency
	for _, key := range c.keys {
		k.AddKey(key)
	}
	k.start(c.listener, k)
	return k
}

// Run blocks until ctx is done, then shuts the simulator down gracefully.
func (k *KuCoin) Run(ctx context.Context) error {
	return k.run(ctx)
}

// AddKey registers a key with a trade account funded with the default
// balances. Registering an API key again replaces its credentials and
// permissions and keeps its account.
func (k *KuCoin) AddKey(key KuCoinKey) {
	key.Secret = append([]byte(nil), key.Secret...)
	key.Passphrase = append([]byte(nil), key.Passphrase...)
	key.Permissions.Other = append([]string(nil), key.Permissions.Other...)
	key.IPWhitelist = append([]string(nil), key.IPWhitelist...)
	if key.Version == "" {
		key.Version = "2"
	}
	if len(key.IPWhitelist) == 0 && key.Permissions.IPRestricted {
		key.IPWhitelist = []string{"127.0.0.1", "::1"}
	}
	k.keys.put(key.APIKey, &kcKeyEntry{key: key, created: k.now()})
	k.mkt.openAccount(key.APIKey)
}

// SetPrice moves the last price of symbol; resting orders it crosses fill
// at their own price.
func (k *KuCoin) SetPrice(symbol string, price decimal.Decimal) { k.mkt.setPrice(symbol, price) }

// Balances returns the trade-account balances of a key, or nil for an
// unknown key.
func (k *KuCoin) Balances(apiKey string) []exchange.Balance { return k.mkt.balances(apiKey) }

// SetBalance sets the free balance of asset in a key's trade account.
func (k *KuCoin) SetBalance(apiKey, asset string, free decimal.Decimal) error {
	return k.setBalance(apiKey, asset, free)
}

// Orders returns every order of a key's account, oldest first, with
// KuCoin's order ids.
func (k *KuCoin) Orders(apiKey string) []exchange.Order { return k.orders(apiKey, kcOrderID) }

// Withdrawals returns what left the simulated accounts, oldest first:
// withdrawals, and inner transfers out of the trade account (Network
// "inner-transfer", Address the target account type).
func (k *KuCoin) Withdrawals() []Withdrawal { return k.mkt.withdrawalList() }

// FailNext makes the next new order fail with HTTP status without reaching
// the matching engine (status 0 closes the connection). Calls queue up.
func (k *KuCoin) FailNext(status int) { k.addFail(failRule{status: status}) }

// FailNextAfterExecuting makes the next new order execute and then answers
// it with HTTP status (0: closes the connection), as when an answer is
// lost.
func (k *KuCoin) FailNextAfterExecuting(status int) {
	k.addFail(failRule{status: status, execute: true})
}

// Count429 returns how many requests were answered 429 (code 429000).
func (k *KuCoin) Count429() int64 { return k.n429.Load() }

// Count401 returns how many requests failed authentication.
func (k *KuCoin) Count401() int64 { return k.n401.Load() }

// kcError is a KuCoin error answer: HTTP status, code and message.
type kcError struct {
	status int
	code   string
	msg    string
}

func (e *kcError) Error() string { return e.code + " " + e.msg }

// kcWrite writes KuCoin's envelope.
func kcWrite(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"code":"500000","msg":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
