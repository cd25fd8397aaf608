package exchangetest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// Symbol describes a simulated trading pair: its filters, where its market
// starts and how much liquidity its book offers to takers.
type Symbol struct {
	Symbol string // venue name, e.g. "BTCUSDT"
	Base   string
	Quote  string
	// Halted symbols take no new orders; cancels and reads still work.
	Halted bool
	// Filters are the order rules. MarketByQuote allows market orders by
	// quote amount.
	Filters exchange.Filters
	// MarketMaxQty bounds the base quantity of a market order (Binance
	// MARKET_LOT_SIZE maxQty); zero means MaxQty.
	MarketMaxQty decimal.Decimal
	// MaxNumOrders bounds the open orders of one account on the symbol;
	// zero means no bound.
	MaxNumOrders int
	// Price is the initial last price; SetPrice moves it.
	Price decimal.Decimal
	// Spread is the distance between best bid and best ask, centred on the
	// last price and rounded outwards to the tick.
	Spread decimal.Decimal
	// Depth is the base quantity offered at each price level of each side;
	// zero means unlimited liquidity at the best price.
	Depth decimal.Decimal
	// Levels is the number of price levels per side when Depth is set; a
	// taker order that needs more is only partly filled.
	Levels int
	// LevelGap is the price distance between two levels.
	LevelGap decimal.Decimal
	// Thinning, between 0 and 1, makes the book thin away from its top:
	// each level offers Thinning times the quantity of the level before it
	// (rounded down to the step size), so a market order walks to worse
	// prices sooner. Zero (or one) offers Depth on every level.
	Thinning decimal.Decimal
}

// Market errors. Venue front ends translate them into their venue's codes.
var (
	errUnknownSymbol  = errors.New("unknown symbol")
	errHalted         = errors.New("market is closed")
	errInsufficient   = errors.New("insufficient balance")
	errWouldTake      = errors.New("order would immediately match and take")
	errWouldTrigger   = errors.New("order would trigger immediately")
	errUnknownOrder   = errors.New("unknown order")
	errDuplicateOrder = errors.New("duplicate client order id")
	errUnknownAccount = errors.New("unknown account")
)

// filterError names the filter an order breaks, in the venue's own terms.
type filterError struct{ filter string }

func (e *filterError) Error() string { return "filter failure: " + e.filter }

// order is an order in the simulated market.
type order struct {
	id          int64
	clientID    string
	account     string
	symbol      string
	side        exchange.Side
	typ         exchange.OrderType
	tif         exchange.TimeInForce
	price       decimal.Decimal
	stopPrice   decimal.Decimal // a stop-limit order's trigger
	waiting     bool            // a stop-limit order not triggered yet: it rests without matching
	qty         decimal.Decimal // base quantity asked for (zero for a market order by quote)
	quoteQty    decimal.Decimal // quote amount asked for
	executed    decimal.Decimal
	executedQuo decimal.Decimal
	status      exchange.OrderStatus
	created     time.Time
	updated     time.Time
	locked      decimal.Decimal // what is still locked for it, in the asset it spends
	fills       []*trade
}

// trade is one fill of an order.
type trade struct {
	id              int64
	orderID         int64
	symbol          string
	side            exchange.Side
	price           decimal.Decimal
	qty             decimal.Decimal
	quoteQty        decimal.Decimal
	commission      decimal.Decimal
	commissionAsset string
	maker           bool
	time            time.Time
}

type balance struct{ free, locked decimal.Decimal }

type account struct {
	balances map[string]*balance
	orders   map[int64]*order // every order, by id
	// live holds the orders that may still be open; closed ones are
	// dropped when found, so scans of open orders stay short.
	live   map[int64]*order
	trades []*trade
}

// eachOpen calls f for each open order of the account, in no order, and
// forgets the closed ones.
func (a *account) eachOpen(f func(o *order)) {
	for id, o := range a.live {
		if !o.status.Open() {
			delete(a.live, id)
			continue
		}
		f(o)
	}
}

func (a *account) bal(asset string) *balance {
	b := a.balances[asset]
	if b == nil {
		b = &balance{}
		a.balances[asset] = b
	}
	return b
}

