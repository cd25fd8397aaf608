package exchangetest

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Coinbase's market data (public under /api/v3/brokerage/market and
// private beside it), the fee tier, and the Coinbase App v2 endpoints
// clients call at start (currencies, exchange rates, time, accounts).
// Shapes follow the Advanced Trade API reference,
// https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/,
// and the Coinbase App "Track APIs",
// https://docs.cdp.coinbase.com/coinbase-app/track-apis/, as cited on each
// handler.

// Coinbase Advanced's fee rates at the lowest volume tier.
var (
	cbDefaultMaker = decimal.RequireFromString("0.006")
	cbDefaultTaker = decimal.RequireFromString("0.012")
)

// cbPublicProducts serves GET /api/v3/brokerage/market/products
// (products/list-public-products): the spot products, none for
// product_type FUTURE.
func (cb *Coinbase) cbPublicProducts(c *cbCall) cbAnswer {
	q := c.r.URL.Query()
	if t := q.Get("product_type"); t != "" && t != "SPOT" {
		if t != "FUTURE" && t != "UNKNOWN_PRODUCT_TYPE" {
			return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "product_type is invalid")
		}
		return cbAnswer{http.StatusOK, map[string]any{"products": []any{}, "num_products": 0}}
	}
	return cb.cbProducts(c)
}

// cbBook serves GET /api/v3/brokerage/product_book and its public twin
// /market/product_book (products/get-product-book): the synthetic book
// best first, up to limit levels a side.
func (cb *Coinbase) cbBook(c *cbCall) cbAnswer {
	q := c.r.URL.Query()
	id := q.Get("product_id")
	limit := wholeBook
	if v := q.Get("limit"); v != "" && v != "0" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "limit is invalid")
		}
		limit = n
	}
	bids, asks, _, ok := cb.mkt.book(id, limit, unlimitedDepth)
	if !ok {
		return cbFail(http.StatusNotFound, "NOT_FOUND", "ProductID is invalid")
	}
	type lvl struct {
		Price string `json:"price"`
		Size  string `json:"size"`
	}
	side := func(ls []level) []lvl {
		out := make([]lvl, len(ls))
		for i, l := range ls {
			out[i] = lvl{l.price.String(), l.qty.String()}
		}
		return out
	}
	sym, _ := cb.mkt.symbol(id)
	bid, ask := bids[0].price, asks[0].price
	mid := bid.Add(ask).Div(decimal.NewFromInt(2))
	spread := ask.Sub(bid)
	bps := decimal.Zero
	if mid.Sign() > 0 {
		bps = spread.Div(mid).Mul(decimal.NewFromInt(10000)).Round(4)
	}
	return cbAnswer{http.StatusOK, map[string]any{
		"pricebook": map[string]any{"product_id": id, "bids": side(bids), "asks": side(asks), "time": cbTimeString(cb.now())},
		"last":      sym.Price.String(), "mid_market": mid.String(), "spread_bps": bps.String(), "spread_absolute": spread.String(),
	}}
}

// cbTicker serves GET /api/v3/brokerage/products/{id}/ticker and its public
// twin (products/get-market-trades): the newest trades, newest first, and
// the best bid and ask. A market without trades shows its last price as
// one trade of size 0 at the time of the request.
func (cb *Coinbase) cbTicker(c *cbCall) cbAnswer {
	sym, ok := cb.mkt.symbol(c.id)
	if !ok {
		return cbFail(http.StatusNotFound, "NOT_FOUND", "ProductID is invalid")
	}
	limit := 100
	if v := c.r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "limit is invalid")
		}
		limit = min(n, 1000)
	}
	bid, ask, _, _ := cb.mkt.quote(c.id)
	trades := []map[string]any{}
	all := cb.mkt.recentTrades(c.id, limit)
	for i := len(all) - 1; i >= 0; i-- {
		t := all[i]
		side := "BUY"
		if t.buyerMaker {
			side = "SELL"
		}
		trades = append(trades, map[string]any{"trade_id": strconv.FormatInt(t.tradeID, 10), "product_id": c.id,
			"price": t.price.String(), "size": t.qty.String(), "time": cbTimeString(t.time), "side": side, "exchange": "coinbase"})
	}
	if len(all) == 0 || !all[len(all)-1].price.Equal(sym.Price) {
		last := map[string]any{"trade_id": "0", "product_id": c.id, "price": sym.Price.String(), "size": "0",
			"time": cbTimeString(cb.now()), "side": "UNKNOWN_ORDER_SIDE", "exchange": "coinbase"}
		trades = append([]map[string]any{last}, trades...)
		if len(trades) > limit {
			trades = trades[:limit]
		}
	}
	return cbAnswer{http.StatusOK, map[string]any{"trades": trades, "best_bid": bid.String(), "best_ask": ask.String()}}
}

