package exchangetest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBinanceStopLimitRestsUntilTriggered: a STOP_LOSS_LIMIT buy rests
// untriggered (isWorking false, its stop price in the answer, its funds
// locked) while the price stays below its stop, even under its limit
// price; once the price reaches the stop it works as a limit order and
// fills at its price. A TAKE_PROFIT_LIMIT sell triggers the other way.
func TestBinanceStopLimitRestsUntilTriggered(t *testing.T) {
	b, c, _ := newSim(t)
	a := c.signed(http.MethodPost, "/api/v3/order",
		"symbol=BTCUSDT&side=BUY&type=STOP_LOSS_LIMIT&timeInForce=GTC&quantity=0.1&price=50600&stopPrice=50500&newClientOrderId=stop-1")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, "NEW", a.str(t, "status"))
	requireDec(t, "5060", balanceOf(t, b, "trader", "USDT").Locked)
	query := func(cid string) answer {
		return c.signed(http.MethodGet, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId="+cid)
	}
	got := query("stop-1")
	require.Equal(t, "50500.00000000", got.str(t, "stopPrice"))
	require.Equal(t, false, got.obj(t)["isWorking"])

	b.SetPrice("BTCUSDT", dec("50400")) // under the limit, below the stop
	require.Equal(t, "NEW", query("stop-1").str(t, "status"))
	b.SetPrice("BTCUSDT", dec("50500"))
	got = query("stop-1")
	require.Equal(t, "FILLED", got.str(t, "status"))
	require.Equal(t, "5060.00000000", got.str(t, "cummulativeQuoteQty"))

	a = c.signed(http.MethodPost, "/api/v3/order",
		"symbol=BTCUSDT&side=SELL&type=TAKE_PROFIT_LIMIT&timeInForce=GTC&quantity=0.1&price=50900&stopPrice=51000&newClientOrderId=take-1")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	b.SetPrice("BTCUSDT", dec("50950")) // above the limit, below the stop
	require.Equal(t, "NEW", query("take-1").str(t, "status"))
	b.SetPrice("BTCUSDT", dec("51000"))
	require.Equal(t, "FILLED", query("take-1").str(t, "status"))
}

// TestBinanceStopLimitRefusals: the parameters Binance requires and
// refuses for stop-limit orders, and an order its price has triggered
// already.
func TestBinanceStopLimitRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, params string
		code         int
		msg          string
	}{
		{"no stopPrice", "symbol=BTCUSDT&side=BUY&type=STOP_LOSS_LIMIT&timeInForce=GTC&quantity=0.01&price=50600", -1102, "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed."},
		{"stopPrice on limit", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=49000&stopPrice=48000", -1106, "Parameter 'stopPrice' sent when not required."},
		{"stop off tick", "symbol=BTCUSDT&side=BUY&type=STOP_LOSS_LIMIT&timeInForce=GTC&quantity=0.01&price=50600&stopPrice=50500.005", -1013, "Filter failure: PRICE_FILTER"},
		{"would trigger", "symbol=BTCUSDT&side=BUY&type=STOP_LOSS_LIMIT&timeInForce=GTC&quantity=0.01&price=50600&stopPrice=49000", -2010, "Order would trigger immediately."},
		{"take profit would trigger", "symbol=BTCUSDT&side=SELL&type=TAKE_PROFIT_LIMIT&timeInForce=GTC&quantity=0.01&price=49000&stopPrice=49500", -2010, "Order would trigger immediately."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, c, _ := newSim(t)
			a := c.signed(http.MethodPost, "/api/v3/order", tc.params)
			require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
			require.Equal(t, tc.code, a.code(t), "%s", a.body)
			require.Equal(t, tc.msg, a.str(t, "msg"))
			require.EqualValues(t, 0, b.OrdersPlaced())
		})
	}
}