// Withdrawal is a withdrawal the simulator executed.
type Withdrawal struct {
	ID      string
	Account string
	Asset   string
	Network string
	Address string
	Amount  decimal.Decimal
	Time    time.Time
}

// market is the venue-neutral core every simulated venue runs on: symbols
// with a last price and a synthetic book, accounts with free and locked
// balances, orders that fill against the book or rest until the price
// crosses them, trades and withdrawals. It knows nothing of HTTP, signing or
// rate limits. All methods are safe for concurrent use.
type market struct {
	mu       sync.Mutex
	now      func() time.Time
	symbols  map[string]*Symbol
	accounts map[string]*account
	funding  []exchange.Balance
	makerFee decimal.Decimal
	takerFee decimal.Decimal
	// feeInQuote charges every fee in the quote asset (KuCoin, Coinbase):
	// a buy holds its fee at the higher rate beside its cost, and a market
	// buy by quote amount spends that amount fees included. Otherwise a
	// buy pays its fee in the base asset it receives (Binance).
	feeInQuote  bool
	nextOrder   int64
	nextTrade   int64
	withdrawals []Withdrawal
	// onFirstFill is called, with mu held, when a resting order fills for
	// the first time (Binance lowers the unfilled-order count then; the
	// venue front end handles orders that fill as they are placed).
	onFirstFill func(accountID string)

	started time.Time
	history map[string]*tape // public trades and price moves, by symbol
	drift   *drifter         // nil: prices move only by SetPrice
}

func newMarket(now func() time.Time, symbols []Symbol, funding []exchange.Balance) *market {
	m := &market{
		now:       now,
		symbols:   make(map[string]*Symbol, len(symbols)),
		accounts:  make(map[string]*account),
		funding:   slices.Clone(funding),
		nextOrder: 1,
		nextTrade: 1,
		started:   now(),
		history:   make(map[string]*tape, len(symbols)),
	}
	for _, s := range symbols {
		m.symbols[s.Symbol] = &s
		m.history[s.Symbol] = &tape{}
		m.history[s.Symbol].add(tick{time: m.started, price: s.Price})
	}
	return m
}

// lock locks the market and first moves the prices the drift has moved
// since the last call, so every reader sees the market of the clock's now.
func (m *market) lock() {
	m.mu.Lock()
	if m.drift != nil {
		m.drift.advance(m)
	}
}

// openAccount creates an account funded with the default balances, or
// keeps an existing one.
func (m *market) openAccount(id string) {
	m.lock()
	defer m.mu.Unlock()
	if _, ok := m.accounts[id]; ok {
		return
	}
	a := &account{balances: make(map[string]*balance), orders: make(map[int64]*order)}
	for _, b := range m.funding {
		a.balances[b.Asset] = &balance{free: b.Free}
	}
	m.accounts[id] = a
}

func (m *market) setBalance(id, asset string, free decimal.Decimal) error {
	m.lock()
	defer m.mu.Unlock()
	a := m.accounts[id]
	if a == nil {
		return errUnknownAccount
	}
	a.bal(asset).free = free
	return nil
}

func (m *market) balances(id string) []exchange.Balance {
	m.lock()
	defer m.mu.Unlock()
	a := m.accounts[id]
	if a == nil {
		return nil
	}
	out := make([]exchange.Balance, 0, len(a.balances))
	for asset, b := range a.balances {
		out = append(out, exchange.Balance{Asset: asset, Free: b.free, Locked: b.locked})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Asset < out[j].Asset })
	return out
}

func (m *market) symbol(name string) (Symbol, bool) {
	m.lock()
	defer m.mu.Unlock()
	s, ok := m.symbols[name]
	if !ok {
		return Symbol{}, false
	}
	return *s, true
}

func (m *market) symbolList() []Symbol {
	m.lock()
	defer m.mu.Unlock()
	out := make([]Symbol, 0, len(m.symbols))
	for _, s := range m.symbols {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Symbol < out[j].Symbol })
	return out
}

