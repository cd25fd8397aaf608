package exchangetest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
	"github.com/stretchr/testify/require"
)

func TestBinancePublicEndpoints(t *testing.T) {
	b, c, _ := newSim(t)
	require.Equal(t, "{}", string(c.get("/api/v3/ping", "").body))
	require.EqualValues(t, start.UnixMilli(), c.get("/api/v3/time", "").obj(t)["serverTime"])

	info := c.get("/api/v3/exchangeInfo", "").obj(t)
	syms := info["symbols"].([]any)
	require.Len(t, syms, 5)
	names := map[string]map[string]any{}
	for _, s := range syms {
		m := s.(map[string]any)
		names[m["symbol"].(string)] = m
	}
	btc := names["BTCUSDT"]
	require.Equal(t, "TRADING", btc["status"])
	require.Equal(t, true, btc["quoteOrderQtyMarketAllowed"])
	require.Equal(t, []any{[]any{"SPOT"}}, btc["permissionSets"])
	filters := map[string]map[string]any{}
	for _, f := range btc["filters"].([]any) {
		m := f.(map[string]any)
		filters[m["filterType"].(string)] = m
	}
	require.Equal(t, "0.01000000", filters["PRICE_FILTER"]["tickSize"])
	require.Equal(t, "0.00001000", filters["LOT_SIZE"]["stepSize"])
	require.Equal(t, "100.00000000", filters["MARKET_LOT_SIZE"]["maxQty"])
	require.Equal(t, "5.00000000", filters["NOTIONAL"]["minNotional"])
	require.EqualValues(t, 200, filters["MAX_NUM_ORDERS"]["maxNumOrders"])
	require.Contains(t, names, "THINUSDT")

	one := c.get("/api/v3/exchangeInfo", `symbols=["ETHBTC","LTCBTC"]`).obj(t)["symbols"].([]any)
	require.Len(t, one, 2)

	bt := c.get("/api/v3/ticker/bookTicker", "symbol=BTCUSDT")
	require.Equal(t, "49999.99000000", bt.str(t, "bidPrice"))
	require.Equal(t, "50000.01000000", bt.str(t, "askPrice"))
	thin := c.get("/api/v3/ticker/bookTicker", "symbol=THINUSDT")
	require.Equal(t, "2000.00000000", thin.str(t, "askQty"))
	require.Len(t, c.get("/api/v3/ticker/bookTicker", "").list(t), 5)

	b.SetPrice("ETHUSDT", dec("3100.5"))
	require.Equal(t, "3100.50000000", c.get("/api/v3/ticker/price", "symbol=ETHUSDT").str(t, "price"))
	require.Equal(t, "3100.50000000", c.get("/api/v3/avgPrice", "symbol=ETHUSDT").str(t, "price"))
	require.Len(t, c.get("/api/v3/ticker/price", "").list(t), 5)

	for _, q := range []string{"symbol=DOGEUSDT", `symbols=["BTCUSDT","NOPE"]`} {
		a := c.get("/api/v3/ticker/price", q)
		require.Equal(t, http.StatusBadRequest, a.status)
		require.Equal(t, -1121, a.code(t))
	}
	a := c.get("/api/v3/nothing", "")
	require.Equal(t, http.StatusNotFound, a.status)
}

