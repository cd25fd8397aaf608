package gobinancetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/exchangetest"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

var perms = exchange.Permissions{Read: true, Trade: true, IPRestricted: true}

// newClient is a go-binance client of sim with only its base URL changed.
func newClient(sim *exchangetest.Binance, apiKey, secret, keyType string) *binance.Client {
	c := binance.NewClient(apiKey, secret)
	c.BaseURL = sim.URL()
	c.KeyType = keyType
	return c
}

func pkcs8PEM(t *testing.T, priv any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestGoBinance(t *testing.T) {
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	cases := []struct {
		name    string
		key     exchangetest.BinanceKey
		secret  string
		keyType string
	}{
		{"hmac", exchangetest.BinanceKey{APIKey: "hmac-key", HMACSecret: []byte("hmac-secret"), Permissions: perms}, "hmac-secret", common.KeyTypeHmac},
		{"ed25519", exchangetest.BinanceKey{APIKey: "ed-key", PublicKey: edPub, Permissions: perms}, pkcs8PEM(t, edPriv), common.KeyTypeEd25519},
		{"rsa", exchangetest.BinanceKey{APIKey: "rsa-key", PublicKey: &rsaPriv.PublicKey, Permissions: perms}, pkcs8PEM(t, rsaPriv), common.KeyTypeRsa},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim := exchangetest.NewBinance()
			t.Cleanup(sim.Close)
			sim.AddKey(tc.key)
			runSteps(t, sim, newClient(sim, tc.key.APIKey, tc.secret, tc.keyType))
		})
	}
}

// runSteps runs the conformance steps with c against sim.
func runSteps(t *testing.T, sim *exchangetest.Binance, c *binance.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const sym = "BTCUSDT"

	require.NoError(t, c.NewPingService().Do(ctx))
	st, err := c.NewServerTimeService().Do(ctx)
	require.NoError(t, err)
	require.InDelta(t, time.Now().UnixMilli(), st, 60_000)

	info, err := c.NewExchangeInfoService().Symbol(sym).Do(ctx)
	require.NoError(t, err)
	require.Len(t, info.Symbols, 1)
	require.Equal(t, "BTC", info.Symbols[0].BaseAsset)
	require.NotNil(t, info.Symbols[0].LotSizeFilter())
	require.NotNil(t, info.Symbols[0].PriceFilter())

	acct, err := c.NewGetAccountService().Do(ctx)
	require.NoError(t, err)
	require.True(t, acct.CanTrade)
	require.Equal(t, "1.00000000", balance(acct, "BTC"))
	require.EqualValues(t, 10, acct.TakerCommission, "0.1 % in basis points")

	depth, err := c.NewDepthService().Symbol(sym).Limit(5).Do(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, depth.Bids)
	require.NotEmpty(t, depth.Asks)
	bid, ask := dec(t, depth.Bids[0].Price), dec(t, depth.Asks[0].Price)
	require.True(t, bid.LessThan(ask), "bid %s ask %s", bid, ask)

	stats, err := c.NewListPriceChangeStatsService().Symbol(sym).Do(ctx)
	require.NoError(t, err)
	require.Len(t, stats, 1)
	require.Equal(t, sym, stats[0].Symbol)
	require.Equal(t, "50000.00000000", stats[0].LastPrice)

	prices, err := c.NewListPricesService().Symbol(sym).Do(ctx)
	require.NoError(t, err)
	require.Len(t, prices, 1)
	books, err := c.NewListBookTickersService().Symbol(sym).Do(ctx)
	require.NoError(t, err)
	require.Len(t, books, 1)
	require.Equal(t, depth.Bids[0].Price, books[0].BidPrice)

	klines, err := c.NewKlinesService().Symbol(sym).Interval("1m").Limit(5).Do(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, klines)
	require.Equal(t, "50000.00000000", klines[len(klines)-1].Close)

	// A limit order below the market rests; list, query, cancel it.
	below := bid.Mul(decimal.RequireFromString("0.9")).Round(2).String()
	o, err := c.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.001").Price(below).Do(ctx)
	require.NoError(t, err)
	require.Equal(t, binance.OrderStatusTypeNew, o.Status)
	require.Positive(t, c.OrderCount.Count10s, "X-MBX-ORDER-COUNT-10S")
	require.Positive(t, c.UsedWeight.Used1M, "X-MBX-USED-WEIGHT-1M")
	open, err := c.NewListOpenOrdersService().Symbol(sym).Do(ctx)
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Equal(t, o.OrderID, open[0].OrderID)
	got, err := c.NewGetOrderService().Symbol(sym).OrderID(o.OrderID).Do(ctx)
	require.NoError(t, err)
	require.Equal(t, below, dec(t, got.Price).String())
	canceled, err := c.NewCancelOrderService().Symbol(sym).OrderID(o.OrderID).Do(ctx)
	require.NoError(t, err)
	require.Equal(t, binance.OrderStatusTypeCanceled, canceled.Status)

	// A market order fills at the ask, less the 0.1 % commission.
	m, err := c.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
		Quantity("0.001").Do(ctx)
	require.NoError(t, err)
	require.Equal(t, binance.OrderStatusTypeFilled, m.Status)
	require.Len(t, m.Fills, 1)
	require.Equal(t, depth.Asks[0].Price, m.Fills[0].Price)
	require.Equal(t, "0.00000100", m.Fills[0].Commission)
	require.Equal(t, "BTC", m.Fills[0].CommissionAsset)

	trades, err := c.NewListTradesService().Symbol(sym).Do(ctx)
	require.NoError(t, err)
	require.Len(t, trades, 1)
	require.Equal(t, m.OrderID, trades[0].OrderID)
	require.Equal(t, "0.00000100", trades[0].Commission)
	// (go-binance's RecentTradesService asks the legacy /api/v1/trades,
	// which the simulator does not serve; AggTrades is /api/v3.)
	agg, err := c.NewAggTradesService().Symbol(sym).Limit(10).Do(ctx)
	require.NoError(t, err)
	require.Len(t, agg, 1)
	require.Equal(t, m.Fills[0].TradeID, agg[0].FirstTradeID)
	all, err := c.NewListOrdersService().Symbol(sym).Do(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)

	acct, err = c.NewGetAccountService().Do(ctx)
	require.NoError(t, err)
	require.Equal(t, "1.00099900", balance(acct, "BTC"), "0.001 bought less the commission")

	stats, err = c.NewListPriceChangeStatsService().Symbol(sym).Do(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, stats[0].Count)
	require.Equal(t, "0.00100000", stats[0].Volume)

	// A wrong secret is refused with -1022; go-binance returns the APIError.
	wrong := binance.NewClient(c.APIKey, "not-the-secret")
	wrong.BaseURL = c.BaseURL
	_, err = wrong.NewGetAccountService().Do(ctx)
	var apiErr *common.APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	require.EqualValues(t, -1022, apiErr.Code)
}

func balance(a *binance.Account, asset string) string {
	for _, b := range a.Balances {
		if b.Asset == asset {
			return b.Free
		}
	}
	return ""
}

func dec(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(s)
	require.NoError(t, err, "%q", s)
	return d
}