// bidAsk returns the best bid and ask of s around its last price.
func bidAsk(s *Symbol) (bid, ask decimal.Decimal) {
	half := s.Spread.Div(decimal.NewFromInt(2))
	bid, ask = s.Price.Sub(half), s.Price.Add(half)
	if t := s.Filters.TickSize; t.Sign() > 0 {
		bid = bid.Div(t).Floor().Mul(t)
		ask = ask.Div(t).Ceil().Mul(t)
		if !ask.GreaterThan(bid) {
			ask = bid.Add(t)
		}
	}
	if bid.Sign() < 0 {
		bid = decimal.Zero
	}
	return bid, ask
}

// quote returns the best bid and ask and the quantity offered at each.
// A zero quantity means unlimited.
func (m *market) quote(name string) (bid, ask, depth decimal.Decimal, ok bool) {
	m.lock()
	defer m.mu.Unlock()
	s, ok := m.symbols[name]
	if !ok {
		return
	}
	bid, ask = bidAsk(s)
	return bid, ask, s.Depth, true
}

// level is one price level of the synthetic book.
type level struct {
	price decimal.Decimal
	qty   decimal.Decimal // zero: unlimited
}

// takerLevels returns the levels a taker order on side meets, best first.
func takerLevels(s *Symbol, side exchange.Side) []level {
	bid, ask := bidAsk(s)
	best, sign := ask, decimal.NewFromInt(1)
	if side == exchange.Sell {
		best, sign = bid, decimal.NewFromInt(-1)
	}
	if s.Depth.Sign() <= 0 {
		return []level{{price: best}}
	}
	n := max(s.Levels, 1)
	out := make([]level, 0, n)
	qty := s.Depth
	thin := s.Thinning.Sign() > 0 && s.Thinning.LessThan(decimal.NewFromInt(1))
	for i := range n {
		p := best.Add(s.LevelGap.Mul(decimal.NewFromInt(int64(i))).Mul(sign))
		if p.Sign() <= 0 || qty.Sign() <= 0 {
			break
		}
		out = append(out, level{price: p, qty: qty})
		if thin {
			qty = qty.Mul(s.Thinning)
			if st := s.Filters.StepSize; st.Sign() > 0 {
				qty = qty.Div(st).Floor().Mul(st)
			} else {
				qty = qty.Truncate(8)
			}
		}
	}
	return out
}

// placeRequest is an order as a venue front end parsed it.
type placeRequest struct {
	account  string
	symbol   string
	side     exchange.Side
	typ      exchange.OrderType
	tif      exchange.TimeInForce
	price    decimal.Decimal
	qty      decimal.Decimal
	quoteQty decimal.Decimal
	// stopPrice is the trigger of a stop-limit order (STOP_LOSS_LIMIT,
	// TAKE_PROFIT_LIMIT, GTC only): it rests untriggered, without
	// matching, until the last price reaches it, then as a limit order.
	stopPrice decimal.Decimal
	clientID  string
	test      bool // validate only
}

