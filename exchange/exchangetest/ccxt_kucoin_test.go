package exchangetest

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/keyfence/keyfence/exchange"
)

// ccxtOrder is an order as the CCXT scripts print it.
type ccxtOrder struct {
	ID     string   `json:"id"`
	Status string   `json:"status"`
	Type   string   `json:"type"`
	Side   string   `json:"side"`
	Price  float64  `json:"price"`
	Amount float64  `json:"amount"`
	Filled float64  `json:"filled"`
	Cost   float64  `json:"cost"`
	Fee    *ccxtFee `json:"fee"`
}

// ccxtFee is a CCXT fee structure; CCXT prints cost as a number or a
// string depending on the venue's parser.
type ccxtFee struct {
	Currency string      `json:"currency"`
	Cost     json.Number `json:"cost"`
}

func (f ccxtFee) cost(t *testing.T) float64 {
	t.Helper()
	v, err := f.Cost.Float64()
	if err != nil {
		t.Fatalf("fee cost %q: %v", f.Cost, err)
	}
	return v
}

// ccxtTrade is one of my trades as the CCXT scripts print it.
type ccxtTrade struct {
	Order        string  `json:"order"`
	Side         string  `json:"side"`
	Price        float64 `json:"price"`
	Amount       float64 `json:"amount"`
	Cost         float64 `json:"cost"`
	Fee          ccxtFee `json:"fee"`
	TakerOrMaker string  `json:"takerOrMaker"`
}

// ccxtMarket is the market summary the loadMarkets steps print.
type ccxtMarket struct {
	Symbols   []string `json:"symbols"`
	Precision struct {
		Amount, Price float64
	} `json:"precision"`
	Taker  float64 `json:"taker"`
	Maker  float64 `json:"maker"`
	Active bool    `json:"active"`
}

// ccxtData decodes the data of step name into v, failing the test when the
// step is missing or did not succeed.
func ccxtData(t *testing.T, steps []ccxtStep, name string, v any) {
	t.Helper()
	s := ccxtStepNamed(t, steps, name)
	if !s.OK {
		t.Fatalf("ccxt step %s failed: %s: %s", name, s.ErrorClass, s.Error)
	}
	if err := json.Unmarshal(s.Data, v); err != nil {
		t.Fatalf("ccxt step %s: data %s: %v", name, s.Data, err)
	}
}

