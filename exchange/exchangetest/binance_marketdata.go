package exchangetest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/shopspring/decimal"
)

// The market-data, order-history, wallet and margin endpoints CCXT and
// go-binance call. Shapes and weights follow the Binance Spot API
// documentation:
//
//	https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints
//	https://developers.binance.com/docs/binance-spot-api-docs/rest-api/account-endpoints
//	https://developers.binance.com/docs/wallet/capital/all-coins-info
//	https://developers.binance.com/docs/margin_trading/market-data/Get-All-Cross-Margin-Pairs
//	https://developers.binance.com/docs/margin_trading/market-data/Get-All-Isolated-Margin-Symbol
//
// testdata/binance/golden holds the documented examples; the golden tests
// check that every answer here has their fields and JSON types.

// intParam reads an optional integer parameter in [min, max]; def when
// absent. A value that is not an integer or is out of range is refused
// with -1100 naming the range, as the venue does.
func intParam(p exchange.Params, name string, def, min, max int64) (int64, *apiError) {
	v, ok := p.Get(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min || n > max {
		return 0, &apiError{http.StatusBadRequest, -1100, "Illegal characters found in parameter '" + name + "'; legal range is '" +
			strconv.FormatInt(min, 10) + "' to '" + strconv.FormatInt(max, 10) + "'."}
	}
	return n, nil
}

// timeParam reads an optional time in Unix milliseconds (zero time when
// absent).
func timeParam(p exchange.Params, name string) (time.Time, *apiError) {
	if !p.Has(name) {
		return time.Time{}, nil
	}
	n, aerr := intParam(p, name, 0, 0, 1<<53)
	if aerr != nil {
		return time.Time{}, aerr
	}
	return time.UnixMilli(n), nil
}

// depthWeight is the weight of GET /api/v3/depth for its limit.
func depthWeight(p exchange.Params) int {
	limit := int64(100)
	if v, ok := p.Get("limit"); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			limit = n
		}
	}
	switch {
	case limit <= 100:
		return 5
	case limit <= 500:
		return 25
	case limit <= 1000:
		return 50
	}
	return 250
}

// maxDepth is the deepest book the venue serves; deeper limits are
// truncated to it.
const maxDepth = 5000

func (b *Binance) depth(c *call) (any, *apiError) {
	s, aerr := b.symbolParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	limit, aerr := intParam(c.params, "limit", 100, 1, 1<<31-1)
	if aerr != nil {
		return nil, aerr
	}
	bids, asks, id, _ := b.mkt.book(s.Symbol, int(min(limit, maxDepth)), unlimitedQty)
	side := func(lv []level) [][2]string {
		out := make([][2]string, 0, len(lv))
		for _, l := range lv {
			out = append(out, [2]string{fx(l.price), fx(l.qty)})
		}
		return out
	}
	return map[string]any{"lastUpdateId": id, "bids": side(bids), "asks": side(asks)}, nil
}

// ticker24Weight is the weight of GET /api/v3/ticker/24hr: by the number
// of symbols asked for, the most for all.
func ticker24Weight(p exchange.Params) int {
	if p.Has("symbol") {
		return 2
	}
	n := 0
	if v, ok := p.Get("symbols"); ok {
		n = 1
		for i := 0; i < len(v); i++ {
			if v[i] == ',' {
				n++
			}
		}
	}
	switch {
	case n == 0 || n > 100:
		return 80
	case n > 20:
		return 40
	}
	return 2
}

func (b *Binance) ticker24(c *call) (any, *apiError) {
	syms, single, aerr := b.symbolsParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	mini := false
	if v, ok := c.params.Get("type"); ok {
		switch v {
		case "FULL":
		case "MINI":
			mini = true
		default:
			return nil, &apiError{http.StatusBadRequest, -1100, "Illegal characters found in parameter 'type'; legal range is 'FULL, MINI'."}
		}
	}
	out := make([]map[string]any, 0, len(syms))
	for _, s := range syms {
		st, _ := b.mkt.symbolStats(s.Symbol, 24*time.Hour)
		t := map[string]any{
			"symbol":      s.Symbol,
			"openPrice":   fx(st.openPrice),
			"highPrice":   fx(st.high),
			"lowPrice":    fx(st.low),
			"lastPrice":   fx(st.last),
			"volume":      fx(st.volume),
			"quoteVolume": fx(st.quoteVolume),
			"openTime":    ms(st.open),
			"closeTime":   ms(st.close),
			"firstId":     st.firstID,
			"lastId":      st.lastID,
			"count":       st.count,
		}
		if !mini {
			change := st.last.Sub(st.openPrice)
			pct := decimal.Zero
			if st.openPrice.Sign() > 0 {
				pct = change.Div(st.openPrice).Mul(decimal.NewFromInt(100))
			}
			avg := st.last
			if st.volume.Sign() > 0 {
				avg = st.quoteVolume.Div(st.volume)
			}
			bid, ask, depth, _ := b.mkt.quote(s.Symbol)
			if depth.IsZero() {
				depth = unlimitedQty
			}
			t["priceChange"] = fx(change)
			t["priceChangePercent"] = pct.StringFixed(3)
			t["weightedAvgPrice"] = fx(avg)
			t["prevClosePrice"] = fx(st.prevClose)
			t["lastQty"] = fx(st.lastQty)
			t["bidPrice"], t["bidQty"] = fx(bid), fx(depth)
			t["askPrice"], t["askQty"] = fx(ask), fx(depth)
		}
		out = append(out, t)
	}
	if single {
		return out[0], nil
	}
	return out, nil
}

