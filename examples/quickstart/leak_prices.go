package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyfence/keyfence/exchange"
	"github.com/keyfence/keyfence/exchange/binance"
	"github.com/keyfence/keyfence/exchange/coinbase"
	"github.com/keyfence/keyfence/exchange/kucoin"
	"github.com/shopspring/decimal"
)

// The leak replay's rows on executable prices: a compromised bot tries to
// make the key buy far from the market through the prices the band does
// not see at first glance.

// stopFarFromMarket plays a bot that places a BUY stop-limit order whose
// limit price is at the ask but whose trigger is at 10x the ask: once an
// attacker pumps the coin through the trigger, the order buys at the
// pumped price. The guard checks the trigger against the band like any
// limit price. KuCoin's stop orders are not parsed by keyfence, so their
// route is refused before anything is signed.
func stopFarFromMarket(ctx context.Context, bot client, m market, ask decimal.Decimal) attempt {
	what := "a stop order far from the market (BUY, trigger at 10x the ask)"
	limit, stop := ask.Round(2).String(), ask.Mul(decimal.NewFromInt(10)).Round(2).String()
	var req exchange.Request
	switch m.Venue {
	case binance.Venue:
		req = exchange.Request{Method: "POST", Path: "/api/v3/order", Params: exchange.Params{
			{Key: "symbol", Value: m.BTC}, {Key: "side", Value: "BUY"}, {Key: "type", Value: "STOP_LOSS_LIMIT"},
			{Key: "timeInForce", Value: "GTC"}, {Key: "quantity", Value: "0.001"}, {Key: "price", Value: limit},
			{Key: "stopPrice", Value: stop}}}
	case coinbase.Venue:
		req = exchange.Request{Method: "POST", Path: coinbase.Prefix + "/orders", Body: []byte(fmt.Sprintf(
			`{"client_order_id":"leak-stop-%s","product_id":%q,"side":"BUY","order_configuration":{"stop_limit_stop_limit_gtc":`+
				`{"base_size":"0.001","limit_price":%q,"stop_price":%q,"stop_direction":"STOP_DIRECTION_STOP_UP"}}}`,
			randomHex(4), m.BTC, limit, stop))}
	case kucoin.Venue:
		req = exchange.Request{Method: "POST", Path: "/api/v1/stop-order", Body: []byte(fmt.Sprintf(
			`{"clientOid":"leak-stop-%s","symbol":%q,"side":"buy","type":"limit","price":%q,"size":"0.001","stop":"entry","stopPrice":%q}`,
			randomHex(4), m.BTC, limit, stop))}
	default:
		return attempt{what: what, result: "no stop order for venue " + m.Venue}
	}
	_, err := bot.Do(ctx, &req)
	if errors.Is(err, exchange.ErrUnknownEndpoint) {
		return attempt{what: what, refused: true, result: "keyfence: stop-order route not parsed, refused before signing"}
	}
	return refusedBy(what, err)
}

// marketByBaseOnThinBook plays a bot that buys 44 units of the thin
// symbol at market: valued at the reference it fits the 50 per-order cap,
// but an order by base quantity has no price bound at the venue, and on a
// thin book it walks up the levels and spends far more. The guard refuses
// market orders by base quantity unless the policy accepts them for the
// symbol, whatever the book holds.
func marketByBaseOnThinBook(ctx context.Context, bot client, m market) attempt {
	_, err := bot.PlaceOrder(ctx, exchange.Order{Symbol: m.Thin, Side: exchange.Buy, Type: exchange.Market,
		Quantity: decimal.NewFromInt(44)})
	return refusedBy("a market buy by base quantity on a thin book (44 "+m.Thin+")", err)
}

// MaxDenials is the policy's kill_switch.max_denials: the guard's denials
// of the replay up to the withdrawal, so that the switch trips there. The
// guard denies the thin buy at 3x, the order of 100x the cap, the stop far
// from the market (on KuCoin its route is refused before the guard), the
// market buy by base quantity and the withdrawal.
func (m market) MaxDenials() int {
	if m.Venue == kucoin.Venue {
		return 4
	}
	return 5
}