// near reports whether a and b agree to within a relative 1e-9.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// checkCCXTTrading checks the trading steps both venue scripts print: a
// limit buy below the market that rests, is listed, read and cancelled;
// a market buy by cost that fills, charged the taker fee in the quote
// currency; the fills; and a wrong secret refused as AuthenticationError.
func checkCCXTTrading(t *testing.T, steps []ccxtStep, quote string, taker float64) (limitID string, market ccxtOrder) {
	t.Helper()
	var placed struct{ ID string }
	ccxtData(t, steps, "createLimitOrder", &placed)
	var open []ccxtOrder
	ccxtData(t, steps, "fetchOpenOrders", &open)
	if len(open) != 1 || open[0].ID != placed.ID || open[0].Status != "open" || open[0].Amount != 0.001 {
		t.Errorf("open orders %+v, want the limit order %s", open, placed.ID)
	}
	var got ccxtOrder
	ccxtData(t, steps, "fetchOrder", &got)
	if got.ID != placed.ID || got.Status != "open" || got.Type != "limit" || got.Side != "buy" || got.Filled != 0 {
		t.Errorf("fetchOrder %+v", got)
	}
	var cancelled struct{ ID string }
	ccxtData(t, steps, "cancelOrder", &cancelled)
	ccxtData(t, steps, "fetchCanceledOrder", &got)
	if cancelled.ID != placed.ID || got.Status != "canceled" {
		t.Errorf("cancel %+v, then %+v", cancelled, got)
	}
	var mo struct{ ID string }
	ccxtData(t, steps, "createMarketOrder", &mo)
	ccxtData(t, steps, "fetchMarketOrder", &market)
	if market.ID != mo.ID || market.Status != "closed" || market.Filled <= 0 || market.Cost <= 90 || market.Cost > 100 {
		t.Errorf("market order %+v", market)
	}
	var trades []ccxtTrade
	ccxtData(t, steps, "fetchMyTrades", &trades)
	if len(trades) != 1 {
		t.Fatalf("my trades %+v, want the market order's fill", trades)
	}
	tr := trades[0]
	if tr.Order != mo.ID || tr.Side != "buy" || tr.TakerOrMaker != "taker" || !near(tr.Amount, market.Filled) ||
		tr.Fee.Currency != quote || !near(tr.Fee.cost(t), tr.Cost*taker) {
		t.Errorf("my trade %+v, want the taker fee %v of its cost in %s", tr, taker, quote)
	}
	if tr.Cost+tr.Fee.cost(t) > 100+1e-9 {
		t.Errorf("the market buy by cost 100 spent %v and %v in fees", tr.Cost, tr.Fee.cost(t))
	}
	if ids := closedOrderIDs(t, steps); !slices.Contains(ids, mo.ID) {
		t.Errorf("closed orders %v, want %s", ids, mo.ID)
	}
	wrong := ccxtStepNamed(t, steps, "wrongSecret")
	if wrong.OK || wrong.ErrorClass != "AuthenticationError" {
		t.Errorf("a wrong secret: ok=%v %s %s, want AuthenticationError", wrong.OK, wrong.ErrorClass, wrong.Error)
	}
	return placed.ID, market
}

// closedOrderIDs returns the ids fetchClosedOrders printed.
func closedOrderIDs(t *testing.T, steps []ccxtStep) []string {
	t.Helper()
	var closed []ccxtOrder
	ccxtData(t, steps, "fetchClosedOrders", &closed)
	ids := []string{}
	for _, o := range closed {
		ids = append(ids, o.ID)
	}
	return ids
}

// checkCCXTCandles checks the one-minute candles of fetchOHLCV(limit 5)
// on a market that has not traded yet: 1 to 5 of them (the market opened
// when the simulator started, moments ago, and no candle opens before
// that), a minute apart, opening and closing at price.
func checkCCXTCandles(t *testing.T, candles [][6]float64, price float64) {
	t.Helper()
	if len(candles) == 0 || len(candles) > 5 {
		t.Fatalf("%d candles, want 1 to 5", len(candles))
	}
	for i, c := range candles {
		if c[1] != price || c[4] != price || (i > 0 && c[0]-candles[i-1][0] != 60000) {
			t.Errorf("candle %d %v", i, c)
		}
	}
}

// checkSimAfterCCXT checks the simulator's side of the trading steps: two
// orders, the base bought and the quote spent with the fee.
func checkSimAfterCCXT(t *testing.T, orders []exchange.Order, bals []exchange.Balance, base, quote string, quoteStart float64, market ccxtOrder, fee float64) {
	t.Helper()
	if len(orders) != 2 || orders[0].Status != exchange.StatusCanceled || orders[1].Status != exchange.StatusFilled {
		t.Errorf("the simulator holds %+v, want a cancelled limit order and a filled market order", orders)
	}
	for _, b := range bals {
		f, _ := b.Free.Float64()
		switch b.Asset {
		case base:
			if !near(f, 1+market.Filled) || !b.Locked.IsZero() {
				t.Errorf("%s %+v, want 1 + %v", base, b, market.Filled)
			}
		case quote:
			if !near(f, quoteStart-market.Cost-fee) || !b.Locked.IsZero() {
				t.Errorf("%s %+v, want %v - %v - %v", quote, b, quoteStart, market.Cost, fee)
			}
		}
	}
}

