package exchangetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/internal/venueauth"
	"github.com/shopspring/decimal"
)

// Binance is a simulated Binance Spot REST API serving on loopback. It is
// safe for concurrent use.
type Binance struct {
	simServer

	lim     *binanceLimiter
	keys    keyRing[keyEntry]
	n418    atomic.Int64
	testnet bool // serve no /sapi routes

	listenMu   sync.Mutex
	listenKeys map[string]string // listen key -> API key
}

type binanceConfig struct {
	simConfig
	limits  []BinanceRateLimit
	ban     time.Duration
	symbols []Symbol
	keys    []BinanceKey
	testnet bool
	noLimit bool
}

// BinanceOption configures NewBinance.
type BinanceOption func(*binanceConfig)

// WithBinanceClock makes the simulator read time from now: timestamps,
// receive windows, rate-limit windows and bans all follow it, so tests move
// time forward instead of sleeping.
func WithBinanceClock(now func() time.Time) BinanceOption {
	return func(c *binanceConfig) { c.setClock(now) }
}

// WithBinanceListener serves on l instead of a new loopback listener. The
// simulator closes l when it closes.
func WithBinanceListener(l net.Listener) BinanceOption {
	return func(c *binanceConfig) { c.listener = l }
}

// WithBinanceRateLimits replaces the default rate limits. Tests use short
// SECOND intervals to reach them quickly.
func WithBinanceRateLimits(limits ...BinanceRateLimit) BinanceOption {
	return func(c *binanceConfig) { c.limits = append([]BinanceRateLimit(nil), limits...) }
}

// WithBinanceBanDuration sets how long an address that keeps sending after
// a 429 is banned (HTTP 418).
func WithBinanceBanDuration(d time.Duration) BinanceOption {
	return func(c *binanceConfig) { c.ban = d }
}

// WithBinanceSymbols replaces the default symbols.
func WithBinanceSymbols(symbols ...Symbol) BinanceOption {
	return func(c *binanceConfig) { c.symbols = append([]Symbol(nil), symbols...) }
}

// WithBinanceBalances replaces the balances every new key's account is
// funded with.
func WithBinanceBalances(balances ...exchange.Balance) BinanceOption {
	return func(c *binanceConfig) { c.setBalances(balances) }
}

// WithBinanceKeys registers keys at start, as AddKey does.
func WithBinanceKeys(keys ...BinanceKey) BinanceOption {
	return func(c *binanceConfig) { c.keys = append(c.keys, keys...) }
}

// DefaultBinanceCommission is the venue's standard spot commission rate,
// maker and taker (0.1 %), which the simulator charges unless
// WithBinanceCommission changes it.
var DefaultBinanceCommission = decimal.RequireFromString("0.001")

// WithBinanceCommission sets the maker and taker commission rates (e.g.
// 0.001); the default is DefaultBinanceCommission. Commission is charged
// in the asset received, shown in the fills and taken from the balances.
func WithBinanceCommission(maker, taker decimal.Decimal) BinanceOption {
	return func(c *binanceConfig) { c.maker, c.taker = maker, taker }
}

// WithBinanceLogger logs one line per request (method, path, status, code,
// API key; never a signature or a secret). The default logs nothing.
func WithBinanceLogger(l *slog.Logger) BinanceOption {
	return func(c *binanceConfig) { c.setLogger(l) }
}

// WithBinanceDrift makes prices random-walk as d says, so that resting
// orders fill over time.
func WithBinanceDrift(d Drift) BinanceOption {
	return func(c *binanceConfig) { c.setDrift(d) }
}

// WithBinanceLatency answers every request after d (wall-clock time), for
// measurements over a realistic round trip.
func WithBinanceLatency(d time.Duration) BinanceOption {
	return func(c *binanceConfig) { c.latency = d }
}

// WithBinanceNoRateLimits switches the rate limits off, for benchmarks:
// every limit becomes one no client reaches, and exchangeInfo serves those
// limits so that no client throttles itself. It overrides
// WithBinanceRateLimits.
func WithBinanceNoRateLimits() BinanceOption {
	return func(c *binanceConfig) { c.noLimit = true }
}

