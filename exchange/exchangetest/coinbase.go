package exchangetest

import (
	"context"
	"crypto/sha256"
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
	"github.com/shopspring/decimal"
)

// Coinbase rate limits (requests per second), as documented for the
// Advanced Trade API.
const (
	DefaultCoinbasePrivateRate = 30 // per key
	DefaultCoinbasePublicRate  = 10 // per address
)

// Coinbase is a simulated Coinbase Advanced Trade REST API serving on
// loopback, on the shared market core. It authenticates requests exactly
// as the venue does (CDP JWTs: ES256 or EdDSA, two-minute lifetime, bound
// to the method, host and path) and answers with Coinbase's shapes. It is
// safe for concurrent use.
type Coinbase struct {
	simServer

	products map[string]*CoinbaseProduct // flags; the market holds prices
	private  int
	public   int
	keys     keyRing[CoinbaseKey]

	mu         sync.Mutex
	meta       map[int64]*cbOrderMeta // by market order id
	byUUID     map[string]int64
	rl         map[string]*window   // per key name or address
	nonces     map[string]time.Time // kid and nonce of accepted tokens, until they expire
	nonceOrder []nonceRecord        // the same, in the order accepted
	authFails  []string

	n401 atomic.Int64
}

// cbOrderMeta is what the Coinbase front end keeps of an order beside the
// market core's record.
type cbOrderMeta struct {
	uuid   string
	config json.RawMessage // order_configuration as placed (edits update it)
	tif    string          // Coinbase's time_in_force name
}

type coinbaseConfig struct {
	simConfig
	products []CoinbaseProduct
	keys     []CoinbaseKey
	private  int
	public   int
}

// CoinbaseOption configures NewCoinbase.
type CoinbaseOption func(*coinbaseConfig)

// WithCoinbaseClock makes the simulator read time from now: JWT validity
// and rate-limit windows follow it, so tests move time instead of
// sleeping.
func WithCoinbaseClock(now func() time.Time) CoinbaseOption {
	return func(c *coinbaseConfig) { c.setClock(now) }
}

// WithCoinbaseListener serves on l instead of a new loopback listener.
func WithCoinbaseListener(l net.Listener) CoinbaseOption {
	return func(c *coinbaseConfig) { c.listener = l }
}

// WithCoinbaseProducts replaces the default products.
func WithCoinbaseProducts(products ...CoinbaseProduct) CoinbaseOption {
	return func(c *coinbaseConfig) { c.products = append([]CoinbaseProduct(nil), products...) }
}

// WithCoinbaseBalances replaces the balances every new key's account is
// funded with.
func WithCoinbaseBalances(balances ...exchange.Balance) CoinbaseOption {
	return func(c *coinbaseConfig) { c.setBalances(balances) }
}

// WithCoinbaseKeys registers keys at start, as AddKey does.
func WithCoinbaseKeys(keys ...CoinbaseKey) CoinbaseOption {
	return func(c *coinbaseConfig) { c.keys = append(c.keys, keys...) }
}

// WithCoinbaseCommission sets the maker and taker fee rates; the default
// is Coinbase Advanced's lowest volume tier, 0.6% maker and 1.2% taker.
func WithCoinbaseCommission(maker, taker decimal.Decimal) CoinbaseOption {
	return func(c *coinbaseConfig) { c.maker, c.taker = maker, taker }
}

// WithCoinbaseRateLimits sets the requests per second allowed per key
// (private) and per address (public). Zero or less keeps the default.
func WithCoinbaseRateLimits(private, public int) CoinbaseOption {
	return func(c *coinbaseConfig) {
		if private > 0 {
			c.private = private
		}
		if public > 0 {
			c.public = public
		}
	}
}

// WithCoinbaseLogger logs one line per request (method, path, status, key
// name; never a JWT). The default logs nothing.
func WithCoinbaseLogger(l *slog.Logger) CoinbaseOption {
	return func(c *coinbaseConfig) { c.setLogger(l) }
}

// NewCoinbase starts a simulated Coinbase at once, on a new listener on
// 127.0.0.1:0 unless WithCoinbaseListener gives one. Like
// httptest.NewServer it panics if it cannot listen on loopback.
func NewCoinbase(opts ...CoinbaseOption) *Coinbase {
	c := coinbaseConfigOf(opts)
	if c.listener == nil {
		c.listener = loopbackListener()
	}
	return startCoinbase(c)
}