// klineSpans are the kline intervals the venue serves.
var klineSpans = map[string]candleSpan{
	"1s":  fixedSpan(time.Second, 0),
	"1m":  fixedSpan(time.Minute, 0),
	"3m":  fixedSpan(3*time.Minute, 0),
	"5m":  fixedSpan(5*time.Minute, 0),
	"15m": fixedSpan(15*time.Minute, 0),
	"30m": fixedSpan(30*time.Minute, 0),
	"1h":  fixedSpan(time.Hour, 0),
	"2h":  fixedSpan(2*time.Hour, 0),
	"4h":  fixedSpan(4*time.Hour, 0),
	"6h":  fixedSpan(6*time.Hour, 0),
	"8h":  fixedSpan(8*time.Hour, 0),
	"12h": fixedSpan(12*time.Hour, 0),
	"1d":  fixedSpan(24*time.Hour, 0),
	"3d":  fixedSpan(3*24*time.Hour, 0),
	"1w":  fixedSpan(7*24*time.Hour, 4*24*time.Hour), // weeks open on Monday
	"1M":  monthSpan,
}

// klines serves candles built from the simulated market's history: no
// candle opens before the simulator started. The simulator keeps UTC:
// a timeZone other than UTC is refused.
func (b *Binance) klines(c *call) (any, *apiError) {
	s, aerr := b.symbolParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	iv, ok := c.params.Get("interval")
	if !ok || iv == "" {
		return nil, errMandatory("interval")
	}
	span, ok := klineSpans[iv]
	if !ok {
		return nil, &apiError{http.StatusBadRequest, -1120, "Invalid interval."}
	}
	if tz, ok := c.params.Get("timeZone"); ok {
		switch tz {
		case "0", "+0", "-0", "00:00", "+00:00", "-00:00", "0:00", "+0:00":
		default:
			return nil, &apiError{http.StatusBadRequest, -1100, "Illegal characters found in parameter 'timeZone'; the simulator serves UTC klines only."}
		}
	}
	from, aerr := timeParam(c.params, "startTime")
	if aerr != nil {
		return nil, aerr
	}
	to, aerr := timeParam(c.params, "endTime")
	if aerr != nil {
		return nil, aerr
	}
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		return nil, &apiError{http.StatusBadRequest, -1023, "Start time is greater than end time."}
	}
	limit, aerr := intParam(c.params, "limit", 500, 1, 1<<31-1)
	if aerr != nil {
		return nil, aerr
	}
	cs, _ := b.mkt.candles(s.Symbol, span, from, to, int(min(limit, 1000)))
	out := make([][]any, 0, len(cs))
	for _, k := range cs {
		if !to.IsZero() && k.open.After(to) {
			break
		}
		out = append(out, []any{
			ms(k.open), fx(k.o), fx(k.h), fx(k.l), fx(k.c), fx(k.volume), ms(k.close),
			fx(k.quoteVolume), k.trades, fx(k.takerBuyBase), fx(k.takerBuyQuote), "0",
		})
	}
	return out, nil
}

// recentTrades serves GET /api/v3/trades: the symbol's latest public
// trades (every account's fills), oldest first.
func (b *Binance) recentTrades(c *call) (any, *apiError) {
	s, aerr := b.symbolParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	limit, aerr := intParam(c.params, "limit", 500, 1, 1<<31-1)
	if aerr != nil {
		return nil, aerr
	}
	out := []publicTradeJSON{}
	for _, t := range b.mkt.recentTrades(s.Symbol, int(min(limit, 1000))) {
		out = append(out, publicTrade(t))
	}
	return out, nil
}

