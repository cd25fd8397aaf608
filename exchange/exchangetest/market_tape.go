package exchangetest

import (
	"sort"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// tick is one entry of a symbol's public history: a trade (qty > 0) or a
// move of the last price without a trade (SetPrice, the drift).
type tick struct {
	time       time.Time
	price      decimal.Decimal
	qty        decimal.Decimal // zero: a price move, not a trade
	tradeID    int64
	buyerMaker bool
}

// maxTape bounds the history kept per symbol; older entries are dropped.
const maxTape = 50_000

// tape is a symbol's public history, oldest first. The market's lock
// guards it.
type tape struct {
	ticks []tick
	n     int64 // entries ever added: the book's update id
}

func (t *tape) add(k tick) {
	t.n++
	if len(t.ticks) >= 2*maxTape {
		t.ticks = append(t.ticks[:0:0], t.ticks[len(t.ticks)-maxTape:]...)
	}
	t.ticks = append(t.ticks, k)
}

// tape returns the history of symbol name, creating it if needed. mu is
// held.
func (m *market) tape(name string) *tape {
	t := m.history[name]
	if t == nil {
		t = &tape{}
		m.history[name] = t
	}
	return t
}

// from returns the index of the first tick at or after at.
func (t *tape) from(at time.Time) int {
	return sort.Search(len(t.ticks), func(i int) bool { return !t.ticks[i].time.Before(at) })
}

// priceAt returns the last price in effect just before at (the oldest
// known price when at precedes the history).
func (t *tape) priceAt(at time.Time) decimal.Decimal {
	i := t.from(at)
	if i == 0 {
		if len(t.ticks) == 0 {
			return decimal.Zero
		}
		return t.ticks[0].price
	}
	return t.ticks[i-1].price
}

// candle is one kline: prices over [open, close] and the trades in it.
type candle struct {
	open, close                 time.Time // close is the last millisecond
	o, h, l, c                  decimal.Decimal
	volume, quoteVolume         decimal.Decimal
	takerBuyBase, takerBuyQuote decimal.Decimal
	trades                      int
}

// candleAt builds the candle of [open, next) from the tape.
func (t *tape) candleAt(open, next time.Time) candle {
	p := t.priceAt(open)
	k := candle{open: open, close: next.Add(-time.Millisecond), o: p, h: p, l: p, c: p}
	for i := t.from(open); i < len(t.ticks) && t.ticks[i].time.Before(next); i++ {
		x := t.ticks[i]
		k.c = x.price
		k.h = decimal.Max(k.h, x.price)
		k.l = decimal.Min(k.l, x.price)
		if x.qty.Sign() > 0 {
			q := x.qty.Mul(x.price)
			k.trades++
			k.volume = k.volume.Add(x.qty)
			k.quoteVolume = k.quoteVolume.Add(q)
			if !x.buyerMaker {
				k.takerBuyBase = k.takerBuyBase.Add(x.qty)
				k.takerBuyQuote = k.takerBuyQuote.Add(q)
			}
		}
	}
	return k
}

// stats are a symbol's rolling-window statistics.
type stats struct {
	open, close          time.Time
	openPrice, prevClose decimal.Decimal
	high, low, last      decimal.Decimal
	lastQty              decimal.Decimal
	volume, quoteVolume  decimal.Decimal
	firstID, lastID      int64 // -1 without trades
	count                int
}

// window returns the statistics of [now-d, now]; last is the current
// price.
func (t *tape) window(now time.Time, d time.Duration, last decimal.Decimal) stats {
	start := now.Add(-d)
	open := t.priceAt(start)
	st := stats{open: start, close: now, openPrice: open, prevClose: open, high: decimal.Max(open, last), low: decimal.Min(open, last),
		last: last, firstID: -1, lastID: -1}
	for i := t.from(start); i < len(t.ticks) && !t.ticks[i].time.After(now); i++ {
		x := t.ticks[i]
		st.high = decimal.Max(st.high, x.price)
		st.low = decimal.Min(st.low, x.price)
		if x.qty.Sign() > 0 {
			if st.firstID < 0 {
				st.firstID = x.tradeID
			}
			st.lastID = x.tradeID
			st.count++
			st.lastQty = x.qty
			st.volume = st.volume.Add(x.qty)
			st.quoteVolume = st.quoteVolume.Add(x.qty.Mul(x.price))
		}
	}
	return st
}

// recent returns up to limit of the latest trades, oldest first.
func (t *tape) recent(limit int) []tick {
	var out []tick
	for i := len(t.ticks) - 1; i >= 0 && len(out) < limit; i-- {
		if t.ticks[i].qty.Sign() > 0 {
			out = append(out, t.ticks[i])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// symbolStats returns the rolling statistics of symbol over d.
func (m *market) symbolStats(name string, d time.Duration) (stats, bool) {
	m.lock()
	defer m.mu.Unlock()
	s, ok := m.symbols[name]
	if !ok {
		return stats{}, false
	}
	return m.tape(name).window(m.now(), d, s.Price), true
}

// recentTrades returns up to limit of the symbol's latest public trades.
func (m *market) recentTrades(name string, limit int) []tick {
	m.lock()
	defer m.mu.Unlock()
	t := m.history[name]
	if t == nil {
		return nil
	}
	return t.recent(limit)
}

// candleSpan is a kline interval: align returns the open time of the
// candle holding t, next the open time of the candle after the one
// opening at open.
type candleSpan struct {
	align func(t time.Time) time.Time
	next  func(open time.Time) time.Time
}

// fixedSpan is an interval of fixed length d, aligned to offset after the
// Unix epoch (weeks start on Monday, four days after it).
func fixedSpan(d, offset time.Duration) candleSpan {
	return candleSpan{
		align: func(t time.Time) time.Time {
			ms := t.UnixMilli() - offset.Milliseconds()
			step := d.Milliseconds()
			q := ms / step
			if ms < 0 && ms%step != 0 {
				q--
			}
			return time.UnixMilli(q*step + offset.Milliseconds())
		},
		next: func(open time.Time) time.Time { return open.Add(d) },
	}
}

// monthSpan is the calendar month (UTC).
var monthSpan = candleSpan{
	align: func(t time.Time) time.Time {
		u := t.UTC()
		return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
	},
	next: func(open time.Time) time.Time { return open.UTC().AddDate(0, 1, 0) },
}

// candles returns up to limit candles of span for symbol. With from set
// (non-zero) they start at the candle holding from; otherwise they are the
// latest ones ending with the candle holding to (now when zero). No candle
// opens before the market started or after now.
func (m *market) candles(name string, span candleSpan, from, to time.Time, limit int) ([]candle, bool) {
	m.lock()
	defer m.mu.Unlock()
	t := m.history[name]
	if t == nil {
		return nil, false
	}
	now := m.now()
	first := span.align(m.started)
	if to.IsZero() || to.After(now) {
		to = now
	}
	var opens []time.Time
	if !from.IsZero() {
		o := span.align(from)
		if o.Before(first) {
			o = first
		}
		for ; !o.After(to) && len(opens) < limit; o = span.next(o) {
			opens = append(opens, o)
		}
	} else {
		last := span.align(to)
		var rev []time.Time
		for o := last; !o.Before(first) && len(rev) < limit; {
			rev = append(rev, o)
			// the candle before o opens where o's predecessor aligns
			o = span.align(o.Add(-time.Millisecond))
		}
		for i := len(rev) - 1; i >= 0; i-- {
			opens = append(opens, rev[i])
		}
	}
	out := make([]candle, 0, len(opens))
	for _, o := range opens {
		out = append(out, t.candleAt(o, span.next(o)))
	}
	return out, true
}

// book returns up to n levels of each side of symbol's book, best first,
// and its update id. A side with unlimited liquidity shows its best price
// with unlimited (nil: zero) as the quantity.
func (m *market) book(name string, n int, unlimited decimal.Decimal) (bids, asks []level, updateID int64, ok bool) {
	m.lock()
	defer m.mu.Unlock()
	s := m.symbols[name]
	if s == nil {
		return nil, nil, 0, false
	}
	side := func(taker exchange.Side) []level {
		lv := takerLevels(s, taker)
		if len(lv) > n {
			lv = lv[:n]
		}
		for i := range lv {
			if lv[i].qty.IsZero() {
				lv[i].qty = unlimited
			}
		}
		return lv
	}
	return side(exchange.Sell), side(exchange.Buy), m.tape(name).n, true
}

// allOrders returns copies of an account's orders on symbol, oldest first.
func (m *market) allOrders(accountID, symbol string) []order {
	m.lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return nil
	}
	var out []order
	for _, o := range sortedOrders(a, symbol, false) {
		out = append(out, *o)
	}
	return out
}

// assets returns every asset the market lists or an account holds, sorted.
func (m *market) assets(accountID string) []string {
	m.lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	for _, s := range m.symbols {
		seen[s.Base], seen[s.Quote] = true, true
	}
	if a := m.accounts[accountID]; a != nil {
		for asset := range a.balances {
			seen[asset] = true
		}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
