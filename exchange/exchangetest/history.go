package exchangetest

import (
	"net/http"
	"sort"
	"strconv"
	"time"
)

// Order history, for reconciliation: Binance's allOrders and KuCoin's
// closed orders and symbols with open orders.

// history returns copies of an account's orders on symbol created at or
// after since (the zero time: all), oldest first; closedOnly leaves the
// open ones out.
func (m *market) history(accountID, symbol string, since time.Time, closedOnly bool) []order {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return nil
	}
	var out []order
	for _, o := range sortedOrders(a, symbol, false) {
		if o.created.Before(since) || closedOnly && o.status.Open() {
			continue
		}
		out = append(out, *o)
	}
	return out
}

// openSymbols returns the symbols on which an account has open orders,
// sorted.
func (m *market) openSymbols(accountID string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[accountID]
	if a == nil {
		return nil
	}
	seen := map[string]bool{}
	a.eachOpen(func(o *order) { seen[o.symbol] = true })
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// sinceMillis reads a Unix-millisecond parameter; the zero time when absent.
func sinceMillis(v string, ok bool) (time.Time, bool) {
	if !ok || v == "" {
		return time.Time{}, true
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms < 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// allOrders serves GET /api/v3/allOrders (symbol, startTime; up to limit,
// 500 by default, oldest first).
func (b *Binance) allOrders(c *call) (any, *apiError) {
	s, aerr := b.symbolParam(c.params)
	if aerr != nil {
		return nil, aerr
	}
	since, ok := sinceMillis(c.params.Get("startTime"))
	if !ok {
		return nil, errMandatory("startTime")
	}
	limit := 500
	if v, ok := c.params.Get("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, &apiError{http.StatusBadRequest, -1100, "Illegal characters found in parameter 'limit'."}
		}
		limit = n
	}
	out := []orderJSON{}
	for _, o := range b.mkt.history(c.apiKey, s.Symbol, since, false) {
		if len(out) == limit {
			break
		}
		out = append(out, queryOrderJSON(&o))
	}
	return out, nil
}

// activeSymbols serves GET /api/v1/hf/orders/active/symbols.
func (k *KuCoin) activeSymbols(c *kcCall) (any, *kcError) {
	return map[string]any{"symbols": k.mkt.openSymbols(c.apiKey)}, nil
}

// doneOrders serves GET /api/v1/hf/orders/done (symbol, startAt; newest
// first, up to limit, 20 by default, 100 at most).
func (k *KuCoin) doneOrders(c *kcCall) (any, *kcError) {
	sym, _ := c.query.Get("symbol")
	if sym == "" {
		return nil, kcReject("400100", "symbol is required")
	}
	since, ok := sinceMillis(c.query.Get("startAt"))
	if !ok {
		return nil, kcReject("400100", "startAt is invalid")
	}
	limit := 20
	if v, ok := c.query.Get("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, kcReject("400100", "limit is invalid")
		}
		limit = n
	}
	orders := k.mkt.history(c.apiKey, sym, since, true)
	items := []map[string]any{}
	for i := len(orders) - 1; i >= 0 && len(items) < limit; i-- {
		items = append(items, k.orderJSON(&orders[i]))
	}
	return map[string]any{"lastId": 0, "items": items}, nil
}