func TestBinanceAccount(t *testing.T) {
	_, c, _ := newSim(t)
	a := c.signed(http.MethodGet, "/api/v3/account", "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	m := a.obj(t)
	require.Equal(t, true, m["canTrade"])
	require.Equal(t, false, m["canWithdraw"])
	require.Equal(t, "SPOT", m["accountType"])
	bals := map[string]string{}
	for _, bl := range m["balances"].([]any) {
		x := bl.(map[string]any)
		bals[x["asset"].(string)] = x["free"].(string)
	}
	require.Equal(t, map[string]string{
		"BTC": "1.00000000", "ETH": "10.00000000", "LTC": "100.00000000", "THIN": "100000.00000000", "USDT": "10000.00000000",
	}, bals)
}

func TestBinanceLimitOrderRestsThenFillsOnSetPrice(t *testing.T) {
	b, c, clk := newSim(t)
	a := c.signed(http.MethodPost, "/api/v3/order",
		"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=49000&newClientOrderId=dip-1")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, "NEW", a.str(t, "status"))
	require.Equal(t, "dip-1", a.str(t, "clientOrderId"))
	require.Empty(t, a.obj(t)["fills"])
	usdt := balanceOf(t, b, "trader", "USDT")
	requireDec(t, "5100", usdt.Free)
	requireDec(t, "4900", usdt.Locked)
	require.Len(t, c.signed(http.MethodGet, "/api/v3/openOrders", "symbol=BTCUSDT").list(t), 1)

	b.SetPrice("BTCUSDT", dec("49000.01"))
	require.Equal(t, "NEW", c.signed(http.MethodGet, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=dip-1").str(t, "status"))

	clk.Add(time.Second)
	b.SetPrice("BTCUSDT", dec("48000"))
	got := c.signed(http.MethodGet, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=dip-1")
	require.Equal(t, "FILLED", got.str(t, "status"))
	require.Equal(t, "0.10000000", got.str(t, "executedQty"))
	require.Equal(t, "4900.00000000", got.str(t, "cummulativeQuoteQty"), "a maker fills at its own price")
	requireDec(t, "1.0999", balanceOf(t, b, "trader", "BTC").Free) // 0.1 less the 0.1 % commission
	usdt = balanceOf(t, b, "trader", "USDT")
	requireDec(t, "5100", usdt.Free)
	requireDec(t, "0", usdt.Locked)
	require.Empty(t, c.signed(http.MethodGet, "/api/v3/openOrders", "").list(t))

	trades := c.signed(http.MethodGet, "/api/v3/myTrades", "symbol=BTCUSDT").list(t)
	require.Len(t, trades, 1)
	require.Equal(t, "49000.00000000", trades[0]["price"])
	require.Equal(t, true, trades[0]["isMaker"])
	require.Equal(t, true, trades[0]["isBuyer"])
	require.EqualValues(t, start.Add(time.Second).UnixMilli(), trades[0]["time"])
}

func TestBinanceSellLimitRestsAndCancels(t *testing.T) {
	b, c, _ := newSim(t)
	a := c.signed(http.MethodPost, "/api/v3/order", "symbol=ETHUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=2&price=3500")
	require.Equal(t, "NEW", a.str(t, "status"))
	id := a.obj(t)["orderId"]
	eth := balanceOf(t, b, "trader", "ETH")
	requireDec(t, "8", eth.Free)
	requireDec(t, "2", eth.Locked)

	a = c.signed(http.MethodDelete, "/api/v3/order", fmt.Sprintf("symbol=ETHUSDT&orderId=%v", id))
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, "CANCELED", a.str(t, "status"))
	eth = balanceOf(t, b, "trader", "ETH")
	requireDec(t, "10", eth.Free)
	requireDec(t, "0", eth.Locked)

	a = c.signed(http.MethodDelete, "/api/v3/order", fmt.Sprintf("symbol=ETHUSDT&orderId=%v", id))
	require.Equal(t, -2011, a.code(t), "cancelling a closed order: %s", a.body)
	a = c.signed(http.MethodGet, "/api/v3/order", "symbol=ETHUSDT&orderId=999")
	require.Equal(t, -2013, a.code(t))
	a = c.signed(http.MethodGet, "/api/v3/order", "symbol=ETHUSDT")
	require.Equal(t, -1102, a.code(t))

	// Cancel all.
	for range 3 {
		require.Equal(t, http.StatusOK, c.signed(http.MethodPost, "/api/v3/order", "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=2000").status)
	}
	all := c.signed(http.MethodDelete, "/api/v3/openOrders", "symbol=ETHUSDT")
	require.Equal(t, http.StatusOK, all.status, "%s", all.body)
	require.Len(t, all.list(t), 3)
	requireDec(t, "10000", balanceOf(t, b, "trader", "USDT").Free)
	require.Equal(t, -2011, c.signed(http.MethodDelete, "/api/v3/openOrders", "symbol=ETHUSDT").code(t))
}

func TestBinanceMarketOrders(t *testing.T) {
	b, c, _ := newSim(t)
	// By quote amount: 1000 USDT at the ask 50000.01, down to the 0.00001 step.
	a := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=1000")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, "FILLED", a.str(t, "status"))
	require.Equal(t, "0.01999000", a.str(t, "executedQty"))
	require.Equal(t, "1000.00000000", a.str(t, "origQuoteOrderQty"))
	require.Equal(t, "999.50019990", a.str(t, "cummulativeQuoteQty"))
	fills := a.obj(t)["fills"].([]any)
	require.Len(t, fills, 1)
	require.Equal(t, "50000.01000000", fills[0].(map[string]any)["price"])
	requireDec(t, "1.01997001", balanceOf(t, b, "trader", "BTC").Free) // 0.01999 less the 0.1 % commission
	requireDec(t, "9000.4998001", balanceOf(t, b, "trader", "USDT").Free)
	requireDec(t, "0", balanceOf(t, b, "trader", "USDT").Locked)

	// By quantity, selling at the bid.
	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.01999&newOrderRespType=RESULT")
	require.Equal(t, "FILLED", a.str(t, "status"))
	require.Equal(t, "999.49980010", a.str(t, "cummulativeQuoteQty"))
	require.NotContains(t, a.obj(t), "fills", "RESULT has no fills")
	requireDec(t, "0.99998001", balanceOf(t, b, "trader", "BTC").Free)

	// ACK.
	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001&newOrderRespType=ACK")
	require.Equal(t, []string{"clientOrderId", "orderId", "orderListId", "symbol", "transactTime"}, keys(a.obj(t)))
	require.EqualValues(t, 3, b.OrdersPlaced())
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestBinanceThinBookRunsOut(t *testing.T) {
	b, c, _ := newSim(t)
	// Five levels of 2000 THIN from the ask 0.0501, 0.001 apart.
	a := c.signed(http.MethodPost, "/api/v3/order", "symbol=THINUSDT&side=BUY&type=MARKET&quantity=20000")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, "EXPIRED", a.str(t, "status"), "a market order that runs out of liquidity expires")
	require.Equal(t, "10000.00000000", a.str(t, "executedQty"))
	require.Equal(t, "521.00000000", a.str(t, "cummulativeQuoteQty")) // 2000 × (0.0501+0.0511+0.0521+0.0531+0.0541)
	require.Len(t, a.obj(t)["fills"], 5)
	requireDec(t, "9479", balanceOf(t, b, "trader", "USDT").Free)
	requireDec(t, "109990", balanceOf(t, b, "trader", "THIN").Free) // 10000 less the 0.1 % commission

	// FOK that the book cannot fill expires untouched; IOC takes what it can.
	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=THINUSDT&side=SELL&type=LIMIT&timeInForce=FOK&quantity=5000&price=0.0489")
	require.Equal(t, "EXPIRED", a.str(t, "status"))
	require.Equal(t, "0.00000000", a.str(t, "executedQty"))
	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=THINUSDT&side=SELL&type=LIMIT&timeInForce=IOC&quantity=5000&price=0.0489")
	require.Equal(t, "EXPIRED", a.str(t, "status"))
	require.Equal(t, "4000.00000000", a.str(t, "executedQty"), "levels 0.0499 and 0.0489")
	thin := balanceOf(t, b, "trader", "THIN")
	requireDec(t, "105990", thin.Free) // 109990 less the 4000 sold
	requireDec(t, "0", thin.Locked)
}

func TestBinanceLimitMakerCrossingRejected(t *testing.T) {
	b, c, _ := newSim(t)
	a := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.01&price=50000.01")
	require.Equal(t, http.StatusBadRequest, a.status)
	require.Equal(t, -2010, a.code(t))
	require.Equal(t, "Order would immediately match and take.", a.str(t, "msg"))
	require.EqualValues(t, 0, b.OrdersPlaced())

	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT_MAKER&quantity=0.01&price=50000")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.NotContains(t, a.obj(t), "status", "LIMIT_MAKER answers ACK by default")
	require.Len(t, b.Orders("trader"), 1)
	require.Equal(t, exchange.StatusNew, b.Orders("trader")[0].Status)
}

func TestBinanceOrderRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, params string
		code         int
		msg          string
	}{
		{"tick", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000.005", -1013, "Filter failure: PRICE_FILTER"},
		{"step", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.000015&price=40000", -1013, "Filter failure: LOT_SIZE"},
		{"min notional", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.0001&price=40000", -1013, "Filter failure: NOTIONAL"},
		{"market lot", "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=101", -1013, "Filter failure: MARKET_LOT_SIZE"},
		{"insufficient", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=40000", -2010, "Account has insufficient balance for requested action."},
		{"insufficient by quote", "symbol=BTCUSDT&side=BUY&type=MARKET&quoteOrderQty=10001", -2010, "Account has insufficient balance for requested action."},
		{"no timeInForce", "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=40000", -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."},
		{"no quantity", "symbol=BTCUSDT&side=BUY&type=MARKET", -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"},
		{"price on market", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&price=1", -1106, "Parameter 'price' sent when not required."},
		{"bad side", "symbol=BTCUSDT&side=HOLD&type=MARKET&quantity=1", -1117, "Invalid side."},
		{"bad type", "symbol=BTCUSDT&side=BUY&type=ICEBERG&quantity=1", -1116, "Invalid orderType."},
		{"bad symbol", "symbol=NOPE&side=BUY&type=MARKET&quantity=1", -1121, "Invalid symbol."},
		{"negative", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=-1", -1100, ""},
		{"too precise", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.000000001", -1111, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, c, _ := newSim(t)
			a := c.signed(http.MethodPost, "/api/v3/order", tc.params)
			require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
			require.Equal(t, tc.code, a.code(t), "%s", a.body)
			if tc.msg != "" {
				require.Equal(t, tc.msg, a.str(t, "msg"))
			}
			require.EqualValues(t, 0, b.OrdersPlaced())
			requireDec(t, "10000", balanceOf(t, b, "trader", "USDT").Free)
		})
	}
}

func TestBinanceTestOrder(t *testing.T) {
	b, c, _ := newSim(t)
	a := c.signed(http.MethodPost, "/api/v3/order/test", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, "{}", string(a.body))
	a = c.signed(http.MethodPost, "/api/v3/order/test", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000.001")
	require.Equal(t, -1013, a.code(t))
	require.EqualValues(t, 0, b.OrdersPlaced())
	require.Empty(t, b.Orders("trader"))
}

func TestBinanceFailNext(t *testing.T) {
	b, c, _ := newSim(t)
	b.FailNext(http.StatusServiceUnavailable)
	a := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000&newClientOrderId=lost-1")
	require.Equal(t, http.StatusServiceUnavailable, a.status)
	require.Equal(t, -1007, a.code(t))
	require.EqualValues(t, 0, b.OrdersPlaced())
	require.Equal(t, -2013, c.signed(http.MethodGet, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=lost-1").code(t))

	b.FailNextAfterExecuting(http.StatusServiceUnavailable)
	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000&newClientOrderId=lost-2")
	require.Equal(t, http.StatusServiceUnavailable, a.status)
	require.EqualValues(t, 1, b.OrdersPlaced())
	got := c.signed(http.MethodGet, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=lost-2")
	require.Equal(t, http.StatusOK, got.status, "the order executed although its answer was lost: %s", got.body)
	require.Equal(t, "NEW", got.str(t, "status"))

	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000")
	require.Equal(t, http.StatusOK, a.status, "failures apply once")
}

func TestBinanceWithdraw(t *testing.T) {
	b, c, _ := newSim(t)
	b.AddKey(BinanceKey{APIKey: "treasury", HMACSecret: []byte("treasury-secret"),
		Permissions: exchange.Permissions{Read: true, Withdraw: true, IPRestricted: true}})
	const params = "coin=BTC&network=BTC&address=bc1qexampleexampleexample&amount=0.25"

	// A trading key cannot withdraw.
	a := c.signed(http.MethodPost, "/sapi/v1/capital/withdraw/apply", params)
	require.Equal(t, http.StatusUnauthorized, a.status)
	require.Equal(t, -2015, a.code(t))
	requireDec(t, "1", balanceOf(t, b, "trader", "BTC").Free)
	require.Empty(t, b.Withdrawals())

	w := &client{t: t, base: b.URL(), apiKey: "treasury", sign: hmacSigner("treasury-secret"), now: c.now}
	a = w.signed(http.MethodPost, "/sapi/v1/capital/withdraw/apply", params)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.NotEmpty(t, a.str(t, "id"))
	requireDec(t, "0.75", balanceOf(t, b, "treasury", "BTC").Free)
	ws := b.Withdrawals()
	require.Len(t, ws, 1)
	require.Equal(t, "treasury", ws[0].Account)
	requireDec(t, "0.25", ws[0].Amount)

	a = w.signed(http.MethodPost, "/sapi/v1/capital/withdraw/apply", "coin=BTC&address=x&amount=5")
	require.Equal(t, http.StatusBadRequest, a.status)
	requireDec(t, "0.75", balanceOf(t, b, "treasury", "BTC").Free)
}

func TestBinanceAPIRestrictions(t *testing.T) {
	for _, p := range []exchange.Permissions{
		{Read: true, Trade: true, IPRestricted: true},
		{Read: true, Withdraw: true, Transfer: true},
		{Read: true},
	} {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			b, c, _ := newSim(t)
			b.AddKey(BinanceKey{APIKey: "k", HMACSecret: []byte("s"), Permissions: p})
			c.apiKey, c.sign = "k", hmacSigner("s")
			a := c.signed(http.MethodGet, "/sapi/v1/account/apiRestrictions", "")
			require.Equal(t, http.StatusOK, a.status, "%s", a.body)
			m := a.obj(t)
			require.Equal(t, p.IPRestricted, m["ipRestrict"])
			require.Equal(t, p.Read, m["enableReading"])
			require.Equal(t, p.Trade, m["enableSpotAndMarginTrading"])
			require.Equal(t, p.Withdraw, m["enableWithdrawals"])
			require.Equal(t, p.Transfer, m["enableInternalTransfer"])
			require.Equal(t, p.Transfer, m["permitsUniversalTransfer"])
			require.Equal(t, false, m["enableFutures"])
			require.EqualValues(t, start.UnixMilli(), m["createTime"])
		})
	}
}

func TestBinanceRunStopsWithContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := NewBinance(WithBinanceListener(l))
	require.Equal(t, "http://"+l.Addr().String(), b.URL())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	resp, err := http.Get(b.URL() + "/api/v3/ping")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	require.NoError(t, <-done)
	_, err = http.Get(b.URL() + "/api/v3/ping")
	require.Error(t, err, "the listener is closed")
	b.Close() // idempotent
}

// TestBinanceConcurrent places, cancels and crosses orders from many
// goroutines; run with -race. Balances must stay consistent: nothing
// negative, locked funds matching the open orders.
func TestBinanceConcurrent(t *testing.T) {
	b, c, _ := newSim(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc := *c
			for i := range 10 {
				price := 49000 + 100*((g+i)%15)
				side := "BUY"
				if i%2 == 1 {
					side = "SELL"
				}
				a := cc.signed(http.MethodPost, "/api/v3/order",
					fmt.Sprintf("symbol=BTCUSDT&side=%s&type=LIMIT&timeInForce=GTC&quantity=0.001&price=%d", side, price))
				if a.status == http.StatusOK {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
				if i%3 == 0 {
					b.SetPrice("BTCUSDT", dec(fmt.Sprint(49000+100*((g*i)%15))))
				}
			}
		}()
	}
	wg.Wait()
	require.Greater(t, accepted, 40, "most orders fit the balances")
	require.EqualValues(t, accepted, b.OrdersPlaced())
	require.Len(t, b.Orders("trader"), accepted)
	var lockedUSDT, lockedBTC = dec("0"), dec("0")
	for _, o := range b.Orders("trader") {
		if o.Status.Open() {
			if o.Side == exchange.Buy {
				lockedUSDT = lockedUSDT.Add(o.Price.Mul(o.Quantity.Sub(o.Executed)))
			} else {
				lockedBTC = lockedBTC.Add(o.Quantity.Sub(o.Executed))
			}
		}
	}
	for _, bl := range b.Balances("trader") {
		require.False(t, bl.Free.IsNegative(), "%s free %s", bl.Asset, bl.Free)
		require.False(t, bl.Locked.IsNegative(), "%s locked %s", bl.Asset, bl.Locked)
	}
	requireDec(t, lockedUSDT.String(), balanceOf(t, b, "trader", "USDT").Locked)
	requireDec(t, lockedBTC.String(), balanceOf(t, b, "trader", "BTC").Locked)
}

func TestBinanceLostAnswer(t *testing.T) {
	b, c, _ := newSim(t)
	b.FailNextAfterExecuting(0)
	body := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000&newClientOrderId=dropped&timestamp=" +
		fmt.Sprint(c.now().UnixMilli())
	body += "&signature=" + c.sign(body)
	req, err := http.NewRequest(http.MethodPost, b.URL()+"/api/v3/order", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-MBX-APIKEY", "trader")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the connection closes without an answer")
	require.EqualValues(t, 1, b.OrdersPlaced())
	got := c.signed(http.MethodGet, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=dropped")
	require.Equal(t, "NEW", got.str(t, "status"))
}

func TestBinanceOrderRateLimitEndpoint(t *testing.T) {
	_, c, _ := newSim(t)
	require.Equal(t, http.StatusOK, c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000").status)
	a := c.signed(http.MethodGet, "/api/v3/rateLimit/order", "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	got := a.list(t)
	require.Len(t, got, 2)
	require.Equal(t, map[string]any{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10.0, "limit": 100.0, "count": 1.0}, got[0])
	require.Equal(t, "41", a.header.Get("X-MBX-USED-WEIGHT-1M"), "an order weighs 1, rateLimit/order 40")
}

func TestListenBinance(t *testing.T) {
	b, err := ListenBinance("127.0.0.1:0")
	require.NoError(t, err)
	defer b.Close()
	resp, err := http.Get(b.URL() + "/api/v3/time")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	_, err = ListenBinance(strings.TrimPrefix(b.URL(), "http://"))
	require.ErrorContains(t, err, "--listen", "the address is taken")
	_, err = ListenBinance("127.0.0.1:0", WithBinanceRateLimits(BinanceRateLimit{BinanceOrders, 0, 1}))
	require.ErrorContains(t, err, "whole number of seconds")
}

func TestBinanceCommission(t *testing.T) {
	b, c, _ := newSim(t, WithBinanceCommission(dec("0.0005"), dec("0.001")))
	a := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	fill := a.obj(t)["fills"].([]any)[0].(map[string]any)
	require.Equal(t, "0.00001000", fill["commission"])
	require.Equal(t, "BTC", fill["commissionAsset"])
	requireDec(t, "1.00999", balanceOf(t, b, "trader", "BTC").Free)

	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.1&price=60000")
	require.Equal(t, "NEW", a.str(t, "status"))
	b.SetPrice("BTCUSDT", dec("60000"))
	trades := c.signed(http.MethodGet, "/api/v3/myTrades", "symbol=BTCUSDT").list(t)
	require.Len(t, trades, 2)
	require.Equal(t, "3.00000000", trades[1]["commission"], "0.05 % of 6000 USDT")
	require.Equal(t, "USDT", trades[1]["commissionAsset"])
	m := c.signed(http.MethodGet, "/api/v3/account", "").obj(t)
	require.EqualValues(t, 10, m["takerCommission"])
	require.EqualValues(t, 5, m["makerCommission"])
}

func TestBinanceCustomMarket(t *testing.T) {
	sym := Symbol{
		Symbol: "PUMPUSDT", Base: "PUMP", Quote: "USDT",
		Filters:      exchange.Filters{TickSize: dec("0.001"), StepSize: dec("1"), MinQty: dec("1"), MinNotional: dec("1")},
		MaxNumOrders: 1, Price: dec("1"), Spread: dec("0.002"),
	}
	halted := Symbol{Symbol: "OLDUSDT", Base: "OLD", Quote: "USDT", Halted: true, Price: dec("1")}
	b, c, _ := newSim(t, WithBinanceSymbols(sym, halted), WithBinanceBalances(exchange.Balance{Asset: "USDT", Free: dec("100")}))
	require.Len(t, c.get("/api/v3/ticker/price", "").list(t), 2)
	require.Equal(t, -1121, c.get("/api/v3/ticker/price", "symbol=BTCUSDT").code(t))
	bals := b.Balances("trader")
	require.Len(t, bals, 1)
	require.Equal(t, "USDT", bals[0].Asset)
	requireDec(t, "100", bals[0].Total())

	a := c.signed(http.MethodPost, "/api/v3/order", "symbol=OLDUSDT&side=BUY&type=MARKET&quantity=1")
	require.Equal(t, -1013, a.code(t))
	require.Equal(t, "Market is closed.", a.str(t, "msg"))
	info := c.get("/api/v3/exchangeInfo", "symbol=OLDUSDT").obj(t)["symbols"].([]any)[0].(map[string]any)
	require.Equal(t, "HALT", info["status"])

	require.Equal(t, http.StatusOK, c.signed(http.MethodPost, "/api/v3/order", "symbol=PUMPUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=10&price=0.9").status)
	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=PUMPUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=10&price=0.9")
	require.Equal(t, "Filter failure: MAX_NUM_ORDERS", a.str(t, "msg"))

	require.NoError(t, b.SetBalance("trader", "PUMP", dec("50")))
	requireDec(t, "50", balanceOf(t, b, "trader", "PUMP").Free)
	require.Error(t, b.SetBalance("nobody", "PUMP", dec("1")))
	p, ok := b.Price("PUMPUSDT")
	require.True(t, ok)
	requireDec(t, "1", p)
	_, ok = b.Price("BTCUSDT")
	require.False(t, ok)
}
