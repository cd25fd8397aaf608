package exchangetest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// ccxtCalls is the data of a CCXT step: its result and the requests
// (method and path) CCXT sent for it.
type ccxtCalls struct {
	Result json.RawMessage `json:"result"`
	Calls  []string        `json:"calls"`
}

func stepData(t *testing.T, s ccxtStep) ccxtCalls {
	t.Helper()
	var d ccxtCalls
	require.NoError(t, json.Unmarshal(s.Data, &d), "step %s data %s", s.Step, s.Data)
	return d
}

// stepResult decodes the result of the step called name into v.
func stepResult(t *testing.T, steps []ccxtStep, name string, v any) []string {
	t.Helper()
	d := stepData(t, ccxtStepNamed(t, steps, name))
	require.NoError(t, json.Unmarshal(d.Result, v), "step %s result %s", name, d.Result)
	return d.Calls
}

func ed25519PEM(t *testing.T) (ed25519.PublicKey, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	return pub, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TestCCXTBinance runs CCXT's binance client (the pinned version) against
// the simulator with only urls.api retargeted, with an HMAC and an Ed25519
// key: every step passes, the fills and balances carry the 0.1 %
// commission, and a wrong secret raises AuthenticationError.
func TestCCXTBinance(t *testing.T) {
	ccxtNode(t)
	_, wrongPEM := ed25519PEM(t)
	edPub, edPEM := ed25519PEM(t)
	for _, tc := range []struct {
		name          string
		key           BinanceKey
		secret, wrong string
	}{
		{"hmac", BinanceKey{APIKey: "ccxt-hmac", HMACSecret: []byte("ccxt-secret-canary"), Permissions: traderPerms}, "ccxt-secret-canary", "not-the-secret"},
		{"ed25519", BinanceKey{APIKey: "ccxt-ed25519", PublicKey: edPub, Permissions: traderPerms}, edPEM, wrongPEM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBinance()
			t.Cleanup(b.Close)
			b.AddKey(tc.key)
			steps := runCCXT(t, "binance.mjs", map[string]string{
				"SIM_URL": b.URL(), "API_KEY": tc.key.APIKey, "API_SECRET": tc.secret,
				"WRONG_SECRET": tc.wrong, "SYMBOL": "BTC/USDT",
			})
			checkCCXTBinance(t, steps, tc.secret)
		})
	}
}

func checkCCXTBinance(t *testing.T, steps []ccxtStep, secret string) {
	t.Helper()
	requireCCXTOK(t, steps, "wrongSecret")
	ccxtStepNamed(t, steps, "done")
	for _, s := range steps {
		require.NotContains(t, string(s.Data)+s.Error, strings.TrimSpace(secret), "step %s shows the secret", s.Step)
	}

	var markets struct {
		Symbols []string `json:"symbols"`
		Market  struct {
			ID string `json:"id"`
		} `json:"market"`
	}
	calls := stepResult(t, steps, "loadMarkets", &markets)
	require.Contains(t, markets.Symbols, "BTC/USDT")
	require.Contains(t, markets.Symbols, "THIN/USDT")
	require.Equal(t, "BTCUSDT", markets.Market.ID)
	require.Contains(t, calls, "GET /sapi/v1/capital/config/getall")
	require.Contains(t, calls, "GET /api/v3/exchangeInfo")

	type bal struct {
		Total map[string]float64 `json:"total"`
	}
	var before, after bal
	stepResult(t, steps, "fetchBalance", &before)
	require.InDelta(t, 1, before.Total["BTC"], 1e-12)
	require.InDelta(t, 10000, before.Total["USDT"], 1e-9)

	var ticker struct{ Bid, Ask, Last float64 }
	require.Equal(t, []string{"GET /api/v3/ticker/24hr"}, stepResult(t, steps, "fetchTicker", &ticker))
	require.Equal(t, 50000.0, ticker.Last)
	require.Less(t, ticker.Bid, ticker.Ask)

	var book struct{ Bids, Asks [][]float64 }
	require.Equal(t, []string{"GET /api/v3/depth"}, stepResult(t, steps, "fetchOrderBook", &book))
	require.Equal(t, ticker.Bid, book.Bids[0][0])
	require.Equal(t, ticker.Ask, book.Asks[0][0])

	var ohlcv [][]float64
	require.Equal(t, []string{"GET /api/v3/klines"}, stepResult(t, steps, "fetchOHLCV", &ohlcv))
	require.NotEmpty(t, ohlcv)
	require.Len(t, ohlcv[0], 6)
	require.Equal(t, 50000.0, ohlcv[0][4])

	type ord struct {
		ID, Status string
		Filled     float64
		Fee        *struct {
			Cost     float64
			Currency string
		}
	}
	var limit, fetched, canceled, market ord
	stepResult(t, steps, "createLimitOrder", &limit)
	require.Equal(t, "open", limit.Status)
	var open []string
	stepResult(t, steps, "fetchOpenOrders", &open)
	require.Equal(t, []string{limit.ID}, open)
	stepResult(t, steps, "fetchOrder", &fetched)
	require.Equal(t, ord{ID: limit.ID, Status: "open"}, fetched)
	stepResult(t, steps, "cancelOrder", &canceled)
	require.Equal(t, "canceled", canceled.Status)

	stepResult(t, steps, "createMarketOrder", &market)
	require.Equal(t, "closed", market.Status)
	require.Equal(t, 0.001, market.Filled)
	require.NotNil(t, market.Fee)
	require.Equal(t, "BTC", market.Fee.Currency)
	require.InDelta(t, 0.000001, market.Fee.Cost, 1e-15, "0.1 % of 0.001 BTC")

	var trades []struct {
		Order        string
		Amount       float64
		TakerOrMaker string
		Fee          struct{ Cost float64 }
	}
	require.Equal(t, []string{"GET /api/v3/myTrades"}, stepResult(t, steps, "fetchMyTrades", &trades))
	require.Len(t, trades, 1)
	require.Equal(t, market.ID, trades[0].Order)
	require.Equal(t, "taker", trades[0].TakerOrMaker)
	require.InDelta(t, 0.000001, trades[0].Fee.Cost, 1e-15)

	var orders []ord
	require.Equal(t, []string{"GET /api/v3/allOrders"}, stepResult(t, steps, "fetchOrders", &orders))
	require.Len(t, orders, 2)

	stepResult(t, steps, "fetchBalanceAfter", &after)
	require.InDelta(t, 1.000999, after.Total["BTC"], 1e-12, "0.001 bought less the commission")

	ws := ccxtStepNamed(t, steps, "wrongSecret")
	require.False(t, ws.OK, "a wrong secret was accepted")
	require.Equal(t, "AuthenticationError", ws.ErrorClass, ws.Error)

	for _, s := range steps {
		if s.Step != "done" && s.Step != "wrongSecret" {
			t.Logf("%s: %v", s.Step, stepData(t, s).Calls)
		}
	}
}