func TestCCXTKuCoin(t *testing.T) {
	sim := NewKuCoin(WithKuCoinKeys(KuCoinKey{APIKey: "ccxt-key", Secret: []byte("ccxt-secret"), Passphrase: []byte("ccxt pass"),
		Permissions: exchange.Permissions{Read: true, Trade: true, IPRestricted: true}}))
	defer sim.Close()
	steps := runCCXT(t, "kucoin.mjs", map[string]string{"SIM_URL": sim.URL(), "KC_KEY": "ccxt-key", "KC_SECRET": "ccxt-secret", "KC_PASSPHRASE": "ccxt pass"})
	requireCCXTOK(t, steps, "wrongSecret")

	var m ccxtMarket
	ccxtData(t, steps, "loadMarkets", &m)
	if !slices.Equal(m.Symbols, []string{"BTC/USDT", "ETH/BTC", "ETH/USDT", "THIN/USDT"}) || m.Precision.Price != 0.1 ||
		m.Precision.Amount != 1e-8 || m.Taker != 0.001 || m.Maker != 0.001 || !m.Active {
		t.Errorf("markets %+v", m)
	}
	var tm struct{ Time int64 }
	ccxtData(t, steps, "fetchTime", &tm)
	if d := time.Since(time.UnixMilli(tm.Time)); d < -time.Minute || d > time.Minute {
		t.Errorf("server time %d is %v from now", tm.Time, d)
	}
	var bal map[string]struct{ Free, Used, Total float64 }
	ccxtData(t, steps, "fetchBalance", &bal)
	if bal["BTC"].Total != 1 || bal["USDT"].Free != 10000 || bal["USDT"].Used != 0 {
		t.Errorf("balance %+v", bal)
	}
	var tk struct {
		Symbol         string
		Bid, Ask, Last float64
	}
	ccxtData(t, steps, "fetchTicker", &tk)
	if tk.Symbol != "BTC/USDT" || tk.Bid != 49999.9 || tk.Ask != 50000.1 || tk.Last != 50000 {
		t.Errorf("ticker %+v", tk)
	}
	var tickers []string
	ccxtData(t, steps, "fetchTickers", &tickers)
	if len(tickers) != 4 {
		t.Errorf("tickers %v", tickers)
	}
	var ob struct{ Bids, Asks [][2]float64 }
	ccxtData(t, steps, "fetchOrderBook", &ob)
	if len(ob.Bids) == 0 || len(ob.Asks) == 0 || ob.Bids[0][0] != 49999.9 || ob.Asks[0][0] != 50000.1 || ob.Bids[0][1] <= 0 {
		t.Errorf("order book %+v", ob)
	}
	var candles [][6]float64
	ccxtData(t, steps, "fetchOHLCV", &candles)
	checkCCXTCandles(t, candles, 50000)
	var fee struct{ Maker, Taker float64 }
	ccxtData(t, steps, "fetchTradingFee", &fee)
	if fee.Maker != 0.001 || fee.Taker != 0.001 {
		t.Errorf("trading fee %+v", fee)
	}

	limitID, market := checkCCXTTrading(t, steps, "USDT", 0.001)
	// KuCoin's done orders hold the cancelled ones too.
	if ids := closedOrderIDs(t, steps); !slices.Contains(ids, limitID) {
		t.Errorf("closed orders %v, want the cancelled %s", ids, limitID)
	}
	var pub []struct{ Price, Amount float64 }
	ccxtData(t, steps, "fetchTrades", &pub)
	if len(pub) != 1 || !near(pub[0].Amount, market.Filled) {
		t.Errorf("public trades %+v, want the market order's fill", pub)
	}
	checkSimAfterCCXT(t, sim.Orders("ccxt-key"), sim.Balances("ccxt-key"), "BTC", "USDT", 10000, market, market.Cost*0.001)
	if sim.Count401() != 1 {
		t.Errorf("%d requests failed authentication, want only the wrong secret's", sim.Count401())
	}
}