// place validates and executes an order: it fills what crosses the book at
// once, rests the rest of a GTC limit order and expires the rest of the
// others. With test set it validates only.
func (m *market) place(r placeRequest) (order, error) {
	m.lock()
	defer m.mu.Unlock()
	a := m.accounts[r.account]
	if a == nil {
		return order{}, errUnknownAccount
	}
	s := m.symbols[r.symbol]
	if s == nil {
		return order{}, errUnknownSymbol
	}
	if s.Halted {
		return order{}, errHalted
	}
	if err := checkFilters(s, r, m.openCount(a, s.Symbol)); err != nil {
		return order{}, err
	}
	if r.clientID != "" {
		dup := false
		a.eachOpen(func(o *order) { dup = dup || o.clientID == r.clientID })
		if dup {
			return order{}, errDuplicateOrder
		}
	}
	stop := stopLimit(r.typ)
	if stop && triggers(r.typ, r.side, r.stopPrice, s.Price) {
		return order{}, errWouldTrigger
	}
	now := m.now()
	o := &order{
		clientID: r.clientID, account: r.account, symbol: s.Symbol, side: r.side, typ: r.typ, tif: r.tif,
		price: r.price, stopPrice: r.stopPrice, waiting: stop, qty: r.qty, quoteQty: r.quoteQty, status: exchange.StatusNew,
		created: now, updated: now,
	}
	if r.test {
		return *o, nil // validation only: the matching engine never sees it
	}
	bid, ask := bidAsk(s)
	limit := r.typ == exchange.Limit || r.typ == exchange.LimitMaker || stop
	if r.typ == exchange.LimitMaker &&
		((r.side == exchange.Buy && r.price.GreaterThanOrEqual(ask)) || (r.side == exchange.Sell && r.price.LessThanOrEqual(bid))) {
		return order{}, errWouldTake
	}

	// What the order can take from the book now.
	var takes []level
	if r.typ != exchange.LimitMaker && !stop {
		mr := r
		if m.feeInQuote && r.side == exchange.Buy && !r.quoteQty.IsZero() {
			// The quote amount pays for the fee too.
			mr.quoteQty = r.quoteQty.Div(decimal.NewFromInt(1).Add(m.takerFee)).Truncate(12)
		}
		takes = m.match(s, mr)
	}
	var takeQty, takeQuote decimal.Decimal
	for _, l := range takes {
		takeQty = takeQty.Add(l.qty)
		takeQuote = takeQuote.Add(l.qty.Mul(l.price))
	}
	if r.tif == exchange.FOK && takeQty.LessThan(r.qty) {
		takes, takeQty, takeQuote = nil, decimal.Zero, decimal.Zero
	}
	if r.typ == exchange.Market && takeQty.IsZero() {
		// The quote amount buys less than one step of the base asset.
		return order{}, &filterError{filter: "LOT_SIZE"}
	}

	// What the order needs of the spent asset: a limit order the whole of
	// its quantity at its price; a market order what it takes (or its
	// quote amount).
	spend, need := s.Quote, takeQuote
	switch {
	case r.side == exchange.Sell && limit:
		spend, need = s.Base, r.qty
	case r.side == exchange.Sell:
		spend, need = s.Base, takeQty
	case limit:
		need = r.price.Mul(r.qty)
	case !r.quoteQty.IsZero():
		need = r.quoteQty
	}
	if r.side == exchange.Sell && r.typ == exchange.Market && !r.qty.IsZero() {
		need = r.qty
	}
	if m.feeInQuote && r.side == exchange.Buy && r.quoteQty.IsZero() {
		need = need.Mul(decimal.NewFromInt(1).Add(decimal.Max(m.makerFee, m.takerFee)))
	}
	b := a.bal(spend)
	if b.free.LessThan(need) {
		return order{}, errInsufficient
	}
	o.id = m.nextOrder
	m.nextOrder++
	a.orders[o.id] = o
	if a.live == nil {
		a.live = make(map[int64]*order)
	}
	a.live[o.id] = o
	// Lock what the order needs, then fill from it.
	b.free = b.free.Sub(need)
	b.locked = b.locked.Add(need)
	o.locked = need
	for _, l := range takes {
		m.fill(a, s, o, l.price, l.qty, false)
	}
	switch {
	case o.qty.Sign() > 0 && o.executed.Equal(o.qty):
		o.status = exchange.StatusFilled
	case r.typ == exchange.Market && !r.quoteQty.IsZero() && !exhausted(s, r.side, o.executed):
		o.status = exchange.StatusFilled
	case limit && (r.tif == exchange.GTC || r.tif == ""):
		if o.executed.Sign() > 0 {
			o.status = exchange.StatusPartiallyFilled
		}
		return *o, nil // rests
	default:
		o.status = exchange.StatusExpired
	}
	m.release(a, s, o)
	return *o, nil
}

// stopLimit reports whether t is a stop-limit order type.
func stopLimit(t exchange.OrderType) bool {
	return t == exchange.StopLimit || t == exchange.TakeLimit
}