// WithBinanceTestnet serves as the Binance Spot Test Network does: no
// /sapi routes (wallet, margin, API-key restrictions); they answer as
// unknown endpoints.
func WithBinanceTestnet() BinanceOption {
	return func(c *binanceConfig) { c.testnet = true }
}

// NewBinance starts a simulated Binance at once, on a new listener on
// 127.0.0.1:0 unless WithBinanceListener gives one. Like httptest.NewServer
// it panics if it cannot listen on loopback, or if an option is invalid
// (a rate limit that is not a whole number of seconds).
func NewBinance(opts ...BinanceOption) *Binance {
	c, err := binanceConfigOf(opts)
	if err != nil {
		panic(err)
	}
	if c.listener == nil {
		c.listener = loopbackListener()
	}
	return startBinance(c)
}

// binanceConfigOf applies the options to the defaults and checks them.
func binanceConfigOf(opts []BinanceOption) (binanceConfig, error) {
	c := binanceConfig{
		simConfig: defaultSimConfig(DefaultBalances()),
		limits:    DefaultBinanceRateLimits(),
		ban:       DefaultBinanceBanDuration,
		symbols:   DefaultBinanceSymbols(),
	}
	c.maker, c.taker = DefaultBinanceCommission, DefaultBinanceCommission
	for _, o := range opts {
		o(&c)
	}
	if c.noLimit {
		c.limits = noBinanceRateLimits()
	}
	if err := c.check(); err != nil {
		return c, err
	}
	for _, l := range c.limits {
		if err := validRateLimit(l); err != nil {
			return c, err
		}
	}
	return c, nil
}

func startBinance(c binanceConfig) *Binance {
	b := &Binance{lim: newBinanceLimiter(c.limits, c.ban), testnet: c.testnet}
	b.init("binance", c.simConfig, c.symbols)
	// Called with the market locked; the limiter has its own lock.
	b.mkt.onFirstFill = func(account string) { b.lim.unfilled(account, b.now()) }
	for _, k := range c.keys {
		b.AddKey(k)
	}
	b.start(c.listener, b)
	return b
}

// ListenBinance starts a simulated Binance on addr (e.g. "127.0.0.1:8090"
// or ":0"), for `keyfence sim --listen ADDR`. Unlike NewBinance it returns
// an error when it cannot listen or an option is invalid.
func ListenBinance(addr string, opts ...BinanceOption) (*Binance, error) {
	c, err := binanceConfigOf(opts)
	if err != nil {
		return nil, err
	}
	if c.listener, err = listenOn("binance", addr); err != nil {
		return nil, err
	}
	return startBinance(c), nil
}

// Run blocks until ctx is done, then shuts the simulator down gracefully.
// It returns nil after a shutdown caused by ctx, or the error that stopped
// the server. It is what `keyfence sim` runs.
func (b *Binance) Run(ctx context.Context) error {
	return b.run(ctx)
}

// AddKey registers a key with an account funded with the default balances.
// Registering an API key again replaces its credentials and permissions
// and keeps its account.
func (b *Binance) AddKey(k BinanceKey) {
	k.HMACSecret = append([]byte(nil), k.HMACSecret...)
	k.Permissions.Other = append([]string(nil), k.Permissions.Other...)
	b.keys.put(k.APIKey, &keyEntry{key: k, created: b.now()})
	b.mkt.openAccount(k.APIKey)
}

// SetPrice moves the last price of symbol. Best bid and ask follow it, and
// resting limit orders it crosses fill at their own price: buys at or
// above the new price, sells at or below it. An unknown symbol is ignored;
// Price reports whether a symbol exists.
func (b *Binance) SetPrice(symbol string, price decimal.Decimal) {
	b.mkt.setPrice(symbol, price)
}

// Price returns the last price of symbol and whether the symbol exists.
func (b *Binance) Price(symbol string) (decimal.Decimal, bool) { return b.price(symbol) }

// Balances returns the balances of a key's account, by asset, or nil for
// an unknown key.
func (b *Binance) Balances(apiKey string) []exchange.Balance {
	return b.mkt.balances(apiKey)
}

