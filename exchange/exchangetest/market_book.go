package exchangetest

import (
	"sort"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// The venue-neutral market data that the venues' public endpoints answer
// from: the synthetic book both sides deep, the trades every account made,
// and candles built from them.

// unlimitedDepth is the size shown for a level of a symbol without Depth,
// whose best price offers unlimited liquidity.
var unlimitedDepth = decimal.NewFromInt(1000000)

// bookSide returns up to n levels of one side of a symbol's book, best
// first (n <= 0: every level). Bids are the levels a seller meets, asks
// those a buyer meets; a level without a bound shows unlimitedDepth.
func (m *market) bookSide(name string, bids bool, n int) ([]level, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.symbols[name]
	if s == nil {
		return nil, false
	}
	side := exchange.Buy
	if bids {
		side = exchange.Sell
	}
	levels := takerLevels(s, side)
	if n > 0 && len(levels) > n {
		levels = levels[:n]
	}
	out := make([]level, len(levels))
	for i, l := range levels {
		out[i] = l
		if l.qty.Sign() <= 0 {
			out[i].qty = unlimitedDepth
		}
	}
	return out, true
}

// publicTrade is one trade on a symbol as the public trade feed shows it:
// Side is the taker's side.
type publicTrade struct {
	id    int64
	price decimal.Decimal
	qty   decimal.Decimal
	buy   bool // the taker bought
	time  time.Time
}

// symbolTrades returns the trades of every account on symbol, oldest
// first.
func (m *market) symbolTrades(name string) []publicTrade {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []publicTrade
	for _, a := range m.accounts {
		for _, t := range a.trades {
			if t.symbol != name {
				continue
			}
			buy := t.side == exchange.Buy
			if t.maker {
				buy = !buy // the taker was the simulated book, on the other side
			}
			out = append(out, publicTrade{id: t.id, price: t.price, qty: t.qty, buy: buy, time: t.time})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// candle is one kline.
type candle struct {
	open                   time.Time
	o, h, l, c, vol, quote decimal.Decimal
}

// candles returns the candles of interval that start in [from, to), oldest
// first, at most limit of the newest (limit <= 0: no bound). The simulated
// market keeps no price history beyond its trades: a candle opens at the
// price of its first trade, or where the previous candle closed, and the
// newest candle closes at the last price; a candle without trades is flat.
func (m *market) candles(name string, interval time.Duration, from, to time.Time, limit int) ([]candle, bool) {
	sym, ok := m.symbol(name)
	if !ok {
		return nil, false
	}
	trades := m.symbolTrades(name)
	first := from.Truncate(interval)
	if first.Before(from) {
		first = first.Add(interval)
	}
	var starts []time.Time
	for t := first; t.Before(to); t = t.Add(interval) {
		starts = append(starts, t)
	}
	if limit > 0 && len(starts) > limit {
		starts = starts[len(starts)-limit:]
	}
	out := make([]candle, 0, len(starts))
	prev := decimal.Zero
	// The price before the first candle: the last trade before it, or the
	// last price when there was none.
	for _, t := range trades {
		if len(starts) > 0 && t.time.Before(starts[0]) {
			prev = t.price
		}
	}
	if prev.IsZero() {
		prev = sym.Price
	}
	for _, st := range starts {
		c := candle{open: st, o: prev, h: prev, l: prev, c: prev}
		end := st.Add(interval)
		for _, t := range trades {
			if t.time.Before(st) || !t.time.Before(end) {
				continue
			}
			if c.vol.IsZero() {
				c.o, c.h, c.l = t.price, t.price, t.price
			}
			c.h, c.l, c.c = decimal.Max(c.h, t.price), decimal.Min(c.l, t.price), t.price
			c.vol = c.vol.Add(t.qty)
			c.quote = c.quote.Add(t.qty.Mul(t.price))
		}
		out = append(out, c)
		prev = c.c
	}
	if n := len(out); n > 0 && !sym.Price.Equal(out[n-1].c) && !to.Before(m.now()) {
		last := &out[n-1]
		last.c = sym.Price
		last.h, last.l = decimal.Max(last.h, sym.Price), decimal.Min(last.l, sym.Price)
	}
	return out, true
}

// dayStats is a symbol's last 24 hours: the first trade's price (the last
// price when there was none), high, low, last price and volumes.
type dayStats struct {
	open, high, low, last, vol, quoteVol decimal.Decimal
}

// stats24h returns the statistics of symbol over the 24 hours before now,
// from its trades and its last price.
func (m *market) stats24h(name string, now time.Time) (dayStats, bool) {
	sym, ok := m.symbol(name)
	if !ok {
		return dayStats{}, false
	}
	st := dayStats{last: sym.Price, high: sym.Price, low: sym.Price}
	first := true
	for _, t := range m.symbolTrades(name) {
		if t.time.Before(now.Add(-24 * time.Hour)) {
			continue
		}
		if first {
			st.open, first = t.price, false
		}
		st.high, st.low = decimal.Max(st.high, t.price), decimal.Min(st.low, t.price)
		st.vol = st.vol.Add(t.qty)
		st.quoteVol = st.quoteVol.Add(t.qty.Mul(t.price))
	}
	if first {
		st.open = sym.Price
	}
	return st, true
}