// triggers reports whether the last price triggers a stop-limit order: a
// stop-loss buys once the price rose to its stop and sells once it fell
// to it; a take-profit the other way round.
func triggers(t exchange.OrderType, side exchange.Side, stop, last decimal.Decimal) bool {
	rising := (t == exchange.StopLimit) == (side == exchange.Buy)
	if rising {
		return last.GreaterThanOrEqual(stop)
	}
	return last.LessThanOrEqual(stop)
}

// exhausted reports whether a taker that got executed on side took all the
// liquidity of the book, so that a market order by quote amount stopped for
// lack of liquidity rather than because it spent its amount.
func exhausted(s *Symbol, side exchange.Side, executed decimal.Decimal) bool {
	if s.Depth.Sign() <= 0 {
		return false
	}
	var all decimal.Decimal
	for _, l := range takerLevels(s, side) {
		all = all.Add(l.qty)
	}
	return executed.Equal(all)
}

// match returns the quantities r takes at each level of the book.
func (m *market) match(s *Symbol, r placeRequest) []level {
	var out []level
	remQty, remQuote := r.qty, r.quoteQty
	byQuote := r.qty.IsZero()
	step := s.Filters.StepSize
	for _, l := range takerLevels(s, r.side) {
		if r.typ == exchange.Limit {
			if (r.side == exchange.Buy && l.price.GreaterThan(r.price)) || (r.side == exchange.Sell && l.price.LessThan(r.price)) {
				break
			}
		}
		var q decimal.Decimal
		if byQuote {
			q = remQuote.Div(l.price)
			if step.Sign() > 0 {
				q = q.Div(step).Floor().Mul(step)
			} else {
				q = q.Truncate(8)
			}
		} else {
			q = remQty
		}
		if l.qty.Sign() > 0 && q.GreaterThan(l.qty) {
			q = l.qty
		}
		if q.Sign() <= 0 {
			break
		}
		out = append(out, level{price: l.price, qty: q})
		remQty = remQty.Sub(q)
		remQuote = remQuote.Sub(q.Mul(l.price))
		if !byQuote && remQty.Sign() <= 0 {
			break
		}
	}
	return out
}

// fill executes qty of o at price and moves the balances.
func (m *market) fill(a *account, s *Symbol, o *order, price, qty decimal.Decimal, maker bool) {
	quote := price.Mul(qty)
	fee := m.takerFee
	if maker {
		fee = m.makerFee
	}
	t := &trade{
		id: m.nextTrade, orderID: o.id, symbol: s.Symbol, side: o.side,
		price: price, qty: qty, quoteQty: quote, maker: maker, time: m.now(),
	}
	m.nextTrade++
	base, q := a.bal(s.Base), a.bal(s.Quote)
	switch {
	case o.side == exchange.Buy && m.feeInQuote:
		t.commission, t.commissionAsset = quote.Mul(fee), s.Quote
		q.locked = q.locked.Sub(quote.Add(t.commission))
		o.locked = o.locked.Sub(quote.Add(t.commission))
		base.free = base.free.Add(qty)
	case o.side == exchange.Buy:
		t.commission, t.commissionAsset = qty.Mul(fee), s.Base
		q.locked = q.locked.Sub(quote)
		o.locked = o.locked.Sub(quote)
		base.free = base.free.Add(qty.Sub(t.commission))
	default:
		t.commission, t.commissionAsset = quote.Mul(fee), s.Quote
		base.locked = base.locked.Sub(qty)
		o.locked = o.locked.Sub(qty)
		q.free = q.free.Add(quote.Sub(t.commission))
	}
	m.tape(s.Symbol).add(tick{time: t.time, price: price, qty: qty, tradeID: t.id, buyerMaker: (o.side == exchange.Buy) == maker})
	first := o.executed.IsZero()
	o.executed = o.executed.Add(qty)
	o.executedQuo = o.executedQuo.Add(quote)
	o.updated = t.time
	o.fills = append(o.fills, t)
	a.trades = append(a.trades, t)
	if first && maker && m.onFirstFill != nil {
		m.onFirstFill(o.account)
	}
}