// ListenCoinbase starts a simulated Coinbase on addr (e.g.
// "127.0.0.1:8091" or ":0"), for `keyfence sim --venue coinbase --listen
// ADDR`. Unlike NewCoinbase it returns an error when it cannot listen.
func ListenCoinbase(addr string, opts ...CoinbaseOption) (*Coinbase, error) {
	c := coinbaseConfigOf(opts)
	if c.listener != nil {
		_ = c.listener.Close()
	}
	l, err := listenOn("coinbase", addr)
	if err != nil {
		return nil, err
	}
	c.listener = l
	return startCoinbase(c), nil
}

func coinbaseConfigOf(opts []CoinbaseOption) coinbaseConfig {
	c := coinbaseConfig{
		simConfig: defaultSimConfig(DefaultCoinbaseBalances()),
		products:  DefaultCoinbaseProducts(),
		private:   DefaultCoinbasePrivateRate,
		public:    DefaultCoinbasePublicRate,
	}
	c.maker, c.taker = cbDefaultMaker, cbDefaultTaker
	for _, o := range opts {
		o(&c)
	}
	return c
}

func startCoinbase(c coinbaseConfig) *Coinbase {
	syms := make([]Symbol, len(c.products))
	prods := make(map[string]*CoinbaseProduct, len(c.products))
	for i := range c.products {
		p := c.products[i]
		p.Halted = p.Halted || !p.takesOrders()
		syms[i] = p.Symbol
		prods[p.Symbol.Symbol] = &p
	}
	cb := &Coinbase{
		products: prods,
		private:  c.private,
		public:   c.public,
		meta:     make(map[int64]*cbOrderMeta),
		byUUID:   make(map[string]int64),
		rl:       make(map[string]*window),
		nonces:   make(map[string]time.Time),
	}
	cb.init("coinbase", c.simConfig, syms)
	cb.mkt.feeInQuote = true // Coinbase charges fees in the quote currency
	for _, k := range c.keys {
		cb.AddKey(k)
	}
	cb.start(c.listener, cb)
	return cb
}

// Run blocks until ctx is done, then shuts the simulator down gracefully.
// It returns nil after a shutdown caused by ctx, or the error that stopped
// the server. It is what `keyfence sim --venue coinbase` runs.
func (cb *Coinbase) Run(ctx context.Context) error {
	return cb.run(ctx)
}

// AddKey registers a CDP key with an account funded with the default
// balances. Registering a key name again replaces its public key and
// permissions and keeps its account.
func (cb *Coinbase) AddKey(k CoinbaseKey) {
	k.Permissions.Other = append([]string(nil), k.Permissions.Other...)
	cb.keys.put(k.Name, &k)
	cb.mkt.openAccount(k.Name)
}

// SetPrice moves the last price of a product. Best bid and ask follow it,
// and resting limit orders it crosses fill at their own price. An unknown
// product is ignored.
func (cb *Coinbase) SetPrice(product string, price decimal.Decimal) {
	cb.mkt.setPrice(product, price)
}

// Price returns the last price of a product and whether it exists.
func (cb *Coinbase) Price(product string) (decimal.Decimal, bool) { return cb.price(product) }

// Balances returns the balances of a key's account, by currency, or nil
// for an unknown key name.
func (cb *Coinbase) Balances(name string) []exchange.Balance { return cb.mkt.balances(name) }

// SetBalance sets the available balance of a currency in a key's account.
func (cb *Coinbase) SetBalance(name, currency string, free decimal.Decimal) error {
	return cb.setBalance(name, currency, free)
}

// Orders returns every order of a key's account, oldest first, with the
// Coinbase order ids.
func (cb *Coinbase) Orders(name string) []exchange.Order { return cb.orders(name, cb.uuidOf) }

// Transfers returns the fund movements the simulator executed (portfolio
// moves and v2 sends), oldest first. They should never happen through
// keyfence.
func (cb *Coinbase) Transfers() []Withdrawal { return cb.mkt.withdrawalList() }

// FailNext makes the next new order (POST /orders) fail with HTTP status
// without reaching the matching engine.
func (cb *Coinbase) FailNext(status int) { cb.addFail(failRule{status: status}) }

// FailNextAfterExecuting makes the next new order execute and then
// answers it with HTTP status, as when the venue's answer is lost.
func (cb *Coinbase) FailNextAfterExecuting(status int) {
	cb.addFail(failRule{status: status, execute: true})
}

// Count429 returns how many requests were answered 429.
func (cb *Coinbase) Count429() int64 { return cb.n429.Load() }

// Count401 returns how many requests failed authentication.
func (cb *Coinbase) Count401() int64 { return cb.n401.Load() }