// cbGranularities are the candle sizes of the candles endpoints.
var cbGranularities = map[string]time.Duration{
	"ONE_MINUTE": time.Minute, "FIVE_MINUTE": 5 * time.Minute, "FIFTEEN_MINUTE": 15 * time.Minute,
	"THIRTY_MINUTE": 30 * time.Minute, "ONE_HOUR": time.Hour, "TWO_HOUR": 2 * time.Hour,
	"FOUR_HOUR": 4 * time.Hour, "SIX_HOUR": 6 * time.Hour, "ONE_DAY": 24 * time.Hour,
}

// cbMaxCandles is the most candles one request may ask for.
const cbMaxCandles = 350

// cbCandles serves GET /api/v3/brokerage/products/{id}/candles and its
// public twin (products/get-product-candles): start and end in Unix
// seconds, newest first.
func (cb *Coinbase) cbCandles(c *cbCall) cbAnswer {
	q := c.r.URL.Query()
	if _, ok := cb.mkt.symbol(c.id); !ok {
		return cbFail(http.StatusNotFound, "NOT_FOUND", "ProductID is invalid")
	}
	iv, ok := cbGranularities[q.Get("granularity")]
	if !ok {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "granularity is invalid")
	}
	start, err1 := strconv.ParseInt(q.Get("start"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("end"), 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "start and end are required Unix seconds, start before end")
	}
	limit := cbMaxCandles
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > cbMaxCandles {
			return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "limit is invalid")
		}
		limit = n
	}
	from, to := time.Unix(start, 0), time.Unix(end, 0)
	if to.Sub(from)/iv > cbMaxCandles {
		return cbFail(http.StatusBadRequest, "INVALID_ARGUMENT", "number of candles requested should be less than 350")
	}
	cs, _ := cb.mkt.candles(c.id, fixedSpan(iv, 0), from, to, limit)
	out := make([]map[string]string, 0, len(cs))
	for i := len(cs) - 1; i >= 0; i-- {
		x := cs[i]
		out = append(out, map[string]string{"start": strconv.FormatInt(x.open.Unix(), 10), "low": x.l.String(),
			"high": x.h.String(), "open": x.o.String(), "close": x.c.String(), "volume": x.volume.String()})
	}
	return cbAnswer{http.StatusOK, map[string]any{"candles": out}}
}

// cbTransactionSummary serves GET /api/v3/brokerage/transaction_summary
// (fees/get-transaction-summary): the account's traded volume and fees and
// the fee tier the simulator charges.
func (cb *Coinbase) cbTransactionSummary(c *cbCall) cbAnswer {
	var vol, fees decimal.Decimal
	for _, t := range cb.mkt.cbTrades(c.key.Name) {
		vol = vol.Add(t.quoteQty)
		fees = fees.Add(t.commission) // in the quote currency
	}
	v, _ := vol.Float64()
	f, _ := fees.Float64()
	return cbAnswer{http.StatusOK, map[string]any{
		"total_volume": v, "total_fees": f,
		"fee_tier": map[string]string{"pricing_tier": "Intro 1", "usd_from": "0", "usd_to": "1000",
			"taker_fee_rate": cb.mkt.takerFee.String(), "maker_fee_rate": cb.mkt.makerFee.String(), "aop_from": "", "aop_to": ""},
		"margin_rate": nil, "goods_and_services_tax": nil,
		"advanced_trade_only_volume": v, "advanced_trade_only_fees": f, "coinbase_pro_volume": 0, "coinbase_pro_fees": 0,
		"total_balance": "", "has_promo_fee": false,
	}}
}

// cbFiat lists the fiat currencies the simulator knows.
var cbFiat = map[string]string{"USD": "US Dollar", "EUR": "Euro", "GBP": "British Pound"}

// v2Currencies serves GET /v2/currencies (coinbase-app/track-apis/
// currencies#get-fiat-currencies).
func (cb *Coinbase) v2Currencies(*cbCall) cbAnswer {
	out := []map[string]string{}
	names := make([]string, 0, len(cbFiat))
	for id := range cbFiat {
		names = append(names, id)
	}
	sort.Strings(names)
	for _, id := range names {
		out = append(out, map[string]string{"id": id, "name": cbFiat[id], "min_size": "0.01"})
	}
	return cbAnswer{http.StatusOK, map[string]any{"data": out}}
}

// v2CryptoCurrencies serves GET /v2/currencies/crypto (coinbase-app/
// track-apis/currencies#get-cryptocurrencies).
func (cb *Coinbase) v2CryptoCurrencies(*cbCall) cbAnswer {
	out := []map[string]any{}
	for i, a := range cb.mkt.assets("") {
		if _, fiat := cbFiat[a]; fiat {
			continue
		}
		out = append(out, map[string]any{"asset_id": accountUUID("asset", a), "code": a, "name": a, "color": "#000000",
			"sort_index": 100 + i, "exponent": 8, "type": "crypto", "address_regex": "^.+$"})
	}
	return cbAnswer{http.StatusOK, map[string]any{"data": out}}
}

