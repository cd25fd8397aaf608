package exchangetest

import (
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// pricesAfter moves clk through steps and records BTCUSDT's price after
// each.
func pricesAfter(b *Binance, clk *fakeClock, steps int, every time.Duration) []string {
	var out []string
	for range steps {
		clk.Add(every)
		p, _ := b.Price("BTCUSDT")
		out = append(out, p.String())
	}
	return out
}

func TestDriftIsDeterministic(t *testing.T) {
	d := Drift{Step: dec("0.001"), Every: time.Second, Seed: 42}
	b1, _, clk1 := newSim(t, WithBinanceDrift(d))
	b2, _, clk2 := newSim(t, WithBinanceDrift(d))
	p1 := pricesAfter(b1, clk1, 50, time.Second)
	// The second simulator is read less often: the walk depends on the
	// clock only, not on who asks when.
	clk2.Add(30 * time.Second)
	p2, _ := b2.Price("BTCUSDT")
	require.Equal(t, p1[29], p2.String())
	require.Equal(t, p1[49], pricesAfter(b2, clk2, 20, time.Second)[19])

	moved := 0
	for i := 1; i < len(p1); i++ {
		if p1[i] != p1[i-1] {
			moved++
		}
	}
	require.Equal(t, len(p1)-1, moved, "every step moves the price")

	b3, _, clk3 := newSim(t, WithBinanceDrift(Drift{Step: dec("0.001"), Every: time.Second, Seed: 43}))
	require.NotEqual(t, p1, pricesAfter(b3, clk3, 50, time.Second), "another seed walks elsewhere")

	// Without a drift nothing moves.
	b4, _, clk4 := newSim(t)
	require.Equal(t, "50000", pricesAfter(b4, clk4, 5, time.Second)[4])
}

// A resting buy below the market fills once the walk comes down to it,
// at its own price, as a maker.
func TestDriftFillsRestingOrders(t *testing.T) {
	b, c, clk := newSim(t, WithBinanceDrift(Drift{Step: dec("0.001"), Every: time.Second, Seed: 42}))
	a := c.signed(http.MethodPost, "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=49900&newClientOrderId=dip")
	require.Equal(t, "NEW", a.str(t, "status"), "%s", a.body)
	low := dec("50000")
	filled := false
	for range 3600 {
		clk.Add(time.Second)
		p, _ := b.Price("BTCUSDT")
		low = decimal.Min(low, p)
		if c.signed(http.MethodGet, "/api/v3/order", "symbol=BTCUSDT&origClientOrderId=dip").str(t, "status") == "FILLED" {
			filled = true
			break
		}
	}
	require.True(t, filled, "the walk did not reach 49900 within an hour (low %s)", low)
	require.True(t, low.LessThanOrEqual(dec("49900")))
	tr := c.signed(http.MethodGet, "/api/v3/myTrades", "symbol=BTCUSDT").list(t)
	require.Len(t, tr, 1)
	require.Equal(t, "49900.00000000", tr[0]["price"])
	require.Equal(t, true, tr[0]["isMaker"])
}

func TestDriftRefusesBadOptions(t *testing.T) {
	for _, d := range []Drift{
		{Step: dec("0"), Every: time.Second},
		{Step: dec("0.2"), Every: time.Second},
		{Step: dec("0.001"), Every: 0},
	} {
		_, err := binanceConfigOf([]BinanceOption{WithBinanceDrift(d)})
		require.ErrorIs(t, err, ErrBadDrift, "%+v", d)
		_, err = ListenBinance("127.0.0.1:0", WithBinanceDrift(d))
		require.ErrorIs(t, err, ErrBadDrift)
	}
}

// A thinning book offers less away from its top: a market order walks it to
// worse prices sooner, and depth shows the thinning levels.
func TestThinningBook(t *testing.T) {
	sym := DefaultBinanceSymbols()[4] // THINUSDT: 2000 on each of 5 levels
	sym.Thinning = dec("0.5")
	_, c, _ := newSim(t, WithBinanceSymbols(sym))
	asks := c.get("/api/v3/depth", "symbol=THINUSDT").obj(t)["asks"].([]any)
	var qty []string
	for _, l := range asks {
		qty = append(qty, l.([]any)[1].(string))
	}
	require.Equal(t, []string{"2000.00000000", "1000.00000000", "500.00000000", "250.00000000", "125.00000000"}, qty)

	a := c.signed(http.MethodPost, "/api/v3/order", "symbol=THINUSDT&side=BUY&type=MARKET&quantity=3500")
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.Equal(t, "FILLED", a.str(t, "status"))
	fills := a.obj(t)["fills"].([]any)
	require.Len(t, fills, 3, "2000 + 1000 + 500")
	require.Equal(t, "0.05210000", fills[2].(map[string]any)["price"])
	// The whole book is 3875: a larger order runs out and expires.
	a = c.signed(http.MethodPost, "/api/v3/order", "symbol=THINUSDT&side=BUY&type=MARKET&quantity=5000")
	require.Equal(t, "EXPIRED", a.str(t, "status"))
	require.Equal(t, "3875.00000000", a.str(t, "executedQty"))
}