// AuthFailures returns why each refused authentication was refused,
// oldest first ("uri does not match the request", ...). The reasons never
// hold a JWT.
func (cb *Coinbase) AuthFailures() []string {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return append([]string(nil), cb.authFails...)
}

// uuidOf returns the Coinbase order id of a market order id. Called with
// cb.mu or cb.mkt.mu held or not: it only formats.
func (cb *Coinbase) uuidOf(id int64) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", id)
}

// accountUUID returns a stable UUID-shaped id for a key's account in a
// currency.
func accountUUID(name, currency string) string {
	s := sha256.Sum256([]byte(name + "\x00" + currency))
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// cbPerm is what an endpoint requires of a key.
type cbPerm int

const (
	cbPermNone cbPerm = iota
	cbPermView
	cbPermTrade
	cbPermTransfer
)

// cbCall is one request being served.
type cbCall struct {
	w    http.ResponseWriter
	r    *http.Request
	id   string // path identifier ({id})
	key  *CoinbaseKey
	body []byte
}

// cbAnswer is a handler's answer.
type cbAnswer struct {
	status int
	body   any
}

type cbRoute struct {
	method, path string
	perm         cbPerm
	signed       bool
	handle       func(cb *Coinbase, c *cbCall) cbAnswer
}

const cbPrefix = "/api/v3/brokerage"

var coinbaseRoutes = []cbRoute{
	{"GET", cbPrefix + "/time", cbPermNone, false, (*Coinbase).cbTime},
	{"GET", cbPrefix + "/products", cbPermView, true, (*Coinbase).cbProducts},
	{"GET", cbPrefix + "/products/{id}", cbPermView, true, (*Coinbase).cbProduct},
	{"GET", cbPrefix + "/best_bid_ask", cbPermView, true, (*Coinbase).cbBestBidAsk},
	{"GET", cbPrefix + "/accounts", cbPermView, true, (*Coinbase).cbAccounts},
	{"POST", cbPrefix + "/orders", cbPermTrade, true, (*Coinbase).cbCreateOrder},
	{"POST", cbPrefix + "/orders/preview", cbPermTrade, true, (*Coinbase).cbPreviewOrder},
	{"POST", cbPrefix + "/orders/edit", cbPermTrade, true, (*Coinbase).cbEditOrder},
	{"POST", cbPrefix + "/orders/batch_cancel", cbPermTrade, true, (*Coinbase).cbBatchCancel},
	{"GET", cbPrefix + "/orders/historical/batch", cbPermView, true, (*Coinbase).cbListOrders},
	{"GET", cbPrefix + "/orders/historical/fills", cbPermView, true, (*Coinbase).cbFills},
	{"GET", cbPrefix + "/orders/historical/{id}", cbPermView, true, (*Coinbase).cbGetOrder},
	{"GET", cbPrefix + "/key_permissions", cbPermNone, true, (*Coinbase).cbKeyPermissions},
	{"POST", cbPrefix + "/portfolios/move_funds", cbPermTransfer, true, (*Coinbase).cbMoveFunds},
	{"POST", "/v2/accounts/{id}/transactions", cbPermTransfer, true, (*Coinbase).cbSend},

	{"GET", cbPrefix + "/market/products", cbPermNone, false, (*Coinbase).cbPublicProducts},
	{"GET", cbPrefix + "/market/products/{id}", cbPermNone, false, (*Coinbase).cbProduct},
	{"GET", cbPrefix + "/market/products/{id}/ticker", cbPermNone, false, (*Coinbase).cbTicker},
	{"GET", cbPrefix + "/market/products/{id}/candles", cbPermNone, false, (*Coinbase).cbCandles},
	{"GET", cbPrefix + "/market/product_book", cbPermNone, false, (*Coinbase).cbBook},
	{"GET", cbPrefix + "/products/{id}/ticker", cbPermView, true, (*Coinbase).cbTicker},
	{"GET", cbPrefix + "/products/{id}/candles", cbPermView, true, (*Coinbase).cbCandles},
	{"GET", cbPrefix + "/product_book", cbPermView, true, (*Coinbase).cbBook},
	{"GET", cbPrefix + "/transaction_summary", cbPermView, true, (*Coinbase).cbTransactionSummary},
	{"GET", "/v2/currencies", cbPermNone, false, (*Coinbase).v2Currencies},
	{"GET", "/v2/currencies/crypto", cbPermNone, false, (*Coinbase).v2CryptoCurrencies},
	{"GET", "/v2/exchange-rates", cbPermNone, false, (*Coinbase).v2ExchangeRates},
	{"GET", "/v2/time", cbPermNone, false, (*Coinbase).v2Time},
	{"GET", "/v2/accounts", cbPermView, true, (*Coinbase).v2Accounts},
}

// match finds the route of a request and the value of its {id} segment.
func matchCoinbase(method, path string) (*cbRoute, string) {
	for i := range coinbaseRoutes {
		rt := &coinbaseRoutes[i]
		if rt.method != method {
			continue
		}
		pre, post, hasID := strings.Cut(rt.path, "{id}")
		if !hasID {
			if rt.path == path {
				return rt, ""
			}
			continue
		}
		if strings.HasPrefix(path, pre) && strings.HasSuffix(path, post) && len(path) > len(pre)+len(post) {
			id := path[len(pre) : len(path)-len(post)]
			if !strings.Contains(id, "/") {
				return rt, id
			}
		}
	}
	return nil, ""
}

// cbError is Coinbase's error body.
type cbError struct {
	Error        string `json:"error"`
	ErrorDetails string `json:"error_details"`
	Message      string `json:"message"`
}

func cbFail(status int, code, msg string) cbAnswer {
	return cbAnswer{status, cbError{Error: code, ErrorDetails: msg, Message: msg}}
}

// ServeHTTP serves the simulated API.
func (cb *Coinbase) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cb.requests.Add(1)
	c := &cbCall{w: w, r: r}
	ans := cb.serve(c)
	keyName := ""
	if c.key != nil {
		keyName = c.key.Name
	}
	switch ans.status {
	case http.StatusTooManyRequests:
		cb.n429.Add(1)
	case http.StatusUnauthorized:
		cb.n401.Add(1)
	}
	if ans.status == http.StatusUnauthorized {
		// Coinbase answers a refused JWT with a bare text body.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, "Unauthorized\n")
	} else {
		body, err := json.Marshal(ans.body)
		if err != nil {
			ans.status, body = http.StatusInternalServerError, []byte(`{"error":"INTERNAL","error_details":"","message":"internal error"}`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ans.status)
		_, _ = w.Write(body)
	}
	cb.log.LogAttrs(r.Context(), slog.LevelInfo, "coinbase sim",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", ans.status), slog.String("key", keyName))
}

func (cb *Coinbase) serve(c *cbCall) cbAnswer {
	rt, id := matchCoinbase(c.r.Method, c.r.URL.Path)
	if rt == nil {
		return cbFail(http.StatusNotFound, "NOT_FOUND", "Not Found")
	}
	c.id = id
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxRequestBody+1))
	if err != nil || len(body) > maxRequestBody {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "request body unreadable or too large")
	}
	c.body = body
	now := cb.now()
	if !rt.signed {
		if !cb.spend(c, "ip:"+remoteIP(c.r), cb.public, now) {
			return cbFail(http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED", "Too many requests")
		}
		return rt.handle(cb, c)
	}
	k, reason := cb.authenticate(c.r, now)
	if k == nil {
		cb.mu.Lock()
		cb.authFails = append(cb.authFails, reason)
		cb.mu.Unlock()
		return cbAnswer{status: http.StatusUnauthorized}
	}
	c.key = k
	if !cb.spend(c, "key:"+k.Name, cb.private, now) {
		return cbFail(http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED", "Too many requests")
	}
	if !cbPermitted(k.Permissions, rt.perm) {
		return cbFail(http.StatusForbidden, "PERMISSION_DENIED", "Missing required scopes")
	}
	return rt.handle(cb, c)
}

func cbPermitted(p exchange.Permissions, perm cbPerm) bool {
	switch perm {
	case cbPermView:
		return p.Read
	case cbPermTrade:
		return p.Trade
	case cbPermTransfer:
		return p.Transfer || p.Withdraw
	}
	return true
}

// spend counts a request against a one-second window of limit requests
// and sets the x-ratelimit-* headers. It reports whether the request is
// within the limit.
func (cb *Coinbase) spend(c *cbCall, bucket string, limit int, now time.Time) bool {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	w := cb.rl[bucket]
	if w == nil {
		w = &window{interval: time.Second, limit: limit}
		cb.rl[bucket] = w
	}
	w.roll(now)
	h := c.w.Header()
	h.Set("X-Ratelimit-Limit", strconv.Itoa(limit))
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(w.end().Unix(), 10))
	if w.used >= limit {
		h.Set("X-Ratelimit-Remaining", "0")
		h.Set("Retry-After", strconv.Itoa(w.retryAfter(now)))
		return false
	}
	w.used++
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(limit-w.used))
	return true
}
