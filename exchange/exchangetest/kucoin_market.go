package exchangetest

import (
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// KuCoin's public market data and the account, margin and configuration
// endpoints clients call at start, answered as the venue answers a
// spot-only classic account. Shapes follow the pages cited on each
// handler, under https://www.kucoin.com/docs-new/rest/.

// kcDefaultFeeRate is KuCoin's base spot fee rate for class A pairs at
// VIP 0, maker and taker.
var kcDefaultFeeRate = decimal.RequireFromString("0.001")

// tickerJSON is one entry of Get All Tickers (spot-trading/market-data/
// get-all-tickers) and, with time instead of the sizes, Get 24hr Stats
// (spot-trading/market-data/get-24hr-stats).
func (k *KuCoin) tickerJSON(sym Symbol) map[string]any {
	bid, ask, depth, _ := k.mkt.quote(sym.Symbol)
	size := unlimitedDepth
	if depth.Sign() > 0 {
		size = depth
	}
	st, _ := k.mkt.symbolStats(sym.Symbol, 24*time.Hour)
	change := st.last.Sub(st.openPrice)
	rate := decimal.Zero
	if st.openPrice.Sign() > 0 {
		rate = change.Div(st.openPrice).Round(4)
	}
	avg := st.last
	if st.volume.Sign() > 0 {
		avg = st.quoteVolume.Div(st.volume).Round(8)
	}
	maker, taker := k.feeRates()
	return map[string]any{
		"symbol": sym.Symbol, "symbolName": sym.Symbol, "buy": kcFx(bid), "bestBidSize": kcFx(size),
		"sell": kcFx(ask), "bestAskSize": kcFx(size), "changeRate": kcFx(rate), "changePrice": kcFx(change),
		"high": kcFx(st.high), "low": kcFx(st.low), "vol": kcFx(st.volume), "volValue": kcFx(st.quoteVolume),
		"last": kcFx(st.last), "averagePrice": kcFx(avg), "takerFeeRate": kcFx(taker), "makerFeeRate": kcFx(maker),
		"takerCoefficient": "1", "makerCoefficient": "1",
	}
}

// feeRates returns the maker and taker rates the simulator charges.
func (k *KuCoin) feeRates() (maker, taker decimal.Decimal) {
	return k.mkt.makerFee, k.mkt.takerFee
}

// allTickers serves GET /api/v1/market/allTickers
// (spot-trading/market-data/get-all-tickers).
func (k *KuCoin) allTickers(*kcCall) (any, *kcError) {
	out := []map[string]any{}
	for _, s := range k.mkt.symbolList() {
		out = append(out, k.tickerJSON(s))
	}
	return map[string]any{"time": k.now().UnixMilli(), "ticker": out}, nil
}

// marketStats serves GET /api/v1/market/stats
// (spot-trading/market-data/get-24hr-stats). An unknown symbol is answered
// as the venue does: code 200000 with the fields empty.
func (k *KuCoin) marketStats(c *kcCall) (any, *kcError) {
	name, _ := c.query.Get("symbol")
	sym, ok := k.mkt.symbol(name)
	if !ok {
		return map[string]any{"time": k.now().UnixMilli(), "symbol": name}, nil
	}
	t := k.tickerJSON(sym)
	delete(t, "symbolName")
	delete(t, "bestBidSize")
	delete(t, "bestAskSize")
	t["time"] = k.now().UnixMilli()
	return t, nil
}

// orderBook serves the part order books GET
// /api/v1/market/orderbook/level2_20 and level2_100
// (spot-trading/market-data/get-part-orderbook) and the full one, GET
// /api/v3/market/orderbook/level2 (spot-trading/market-data/
// get-full-orderbook): bids and asks best first as [price, size].
func kcOrderBook(depth int) func(k *KuCoin, c *kcCall) (any, *kcError) {
	return func(k *KuCoin, c *kcCall) (any, *kcError) {
		name, _ := c.query.Get("symbol")
		bids, asks, seq, ok := k.mkt.book(name, depth, unlimitedDepth)
		if !ok {
			return nil, kcReject("400100", "symbol not exists")
		}
		side := func(ls []level) [][2]string {
			out := make([][2]string, len(ls))
			for i, l := range ls {
				out[i] = [2]string{kcFx(l.price), kcFx(l.qty)}
			}
			return out
		}
		return map[string]any{"time": k.now().UnixMilli(), "sequence": strconv.FormatInt(seq, 10),
			"bids": side(bids), "asks": side(asks)}, nil
	}
}

// kcIntervals are the kline types of GET /api/v1/market/candles.
var kcIntervals = map[string]time.Duration{
	"1min": time.Minute, "3min": 3 * time.Minute, "5min": 5 * time.Minute, "15min": 15 * time.Minute,
	"30min": 30 * time.Minute, "1hour": time.Hour, "2hour": 2 * time.Hour, "4hour": 4 * time.Hour,
	"6hour": 6 * time.Hour, "8hour": 8 * time.Hour, "12hour": 12 * time.Hour, "1day": 24 * time.Hour,
	"1week": 7 * 24 * time.Hour,
}

// kcMaxCandles is how many candles one klines request returns at most.
const kcMaxCandles = 1500

// candles serves GET /api/v1/market/candles (spot-trading/market-data/
// get-klines): [time (s), open, close, high, low, volume, turnover],
// newest first; startAt and endAt are seconds, 0 or absent meaning the
// newest candles.
func (k *KuCoin) candles(c *kcCall) (any, *kcError) {
	name, _ := c.query.Get("symbol")
	typ, _ := c.query.Get("type")
	iv, ok := kcIntervals[typ]
	if !ok {
		return nil, kcReject("400100", "type invalid")
	}
	secs := func(key string) (int64, bool) {
		v, _ := c.query.Get(key)
		if v == "" {
			return 0, true
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil && n >= 0
	}
	startAt, ok1 := secs("startAt")
	endAt, ok2 := secs("endAt")
	if !ok1 || !ok2 {
		return nil, kcReject("400100", "startAt or endAt invalid")
	}
	to := k.now()
	if endAt > 0 {
		to = time.Unix(endAt, 0)
	}
	from := to.Add(-iv * kcMaxCandles)
	if startAt > 0 {
		from = time.Unix(startAt, 0)
	}
	if startAt == 0 {
		from = time.Time{} // the newest candles up to endAt
	}
	cs, ok := k.mkt.candles(name, fixedSpan(iv, 0), from, to, kcMaxCandles)
	if !ok {
		return nil, kcReject("400100", "symbol not exists")
	}
	out := make([][7]string, 0, len(cs))
	for i := len(cs) - 1; i >= 0; i-- {
		x := cs[i]
		out = append(out, [7]string{strconv.FormatInt(x.open.Unix(), 10), kcFx(x.o), kcFx(x.c), kcFx(x.h), kcFx(x.l), kcFx(x.volume), kcFx(x.quoteVolume)})
	}
	return out, nil
}

// histories serves GET /api/v1/market/histories (spot-trading/market-data/
// get-trade-history): the newest 100 trades, oldest first, time in
// nanoseconds, side the taker's.
func (k *KuCoin) histories(c *kcCall) (any, *kcError) {
	name, _ := c.query.Get("symbol")
	if _, ok := k.mkt.symbol(name); !ok {
		return nil, kcReject("400100", "symbol not exists")
	}
	out := []map[string]any{}
	for _, t := range k.mkt.recentTrades(name, 100) {
		side := "buy"
		if t.buyerMaker {
			side = "sell"
		}
		out = append(out, map[string]any{"sequence": strconv.FormatInt(t.tradeID, 10), "price": kcFx(t.price),
			"size": kcFx(t.qty), "side": side, "time": t.time.UnixNano()})
	}
	return out, nil
}

// currencies serves GET /api/v3/currencies (spot-trading/market-data/
// get-all-currencies): every asset of the simulated symbols, with one
// chain named after it on which deposits and withdrawals are open.
func (k *KuCoin) currencies(*kcCall) (any, *kcError) {
	names := k.mkt.assets("")
	out := make([]map[string]any, 0, len(names))
	for _, n := range names {
		out = append(out, k.currencyJSON(n))
	}
	return out, nil
}

func (k *KuCoin) currencyJSON(n string) map[string]any {
	return map[string]any{
		"currency": n, "name": n, "fullName": n, "precision": 8, "confirms": nil, "contractAddress": nil,
		"isMarginEnabled": false, "isDebitEnabled": false,
		"chains": []map[string]any{{
			"chainName": n, "chainId": strings.ToLower(n), "withdrawalMinSize": "0.0001", "depositMinSize": "0.0001",
			"withdrawFeeRate": "0", "withdrawalMinFee": "0", "isWithdrawEnabled": true, "isDepositEnabled": true,
			"confirms": 1, "preConfirms": 1, "contractAddress": "", "withdrawPrecision": 8, "maxWithdraw": nil,
			"maxDeposit": nil, "needTag": false,
		}},
	}
}

// currency serves GET /api/v3/currencies/{currency}
// (spot-trading/market-data/get-currency).
func (k *KuCoin) currency(c *kcCall) (any, *kcError) {
	for _, s := range k.mkt.symbolList() {
		if s.Base == c.param || s.Quote == c.param {
			return k.currencyJSON(c.param), nil
		}
	}
	return nil, kcReject("900003", "Currency not exists")
}

// contractsActive serves the futures host's GET /api/v1/contracts/active
// (futures-trading/market-data/get-all-symbols): the simulator lists no
// futures contracts.
func (k *KuCoin) contractsActive(*kcCall) (any, *kcError) { return []any{}, nil }

// accountMode serves GET /api/ua/v1/account/mode (ua/get-account-mode):
// a classic account, not the unified trading account.
func (k *KuCoin) accountMode(*kcCall) (any, *kcError) {
	return map[string]any{"selfAccountMode": "CLASSIC"}, nil
}

// hfOpened serves GET /api/v1/hf/accounts/opened (account-info/
// account-funding/get-account-type-spot): the key trades on the
// high-frequency routes.
func (k *KuCoin) hfOpened(*kcCall) (any, *kcError) { return true, nil }

// marginSymbols serves GET /api/v3/margin/symbols (margin-trading/
// market-data/get-symbols-cross-margin): no symbol of the simulator is
// margin-enabled.
func (k *KuCoin) marginSymbols(*kcCall) (any, *kcError) {
	return map[string]any{"timestamp": k.now().UnixMilli(), "items": []any{}}, nil
}

// isolatedSymbols serves GET /api/v1/isolated/symbols (margin-trading/
// market-data/get-symbols-isolated-margin): none.
func (k *KuCoin) isolatedSymbols(*kcCall) (any, *kcError) { return []any{}, nil }

// tradeFees serves GET /api/v1/trade-fees (account-info/trade-fee/
// get-actual-fee-spot-margin): the simulator's rates for each symbol
// asked for (at most 10, comma separated).
func (k *KuCoin) tradeFees(c *kcCall) (any, *kcError) {
	list, _ := c.query.Get("symbols")
	names := strings.Split(list, ",")
	if list == "" || len(names) > 10 {
		return nil, kcReject("400100", "symbols invalid")
	}
	maker, taker := k.feeRates()
	out := []map[string]any{}
	for _, n := range names {
		if _, ok := k.mkt.symbol(n); !ok {
			return nil, kcReject("400100", "symbol not exists")
		}
		out = append(out, map[string]any{"symbol": n, "takerFeeRate": kcFx(taker), "makerFeeRate": kcFx(maker)})
	}
	return out, nil
}

// baseFee serves GET /api/v1/base-fee (account-info/trade-fee/
// get-basic-fee-spot-margin).
func (k *KuCoin) baseFee(*kcCall) (any, *kcError) {
	maker, taker := k.feeRates()
	return map[string]any{"takerFeeRate": kcFx(taker), "makerFeeRate": kcFx(maker)}, nil
}

// status serves GET /api/v1/status (spot-trading/market-data/
// get-service-status).
func (k *KuCoin) status(*kcCall) (any, *kcError) {
	return map[string]any{"status": "open", "msg": ""}, nil
}

// activeSymbols serves GET /api/v1/hf/orders/active/symbols
// (spot-trading/orders/get-symbols-with-open-order).
func (k *KuCoin) activeSymbols(c *kcCall) (any, *kcError) {
	syms := []string{}
	for _, s := range k.mkt.symbolList() {
		if len(k.mkt.openOrders(c.apiKey, s.Symbol)) > 0 {
			syms = append(syms, s.Symbol)
		}
	}
	return map[string]any{"symbols": syms}, nil
}