// SetBalance sets the free balance of asset in a key's account.
func (b *Binance) SetBalance(apiKey, asset string, free decimal.Decimal) error {
	return b.setBalance(apiKey, asset, free)
}

// Orders returns every order of a key's account, oldest first.
func (b *Binance) Orders(apiKey string) []exchange.Order { return b.orders(apiKey, nil) }

func (o *order) exchangeOrder() exchange.Order {
	return exchange.Order{
		Symbol: o.symbol, Side: o.side, Type: o.typ, TimeInForce: o.tif,
		Price: o.price, StopPrice: o.stopPrice, Quantity: o.qty, QuoteQuantity: o.quoteQty, ClientID: o.clientID,
		ID: strconv.FormatInt(o.id, 10), Status: o.status,
		Executed: o.executed, ExecutedQuo: o.executedQuo, Created: o.created,
	}
}

// Withdrawals returns the withdrawals the simulator executed, oldest first.
func (b *Binance) Withdrawals() []Withdrawal { return b.mkt.withdrawalList() }

// FailNext makes the next new order (POST /api/v3/order) fail with HTTP
// status without reaching the matching engine. A 5xx status answers with
// Binance's "execution status unknown" error -1007; status 0 closes the
// connection without an answer. Calls queue up: each applies to one order.
func (b *Binance) FailNext(status int) { b.addFail(failRule{status: status}) }

// FailNextAfterExecuting makes the next new order execute and then answers
// it with HTTP status (0: closes the connection without an answer), as
// when a venue's answer is lost: the client cannot know the outcome and
// must look the order up.
func (b *Binance) FailNextAfterExecuting(status int) {
	b.addFail(failRule{status: status, execute: true})
}

// Count429 returns how many requests were answered 429 (weight or orders).
func (b *Binance) Count429() int64 { return b.n429.Load() }

// Count418 returns how many requests were answered 418 (banned).
func (b *Binance) Count418() int64 { return b.n418.Load() }

// OrdersPlaced returns how many new orders reached the matching engine
// (test orders and refused orders excluded).
func (b *Binance) OrdersPlaced() int64 { return b.placed.Load() }

// endpoint is one route of the simulated API.
type endpoint struct {
	signed bool
	perm   permission
	// params lists the parameters the endpoint reads, besides timestamp,
	// recvWindow and signature of signed endpoints.
	params  []string
	weight  func(p exchange.Params) int
	handle  func(b *Binance, c *call) (any, *apiError)
	isOrder bool // counts against ORDERS and carries X-MBX-ORDER-COUNT
	keyOnly bool // needs a known API key and no signature (USER_STREAM)
}

func fixed(w int) func(exchange.Params) int { return func(exchange.Params) int { return w } }

// oneOrAll weighs an endpoint that takes an optional symbol.
func oneOrAll(one, all int) func(exchange.Params) int {
	return func(p exchange.Params) int {
		if p.Has("symbol") {
			return one
		}
		return all
	}
}