// publicTradeJSON is a trade of GET /api/v3/trades and historicalTrades.
type publicTradeJSON struct {
	ID           int64  `json:"id"`
	Price        string `json:"price"`
	Qty          string `json:"qty"`
	QuoteQty     string `json:"quoteQty"`
	Time         int64  `json:"time"`
	IsBuyerMaker bool   `json:"isBuyerMaker"`
	IsBestMatch  bool   `json:"isBestMatch"`
}

func publicTrade(t tick) publicTradeJSON {
	return publicTradeJSON{t.tradeID, fx(t.price), fx(t.qty), fx(t.qty.Mul(t.price)), ms(t.time), t.buyerMaker, true}
}

// historicalTrades serves GET /api/v3/historicalTrades: trades from fromId
// on, or the latest.
func (b *Binance) historicalTrades(c *call) (any, *apiError) {
	s, aerr := b.symbolParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	limit, aerr := intParam(c.params, "limit", 500, 1, 1<<31-1)
	if aerr != nil {
		return nil, aerr
	}
	fromID, aerr := intParam(c.params, "fromId", 0, 0, 1<<62)
	if aerr != nil {
		return nil, aerr
	}
	n := int(min(limit, 1000))
	want := n
	if c.params.Has("fromId") {
		want = maxTape * 2
	}
	out := []publicTradeJSON{}
	for _, t := range b.mkt.recentTrades(s.Symbol, want) {
		if c.params.Has("fromId") && t.tradeID < fromID {
			continue
		}
		out = append(out, publicTrade(t))
		if len(out) == n {
			break
		}
	}
	return out, nil
}

