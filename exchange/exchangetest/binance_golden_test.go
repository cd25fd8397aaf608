package exchangetest

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// golden reads testdata/binance/golden/NAME.json: a documented example
// response and the page it comes from.
func golden(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "binance", "golden", name+".json"))
	require.NoError(t, err)
	var g struct {
		Source  string `json:"source"`
		Example any    `json:"example"`
	}
	require.NoError(t, json.Unmarshal(b, &g))
	require.NotEmpty(t, g.Source, "%s names no source", name)
	return g.Example
}

// shapeDiff reports how got differs in shape from the documented example
// doc: every field of doc must be in got with the same JSON type. Arrays
// whose elements share one type are lists (each element of got is checked
// against doc's first); arrays of mixed types (klines) are tuples, checked
// position by position. got may carry fields doc lacks (newer fields).
// The rules are shapeRules' (golden_shape_test.go), with newer fields and
// empty lists admitted.
func shapeDiff(doc, got any, path string) error {
	if d := (shapeRules{extraOK: true, emptyOK: true, nullOnly: true}).diff(doc, got, path); len(d) > 0 {
		return errors.New(d[0])
	}
	return nil
}

func decodeAny(t *testing.T, a answer) any {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	var v any
	require.NoError(t, json.Unmarshal(a.body, &v), "%s", a.body)
	return v
}

func TestShapeDiffCatchesDifferences(t *testing.T) {
	doc := map[string]any{"a": "1", "b": []any{[]any{float64(1), "x"}}, "c": []any{map[string]any{"d": true}}}
	require.NoError(t, shapeDiff(doc, map[string]any{"a": "2", "b": []any{[]any{float64(3), "y"}}, "c": []any{}, "extra": 1.0}, ""))
	require.Error(t, shapeDiff(doc, map[string]any{"a": 1.0, "b": []any{}, "c": []any{}}, ""), "number for string")
	require.Error(t, shapeDiff(doc, map[string]any{"b": []any{}, "c": []any{}}, ""), "missing field")
	require.Error(t, shapeDiff(doc, map[string]any{"a": "1", "b": []any{[]any{float64(3)}}, "c": []any{}}, ""), "short tuple")
	require.Error(t, shapeDiff(doc, map[string]any{"a": "1", "b": []any{}, "c": []any{map[string]any{"d": "true"}}}, ""), "string for bool")
}

// TestBinanceGoldenShapes checks every answer the clients read against the
// documented example of its endpoint.
func TestBinanceGoldenShapes(t *testing.T) {
	_, c, _ := newSim(t)
	full := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001")
	resting := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=40000&newClientOrderId=rest-1")
	require.Equal(t, http.StatusOK, resting.status, "%s", resting.body)
	query := c.signed(http.MethodGet, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=rest-1")
	all := c.signed(http.MethodGet, "/api/v3/allOrders", "symbol=BTCUSDT")
	open := c.signed(http.MethodGet, "/api/v3/openOrders", "symbol=BTCUSDT")
	cancel := c.signed(http.MethodDelete, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=rest-1")
	info := decodeAny(t, c.get("/api/v3/exchangeInfo", "symbol=BTCUSDT")).(map[string]any)

	for _, tc := range []struct {
		golden string
		got    any
	}{
		{"depth", decodeAny(t, c.get("/api/v3/depth", "symbol=BTCUSDT&limit=5"))},
		{"depth", decodeAny(t, c.get("/api/v3/depth", "symbol=THINUSDT"))},
		{"trades", decodeAny(t, c.get("/api/v3/trades", "symbol=BTCUSDT"))},
		{"trades", decodeAny(t, c.get("/api/v3/historicalTrades", "symbol=BTCUSDT"))},
		{"klines", decodeAny(t, c.get("/api/v3/uiKlines", "symbol=BTCUSDT&interval=1m"))},
		{"accountCommission", decodeAny(t, c.signed(http.MethodGet, "/api/v3/account/commission", "symbol=BTCUSDT"))},
		{"tradeFee", decodeAny(t, c.signed(http.MethodGet, "/sapi/v1/asset/tradeFee", ""))},
		{"aggTrades", decodeAny(t, c.get("/api/v3/aggTrades", "symbol=BTCUSDT"))},
		{"klines", decodeAny(t, c.get("/api/v3/klines", "symbol=BTCUSDT&interval=1m"))},
		{"ticker24hr", decodeAny(t, c.get("/api/v3/ticker/24hr", "symbol=BTCUSDT"))},
		{"ticker24hrMini", decodeAny(t, c.get("/api/v3/ticker/24hr", "symbol=BTCUSDT&type=MINI"))},
		{"tickerPrice", decodeAny(t, c.get("/api/v3/ticker/price", "symbol=BTCUSDT"))},
		{"bookTicker", decodeAny(t, c.get("/api/v3/ticker/bookTicker", "symbol=BTCUSDT"))},
		{"orderFull", decodeAny(t, full)},
		{"queryOrder", decodeAny(t, query)},
		{"cancelOrder", decodeAny(t, cancel)},
		{"allOrders", decodeAny(t, all)},
		{"allOrders", decodeAny(t, open)},
		{"account", decodeAny(t, c.signed(http.MethodGet, "/api/v3/account", ""))},
		{"myTrades", decodeAny(t, c.signed(http.MethodGet, "/api/v3/myTrades", "symbol=BTCUSDT"))},
		{"capitalGetall", decodeAny(t, c.signed(http.MethodGet, "/sapi/v1/capital/config/getall", ""))},
		{"exchangeInfoSymbol", info["symbols"].([]any)[0]},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			got := tc.got
			if l, ok := got.([]any); ok {
				require.NotEmpty(t, l, "an empty answer checks no shape")
			}
			require.NoError(t, shapeDiff(golden(t, tc.golden), got, tc.golden))
		})
	}
}