var binanceRoutes = map[string]*endpoint{
	"GET /api/v3/ping":               {weight: fixed(1), handle: (*Binance).ping},
	"GET /api/v3/time":               {weight: fixed(1), handle: (*Binance).time},
	"GET /api/v3/exchangeInfo":       {weight: fixed(20), params: []string{"symbol", "symbols", "permissions", "showPermissionSets", "symbolStatus"}, handle: (*Binance).exchangeInfo},
	"GET /api/v3/ticker/bookTicker":  {weight: oneOrAll(2, 4), params: []string{"symbol", "symbols"}, handle: (*Binance).bookTicker},
	"GET /api/v3/ticker/price":       {weight: oneOrAll(2, 4), params: []string{"symbol", "symbols"}, handle: (*Binance).tickerPrice},
	"GET /api/v3/avgPrice":           {weight: fixed(2), params: []string{"symbol"}, handle: (*Binance).avgPrice},
	"GET /api/v3/ticker/24hr":        {weight: ticker24Weight, params: []string{"symbol", "symbols", "type"}, handle: (*Binance).ticker24},
	"GET /api/v3/depth":              {weight: depthWeight, params: []string{"symbol", "limit"}, handle: (*Binance).depth},
	"GET /api/v3/klines":             {weight: fixed(2), params: []string{"symbol", "interval", "startTime", "endTime", "timeZone", "limit"}, handle: (*Binance).klines},
	"GET /api/v3/uiKlines":           {weight: fixed(2), params: []string{"symbol", "interval", "startTime", "endTime", "timeZone", "limit"}, handle: (*Binance).klines},
	"GET /api/v3/historicalTrades":   {weight: fixed(25), params: []string{"symbol", "limit", "fromId"}, handle: (*Binance).historicalTrades},
	"GET /api/v3/account/commission": {signed: true, perm: permRead, weight: fixed(20), params: []string{"symbol"}, handle: (*Binance).commissionRates},
	"GET /sapi/v1/asset/tradeFee":    {signed: true, perm: permRead, weight: fixed(1), params: []string{"symbol"}, handle: (*Binance).tradeFee},
	"GET /api/v3/trades":             {weight: fixed(25), params: []string{"symbol", "limit"}, handle: (*Binance).recentTrades},
	"GET /api/v3/aggTrades":          {weight: fixed(4), params: []string{"symbol", "fromId", "startTime", "endTime", "limit"}, handle: (*Binance).aggTrades},
	"GET /api/v3/allOrders":          {signed: true, perm: permRead, weight: fixed(20), params: []string{"symbol", "orderId", "startTime", "endTime", "limit"}, handle: (*Binance).allOrders},
	// Wallet and margin endpoints clients call at start, answered as for a
	// spot-only account; the testnet serves none of /sapi.
	"GET /sapi/v1/capital/config/getall":    {signed: true, perm: permRead, weight: fixed(10), handle: (*Binance).capitalConfig},
	"GET /sapi/v1/margin/allPairs":          {signed: true, weight: fixed(1), params: []string{"symbol"}, handle: (*Binance).noMarginPairs},
	"GET /sapi/v1/margin/isolated/allPairs": {signed: true, weight: fixed(10), params: []string{"symbol"}, handle: (*Binance).noMarginPairs},
	// The futures exchangeInfo CCXT loads with the spot markets.
	"GET /fapi/v1/exchangeInfo": {weight: fixed(1), handle: (*Binance).futuresExchangeInfo},
	"GET /dapi/v1/exchangeInfo": {weight: fixed(1), handle: (*Binance).futuresExchangeInfo},
	"GET /api/v3/account":       {signed: true, perm: permRead, weight: fixed(20), params: []string{"omitZeroBalances"}, handle: (*Binance).account},
	"POST /api/v3/order":        {signed: true, perm: permTrade, weight: fixed(1), params: orderParams, handle: (*Binance).newOrder, isOrder: true},
	"POST /api/v3/order/test":   {signed: true, perm: permTrade, weight: fixed(1), params: append([]string{"computeCommissionRates"}, orderParams...), handle: (*Binance).testOrder},
	"GET /api/v3/order":         {signed: true, perm: permRead, weight: fixed(4), params: []string{"symbol", "orderId", "origClientOrderId"}, handle: (*Binance).getOrder},
	"DELETE /api/v3/order":      {signed: true, perm: permTrade, weight: fixed(1), params: []string{"symbol", "orderId", "origClientOrderId", "newClientOrderId", "cancelRestrictions"}, handle: (*Binance).cancelOrder},
	"GET /api/v3/openOrders":    {signed: true, perm: permRead, weight: oneOrAll(6, 80), params: []string{"symbol"}, handle: (*Binance).openOrders},
	"DELETE /api/v3/openOrders": {signed: true, perm: permTrade, weight: fixed(1), params: []string{"symbol"}, handle: (*Binance).cancelOpenOrders},
	"GET /api/v3/myTrades": {signed: true, perm: permRead, params: []string{"symbol", "orderId", "startTime", "endTime", "fromId", "limit"},
		weight: func(p exchange.Params) int {
			if p.Has("orderId") {
				return 5
			}
			return 20
		}, handle: (*Binance).myTrades},
	"GET /api/v3/rateLimit/order":          {signed: true, perm: permRead, weight: fixed(40), handle: (*Binance).orderRateLimit},
	"GET /sapi/v1/account/apiRestrictions": {signed: true, weight: fixed(1), handle: (*Binance).apiRestrictions},
	"POST /api/v3/userDataStream":          {keyOnly: true, weight: fixed(2), handle: (*Binance).newListenKey},
	"PUT /api/v3/userDataStream":           {keyOnly: true, weight: fixed(2), params: []string{"listenKey"}, handle: (*Binance).keepListenKey},
	"DELETE /api/v3/userDataStream":        {keyOnly: true, weight: fixed(2), params: []string{"listenKey"}, handle: (*Binance).closeListenKey},
	"POST /sapi/v1/capital/withdraw/apply": {signed: true, perm: permWithdraw, weight: fixed(1),
		params: []string{"coin", "withdrawOrderId", "network", "address", "addressTag", "amount", "transactionFeeFlag", "name", "walletType"},
		handle: (*Binance).withdraw},
}