// commissionRates serves GET /api/v3/account/commission: the account's
// rates on a symbol; the simulator has no tax and no BNB discount.
func (b *Binance) commissionRates(c *call) (any, *apiError) {
	s, aerr := b.symbolParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	zero := fx(decimal.Zero)
	return map[string]any{
		"symbol": s.Symbol,
		"standardCommission": map[string]string{
			"maker": fx(b.mkt.makerFee), "taker": fx(b.mkt.takerFee), "buyer": zero, "seller": zero,
		},
		"taxCommission": map[string]string{"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
		"discount": map[string]any{
			"enabledForAccount": false, "enabledForSymbol": false, "discountAsset": "BNB", "discount": zero,
		},
	}, nil
}

// tradeFee serves GET /sapi/v1/asset/tradeFee: maker and taker rates of
// one symbol or all.
func (b *Binance) tradeFee(c *call) (any, *apiError) {
	syms := b.mkt.symbolList()
	if c.params.Has("symbol") {
		s, aerr := b.symbolParam(c.params)
		if aerr != nil {
			return nil, aerr
		}
		syms = []Symbol{s}
	}
	out := make([]map[string]string, 0, len(syms))
	for _, s := range syms {
		out = append(out, map[string]string{
			"symbol": s.Symbol, "makerCommission": b.mkt.makerFee.String(), "takerCommission": b.mkt.takerFee.String(),
		})
	}
	return out, nil
}

// aggTrades serves GET /api/v3/aggTrades. Each fill of the simulated
// market is one taker order at one price level, so every aggregate trade
// holds exactly one trade.
func (b *Binance) aggTrades(c *call) (any, *apiError) {
	s, aerr := b.symbolParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	fromID, aerr := intParam(c.params, "fromId", 0, 0, 1<<62)
	if aerr != nil {
		return nil, aerr
	}
	from, aerr := timeParam(c.params, "startTime")
	if aerr != nil {
		return nil, aerr
	}
	to, aerr := timeParam(c.params, "endTime")
	if aerr != nil {
		return nil, aerr
	}
	if !from.IsZero() && !to.IsZero() && to.Sub(from) > time.Hour {
		return nil, &apiError{http.StatusBadRequest, -1127, "More than 1 hours between startTime and endTime."}
	}
	limit, aerr := intParam(c.params, "limit", 500, 1, 1<<31-1)
	if aerr != nil {
		return nil, aerr
	}
	type aggJSON struct {
		A int64  `json:"a"`
		P string `json:"p"`
		Q string `json:"q"`
		F int64  `json:"f"`
		L int64  `json:"l"`
		T int64  `json:"T"`
		M bool   `json:"m"`
		B bool   `json:"M"`
	}
	out := []aggJSON{}
	n := int(min(limit, 1000))
	all := fromID > 0 || !from.IsZero() || !to.IsZero()
	want := n
	if all {
		want = maxTape * 2
	}
	for _, t := range b.mkt.recentTrades(s.Symbol, want) {
		switch {
		case fromID > 0 && t.tradeID < fromID,
			!from.IsZero() && t.time.Before(from),
			!to.IsZero() && t.time.After(to):
			continue
		}
		out = append(out, aggJSON{t.tradeID, fx(t.price), fx(t.qty), t.tradeID, t.tradeID, ms(t.time), t.buyerMaker, true})
		if len(out) == n {
			break
		}
	}
	return out, nil
}

// allOrders serves GET /api/v3/allOrders: the account's orders on a
// symbol, oldest first, from orderId on or within [startTime, endTime].
func (b *Binance) allOrders(c *call) (any, *apiError) {
	s, aerr := b.symbolParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	fromID, aerr := intParam(c.params, "orderId", 0, 0, 1<<62)
	if aerr != nil {
		return nil, aerr
	}
	from, aerr := timeParam(c.params, "startTime")
	if aerr != nil {
		return nil, aerr
	}
	to, aerr := timeParam(c.params, "endTime")
	if aerr != nil {
		return nil, aerr
	}
	if !from.IsZero() && !to.IsZero() && to.Sub(from) > 24*time.Hour {
		return nil, &apiError{http.StatusBadRequest, -1127, "More than 24 hours between startTime and endTime."}
	}
	limit, aerr := intParam(c.params, "limit", 500, 1, 1000)
	if aerr != nil {
		return nil, aerr
	}
	out := []orderJSON{}
	for _, o := range b.mkt.allOrders(c.apiKey, s.Symbol) {
		switch {
		case fromID > 0 && o.id < fromID,
			!from.IsZero() && o.created.Before(from),
			!to.IsZero() && o.created.After(to):
			continue
		}
		out = append(out, queryOrderJSON(&o))
		if int64(len(out)) == limit {
			break
		}
	}
	return out, nil
}

// capitalConfig serves GET /sapi/v1/capital/config/getall: every asset
// of the simulated market with the account's balance and one network
// named after the asset, deposits and withdrawals enabled.
func (b *Binance) capitalConfig(c *call) (any, *apiError) {
	bal := map[string]exchange.Balance{}
	for _, bl := range b.mkt.balances(c.apiKey) {
		bal[bl.Asset] = bl
	}
	out := make([]map[string]any, 0)
	for _, asset := range b.mkt.assets(c.apiKey) {
		bl := bal[asset]
		out = append(out, map[string]any{
			"coin": asset, "name": asset,
			"depositAllEnable": true, "withdrawAllEnable": true,
			"free": fx(bl.Free), "locked": fx(bl.Locked),
			"freeze": fx(decimal.Zero), "withdrawing": fx(decimal.Zero), "ipoing": fx(decimal.Zero),
			"ipoable": fx(decimal.Zero), "storage": fx(decimal.Zero),
			"isLegalMoney": false, "trading": true,
			"networkList": []map[string]any{{
				"network": asset, "coin": asset, "name": asset,
				"withdrawIntegerMultiple": "0.00000001", "isDefault": true,
				"depositEnable": true, "withdrawEnable": true,
				"depositDesc": "", "withdrawDesc": "", "specialTips": "", "specialWithdrawTips": "",
				"resetAddressStatus": false, "addressRegex": "^[0-9A-Za-z]{20,64}$", "memoRegex": "",
				"withdrawFee": "0", "withdrawMin": "0.00000001", "withdrawMax": "9999999999",
				"withdrawInternalMin": "0.00000001", "depositDust": "0.00000001",
				"minConfirm": 1, "unLockConfirm": 0, "sameAddress": false, "withdrawTag": false,
				"estimatedArrivalTime": 1, "busy": false,
				"contractAddressUrl": "", "contractAddress": "",
			}},
		})
	}
	return out, nil
}

// noMarginPairs serves the cross and isolated margin pair lists: the
// simulated venue is spot-only and lists no margin pairs.
func (b *Binance) noMarginPairs(*call) (any, *apiError) { return []any{}, nil }

// futuresExchangeInfo serves the USDⓈ-M and COIN-M futures exchangeInfo
// CCXT's loadMarkets asks for alongside the spot one when every urls.api
// entry points at the simulator: the simulated venue lists no futures.
func (b *Binance) futuresExchangeInfo(*call) (any, *apiError) {
	return map[string]any{
		"timezone": "UTC", "serverTime": ms(b.now()),
		"rateLimits": []any{}, "exchangeFilters": []any{}, "assets": []any{}, "symbols": []any{},
	}, nil
}
