package exchangetest

import (
	"sort"
	"strconv"
	"time"
)

// Order history, for reconciliation: KuCoin's closed orders and symbols
// with open orders.

// openSymbols returns the symbols on which an account has open orders,
// sorted.
func (m *market) openSymbols(accountID string) []string {
	m.lock()
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
	orders := k.mkt.allOrders(c.apiKey, sym)
	items := []map[string]any{}
	for i := len(orders) - 1; i >= 0 && len(items) < limit; i-- {
		if o := &orders[i]; !o.status.Open() && !o.created.Before(since) {
			items = append(items, k.orderJSON(o))
		}
	}
	return map[string]any{"lastId": 0, "items": items}, nil
}