var orderParams = []string{"symbol", "side", "type", "timeInForce", "quantity", "quoteOrderQty", "price", "stopPrice",
	"newClientOrderId", "newOrderRespType", "selfTradePreventionMode", "strategyId", "strategyType"}

// call is one request being served.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	params  exchange.Params
	apiKey  string
	key     *keyEntry
	ep      *endpoint
	started time.Time
}

const maxRequestBody = 1 << 20

// ServeHTTP serves the simulated API.
func (b *Binance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.requests.Add(1)
	c := &call{w: w, r: r, started: b.now()}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	status, code := b.serve(c)
	b.log.LogAttrs(r.Context(), slog.LevelInfo, "binance sim",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.Int("code", code), slog.String("apiKey", c.apiKey))
}

// serve answers one request and returns the HTTP status and Binance code.
func (b *Binance) serve(c *call) (int, int) {
	ep := binanceRoutes[c.r.Method+" "+c.r.URL.Path]
	if b.testnet && strings.HasPrefix(c.r.URL.Path, "/sapi/") {
		ep = nil // the Spot Test Network serves no /sapi routes
	}
	if ep == nil {
		if v := b.spendWeight(c, 1); v != nil {
			return b.fail(c, v)
		}
		return b.fail(c, &apiError{http.StatusNotFound, -1000, "Unknown endpoint " + c.r.Method + " " + c.r.URL.Path + "."})
	}
	c.ep = ep
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxRequestBody+1))
	if err != nil || len(body) > maxRequestBody {
		return b.fail(c, &apiError{http.StatusBadRequest, -1000, "Request body unreadable or too large."})
	}
	raw := rawParts{query: c.r.URL.RawQuery, body: string(body)}
	params, perr := mergeParams(raw)
	if perr != nil {
		if v := b.spendWeight(c, 1); v != nil {
			return b.fail(c, v)
		}
		return b.fail(c, perr)
	}
	c.params = params
	if v := b.spendWeight(c, ep.weight(params)); v != nil {
		return b.fail(c, v)
	}
	c.apiKey = c.r.Header.Get("X-MBX-APIKEY")
	if ep.signed {
		if aerr := b.authenticate(c, raw); aerr != nil {
			return b.fail(c, aerr)
		}
	}
	if ep.keyOnly {
		if c.key = b.keys.get(c.apiKey); c.key == nil {
			return b.fail(c, errRejectedKey)
		}
	}
	if aerr := checkUnread(c); aerr != nil {
		return b.fail(c, aerr)
	}
	res, aerr := ep.handle(b, c)
	if aerr != nil {
		return b.fail(c, aerr)
	}
	if ep.isOrder && c.key != nil {
		b.lim.orderHeaders(c.apiKey, b.now(), c.w.Header())
	}
	b.write(c, http.StatusOK, res)
	return http.StatusOK, 0
}

// spendWeight counts the request's weight and returns the 429 or 418
// answer when the address is over its limit or banned.
func (b *Binance) spendWeight(c *call, w int) *apiError {
	v := b.lim.spend(remoteIP(c.r), w, b.now(), c.w.Header())
	if v.status == 0 {
		return nil
	}
	c.w.Header().Set("Retry-After", strconv.Itoa(v.retryAfter))
	return &apiError{v.status, -1003, v.msg}
}