// usdPrice returns the price of one unit of asset in USD through the
// simulated products: ASSET-USD, or ASSET-Q and Q-USD for the first quote
// Q (in name order) that has both; false when neither exists.
func (cb *Coinbase) usdPrice(asset string) (decimal.Decimal, bool) {
	if asset == "USD" {
		return decimal.NewFromInt(1), true
	}
	if p, ok := cb.mkt.symbol(asset + "-USD"); ok {
		return p.Price, true
	}
	for _, s := range cb.mkt.symbolList() {
		if s.Base != asset {
			continue
		}
		if q, ok := cb.mkt.symbol(s.Quote + "-USD"); ok {
			return s.Price.Mul(q.Price), true
		}
	}
	return decimal.Zero, false
}

// v2ExchangeRates serves GET /v2/exchange-rates (coinbase-app/track-apis/
// exchange-rates): how much of each currency one unit of currency (USD by
// default) buys, from the simulated prices.
func (cb *Coinbase) v2ExchangeRates(c *cbCall) cbAnswer {
	base := c.r.URL.Query().Get("currency")
	if base == "" {
		base = "USD"
	}
	bp, ok := cb.usdPrice(base)
	if !ok || bp.Sign() <= 0 {
		return cbAnswer{http.StatusBadRequest, map[string]any{"errors": []map[string]string{{"id": "invalid_request", "message": "Invalid currency"}}}}
	}
	rates := map[string]string{}
	for _, a := range cb.mkt.assets("") {
		if p, ok := cb.usdPrice(a); ok && p.Sign() > 0 {
			rates[a] = bp.Div(p).Round(16).String()
		}
	}
	return cbAnswer{http.StatusOK, map[string]any{"data": map[string]any{"currency": base, "rates": rates}}}
}

// v2Time serves GET /v2/time (coinbase-app/track-apis/time).
func (cb *Coinbase) v2Time(*cbCall) cbAnswer {
	now := cb.now()
	return cbAnswer{http.StatusOK, map[string]any{"data": map[string]any{"iso": now.UTC().Format(time.RFC3339), "epoch": now.Unix()}}}
}

// v2Accounts serves GET /v2/accounts (coinbase-app/track-apis/accounts#
// list-accounts): one wallet per currency, newest first, paginated with
// limit (default 25, at most 300) and starting_after (an account id).
func (cb *Coinbase) v2Accounts(c *cbCall) cbAnswer {
	q := c.r.URL.Query()
	limit := 25
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return cbAnswer{http.StatusBadRequest, map[string]any{"errors": []map[string]string{{"id": "invalid_request", "message": "limit is invalid"}}}}
		}
		limit = min(n, 300)
	}
	all := cb.v2AccountList(c.key.Name)
	from := 0
	if after := q.Get("starting_after"); after != "" {
		from = -1
		for i, a := range all {
			if a["id"] == after {
				from = i + 1
			}
		}
		if from < 0 {
			return cbAnswer{http.StatusNotFound, map[string]any{"errors": []map[string]string{{"id": "not_found", "message": "Not found"}}}}
		}
	}
	page := all[from:]
	var next any
	nextURI := any(nil)
	if len(page) > limit {
		page = page[:limit]
		id := page[len(page)-1]["id"].(string)
		next, nextURI = id, "/v2/accounts?limit="+strconv.Itoa(limit)+"&starting_after="+id
	}
	return cbAnswer{http.StatusOK, map[string]any{
		"pagination": map[string]any{"ending_before": nil, "starting_after": nilIfEmpty(q.Get("starting_after")),
			"previous_ending_before": nil, "next_starting_after": next, "limit": limit, "order": "desc",
			"previous_uri": nil, "next_uri": nextURI},
		"data": page,
	}}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// v2AccountList returns a key's v2 accounts. A v2 balance is the whole
// balance, held funds included.
func (cb *Coinbase) v2AccountList(name string) []map[string]any {
	out := []map[string]any{}
	created := cbTimeString(time.Unix(1_600_000_000, 0))
	for i, b := range cb.mkt.balances(name) {
		id := accountUUID(name, b.Asset)
		typ, ctype := "wallet", "crypto"
		if _, fiat := cbFiat[b.Asset]; fiat {
			typ, ctype = "fiat", "fiat"
		}
		out = append(out, map[string]any{
			"id": id, "name": b.Asset + " Wallet", "primary": i == 0, "type": typ,
			"currency": map[string]any{"code": b.Asset, "name": b.Asset, "color": "#000000", "sort_index": 100 + i,
				"exponent": 8, "type": ctype, "address_regex": "^.+$", "asset_id": accountUUID("asset", b.Asset),
				"slug": strings.ToLower(b.Asset)},
			"balance":    map[string]string{"amount": b.Total().String(), "currency": b.Asset},
			"created_at": created, "updated_at": created, "resource": "account", "resource_path": "/v2/accounts/" + id,
			"allow_deposits": true, "allow_withdrawals": true,
		})
	}
	return out
}