// release returns what is still locked for a closed order.
func (m *market) release(a *account, s *Symbol, o *order) {
	asset := s.Quote
	if o.side == exchange.Sell {
		asset = s.Base
	}
	b := a.bal(asset)
	b.locked = b.locked.Sub(o.locked)
	b.free = b.free.Add(o.locked)
	o.locked = decimal.Zero
}

func (m *market) openCount(a *account, symbol string) int {
	n := 0
	a.eachOpen(func(o *order) {
		if o.symbol == symbol {
			n++
		}
	})
	return n
}

// setPrice moves the last price of a symbol and fills the resting orders it
// crosses, at their own price: buys at or above the new price, sells at or
// below it. It reports whether the symbol exists.
func (m *market) setPrice(name string, price decimal.Decimal) bool {
	m.lock()
	defer m.mu.Unlock()
	return m.setPriceLocked(name, price, m.now())
}

// setPriceLocked is setPrice with mu held; at is when the price moved.
func (m *market) setPriceLocked(name string, price decimal.Decimal, at time.Time) bool {
	s := m.symbols[name]
	if s == nil {
		return false
	}
	s.Price = price
	m.tape(name).add(tick{time: at, price: price})
	for _, id := range m.sortedAccounts() {
		a := m.accounts[id]
		if len(a.live) == 0 {
			continue // nothing rests: skip the scan (the drift moves prices often)
		}
		for _, o := range sortedOrders(a, name, true) {
			if o.waiting {
				if !triggers(o.typ, o.side, o.stopPrice, price) {
					continue
				}
				o.waiting = false
			}
			if (o.side == exchange.Buy && price.LessThanOrEqual(o.price)) || (o.side == exchange.Sell && price.GreaterThanOrEqual(o.price)) {
				m.fill(a, s, o, o.price, o.qty.Sub(o.executed), true)
				o.status = exchange.StatusFilled
				m.release(a, s, o)
			}
		}
	}
	return true
}

func (m *market) sortedAccounts() []string {
	ids := make([]string, 0, len(m.accounts))
	for id := range m.accounts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// sortedOrders returns an account's orders on symbol ("" for all) by id.
func sortedOrders(a *account, symbol string, openOnly bool) []*order {
	var out []*order
	all := a.orders
	if openOnly {
		all = make(map[int64]*order, len(a.live))
		a.eachOpen(func(o *order) { all[o.id] = o })
	}
	for _, o := range all {
		if symbol == "" || o.symbol == symbol {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// orderRef finds an order by id (when id > 0) or by client id.
type orderRef struct {
	symbol   string
	id       int64
	clientID string
}

func (m *market) find(a *account, ref orderRef) *order {
	if ref.id > 0 {
		o := a.orders[ref.id]
		if o == nil || o.symbol != ref.symbol {
			return nil
		}
		if ref.clientID != "" && o.clientID != ref.clientID {
			return nil
		}
		return o
	}
	var found *order
	for _, o := range a.orders {
		if o.symbol == ref.symbol && o.clientID == ref.clientID && (found == nil || o.id > found.id) {
			found = o
		}
	}
	return found
}

// get returns a copy of an order.
func (m *market) get(accountID string, ref orderRef) (order, error) {
	m.lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return order{}, errUnknownAccount
	}
	o := m.find(a, ref)
	if o == nil {
		return order{}, errUnknownOrder
	}
	return *o, nil
}

// cancel cancels an open order and unlocks what it held.
func (m *market) cancel(accountID string, ref orderRef) (order, error) {
	m.lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return order{}, errUnknownAccount
	}
	o := m.find(a, ref)
	if o == nil || !o.status.Open() {
		return order{}, errUnknownOrder
	}
	m.cancelLocked(a, o)
	return *o, nil
}

func (m *market) cancelLocked(a *account, o *order) {
	o.status = exchange.StatusCanceled
	o.updated = m.now()
	m.release(a, m.symbols[o.symbol], o)
}

// cancelAll cancels every open order of an account on symbol.
func (m *market) cancelAll(accountID, symbol string) ([]order, error) {
	m.lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return nil, errUnknownAccount
	}
	var out []order
	for _, o := range sortedOrders(a, symbol, true) {
		m.cancelLocked(a, o)
		out = append(out, *o)
	}
	return out, nil
}

// openOrders returns copies of the open orders of an account.
func (m *market) openOrders(accountID, symbol string) []order {
	m.lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return nil
	}
	var out []order
	for _, o := range sortedOrders(a, symbol, true) {
		out = append(out, *o)
	}
	return out
}