// authenticate checks the API key, the signature, the timestamp and the
// key's permission for the endpoint, in that order.
func (b *Binance) authenticate(c *call, raw rawParts) *apiError {
	var k *keyEntry
	lookup := func(apiKey string) (venueauth.BinanceKey, bool) {
		k = b.keys.get(apiKey)
		if k == nil {
			return venueauth.BinanceKey{}, false
		}
		return venueauth.BinanceKey{HMACSecret: k.key.HMACSecret, PublicKey: k.key.PublicKey}, true
	}
	if _, verr := venueauth.VerifyBinance(c.apiKey, lookup, raw.query, raw.body, c.params, b.now()); verr != nil {
		return fromVenueAuth(verr)
	}
	if !permitted(k.key.Permissions, c.ep.perm) {
		return errRejectedKey
	}
	c.key = k
	return nil
}

// mergeParams decodes the query and the body (venueauth.BinanceParams).
func mergeParams(raw rawParts) (exchange.Params, *apiError) {
	p, err := venueauth.BinanceParams(raw.query, raw.body)
	return p, fromVenueAuth(err)
}

// checkUnread refuses parameters the endpoint does not read (-1104).
func checkUnread(c *call) *apiError {
	known := make(map[string]bool, len(c.ep.params)+3)
	for _, p := range c.ep.params {
		known[p] = true
	}
	if c.ep.signed {
		known["timestamp"], known["recvWindow"], known["signature"] = true, true, true
	}
	read := 0
	for _, kv := range c.params {
		if known[kv.Key] {
			read++
		}
	}
	if read == len(c.params) {
		return nil
	}
	return &apiError{http.StatusBadRequest, -1104,
		fmt.Sprintf("Not all sent parameters were read; read '%d' parameter(s) but was sent '%d'.", read, len(c.params))}
}

func (b *Binance) fail(c *call, e *apiError) (int, int) {
	if e.status == 0 {
		// An injected lost answer: close the connection without one.
		if dropConnection(c.w) {
			return 0, 0
		}
		e = errUnknownOutcome(http.StatusServiceUnavailable)
	}
	switch e.status {
	case http.StatusTooManyRequests:
		b.n429.Add(1)
	case http.StatusTeapot:
		b.n418.Add(1)
	}
	b.write(c, e.status, struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	}{e.code, e.msg})
	return e.status, e.code
}

func (b *Binance) write(c *call, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"code":-1000,"msg":"An unknown error occurred while processing the request."}`)
	}
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

// newListenKey opens a user data stream (POST /api/v3/userDataStream).
func (b *Binance) newListenKey(c *call) (any, *apiError) {
	k := make([]byte, 30)
	_, _ = rand.Read(k)
	lk := hex.EncodeToString(k)
	b.listenMu.Lock()
	if b.listenKeys == nil {
		b.listenKeys = map[string]string{}
	}
	b.listenKeys[lk] = c.apiKey
	b.listenMu.Unlock()
	return struct {
		ListenKey string `json:"listenKey"`
	}{lk}, nil
}

// listenKeyOf checks the listenKey parameter against the caller's keys.
func (b *Binance) listenKeyOf(c *call) (string, *apiError) {
	lk, _ := c.params.Get("listenKey")
	if lk == "" {
		return "", errMandatory("listenKey")
	}
	b.listenMu.Lock()
	defer b.listenMu.Unlock()
	if b.listenKeys[lk] != c.apiKey {
		return "", &apiError{http.StatusBadRequest, -1125, "This listenKey does not exist."}
	}
	return lk, nil
}

func (b *Binance) keepListenKey(c *call) (any, *apiError) {
	if _, aerr := b.listenKeyOf(c); aerr != nil {
		return nil, aerr
	}
	return struct{}{}, nil
}

func (b *Binance) closeListenKey(c *call) (any, *apiError) {
	lk, aerr := b.listenKeyOf(c)
	if aerr != nil {
		return nil, aerr
	}
	b.listenMu.Lock()
	delete(b.listenKeys, lk)
	b.listenMu.Unlock()
	return struct{}{}, nil
}