// trades returns copies of an account's trades on symbol, oldest first.
func (m *market) trades(accountID, symbol string) []trade {
	m.lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return nil
	}
	var out []trade
	for _, t := range a.trades {
		if t.symbol == symbol {
			out = append(out, *t)
		}
	}
	return out
}

// withdraw debits amount of asset from the account's free balance.
func (m *market) withdraw(accountID, asset, network, address string, amount decimal.Decimal) (Withdrawal, error) {
	m.lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return Withdrawal{}, errUnknownAccount
	}
	b := a.bal(asset)
	if b.free.LessThan(amount) {
		return Withdrawal{}, errInsufficient
	}
	b.free = b.free.Sub(amount)
	w := Withdrawal{
		ID:      fmt.Sprintf("%032x", len(m.withdrawals)+1),
		Account: accountID, Asset: asset, Network: network, Address: address, Amount: amount, Time: m.now(),
	}
	m.withdrawals = append(m.withdrawals, w)
	return w, nil
}

func (m *market) withdrawalList() []Withdrawal {
	m.lock()
	defer m.mu.Unlock()
	return slices.Clone(m.withdrawals)
}

// checkFilters checks an order against its symbol's rules. Filter names
// are Binance's, which the other venues' rules map onto.
func checkFilters(s *Symbol, r placeRequest, open int) error {
	f := s.Filters
	fail := func(name string) error { return &filterError{filter: name} }
	onGrid := func(v, min, step decimal.Decimal) bool {
		return step.Sign() <= 0 || v.Sub(min).Mod(step).IsZero()
	}
	if stopLimit(r.typ) && (r.stopPrice.Sign() <= 0 ||
		(f.MinPrice.Sign() > 0 && r.stopPrice.LessThan(f.MinPrice)) ||
		(f.MaxPrice.Sign() > 0 && r.stopPrice.GreaterThan(f.MaxPrice)) ||
		!onGrid(r.stopPrice, f.MinPrice, f.TickSize)) {
		return fail("PRICE_FILTER")
	}
	if r.typ != exchange.Market {
		if r.price.Sign() <= 0 ||
			(f.MinPrice.Sign() > 0 && r.price.LessThan(f.MinPrice)) ||
			(f.MaxPrice.Sign() > 0 && r.price.GreaterThan(f.MaxPrice)) ||
			!onGrid(r.price, f.MinPrice, f.TickSize) {
			return fail("PRICE_FILTER")
		}
	}
	if !r.qty.IsZero() {
		if r.qty.Sign() < 0 ||
			(f.MinQty.Sign() > 0 && r.qty.LessThan(f.MinQty)) ||
			(f.MaxQty.Sign() > 0 && r.qty.GreaterThan(f.MaxQty)) ||
			!onGrid(r.qty, f.MinQty, f.StepSize) {
			return fail("LOT_SIZE")
		}
		if r.typ == exchange.Market && s.MarketMaxQty.Sign() > 0 && r.qty.GreaterThan(s.MarketMaxQty) {
			return fail("MARKET_LOT_SIZE")
		}
	}
	var notional decimal.Decimal
	switch {
	case !r.quoteQty.IsZero():
		notional = r.quoteQty
	case r.typ == exchange.Market:
		notional = s.Price.Mul(r.qty)
	default:
		notional = r.price.Mul(r.qty)
	}
	if (f.MinNotional.Sign() > 0 && notional.LessThan(f.MinNotional)) ||
		(f.MaxNotional.Sign() > 0 && notional.GreaterThan(f.MaxNotional)) {
		return fail("NOTIONAL")
	}
	if s.MaxNumOrders > 0 && r.typ != exchange.Market && open >= s.MaxNumOrders {
		return fail("MAX_NUM_ORDERS")
	}
	return nil
}
