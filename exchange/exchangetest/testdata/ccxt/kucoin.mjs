// CCXT conformance steps against the simulated KuCoin, run by
// exchange/exchangetest/ccxt_kucoin_test.go. Only urls.api is retargeted:
// every key of CCXT's kucoin urls.api (public, private, futuresPublic,
// futuresPrivate, webExchange, broker, earn, uta, utaV2, utaPrivate) points
// at the simulator, so that nothing leaves loopback; no other option is set.
//
// Environment: SIM_URL, KC_KEY, KC_SECRET, KC_PASSPHRASE.
import ccxt from 'ccxt';
import { env, step, retarget, orderSummary as order, myTradeSummary } from './lib.mjs';

const sim = env('SIM_URL');

function client(secret) {
  return retarget(new ccxt.kucoin({ apiKey: env('KC_KEY'), secret, password: env('KC_PASSPHRASE') }), sim);
}

const ex = client(env('KC_SECRET'));
const symbol = 'BTC/USDT';

await step('loadMarkets', () => ex.loadMarkets(), (m) => ({
  symbols: Object.keys(m).sort(), precision: m[symbol].precision, limits: m[symbol].limits,
  taker: m[symbol].taker, maker: m[symbol].maker, active: m[symbol].active }));
await step('fetchTime', () => ex.fetchTime(), (t) => ({ time: t }));
await step('fetchBalance', () => ex.fetchBalance(), (b) => ({ BTC: b.BTC, USDT: b.USDT }));
const ticker = await step('fetchTicker', () => ex.fetchTicker(symbol),
  (t) => ({ symbol: t.symbol, bid: t.bid, ask: t.ask, last: t.last }));
await step('fetchTickers', () => ex.fetchTickers(), (t) => Object.keys(t).sort());
await step('fetchOrderBook', () => ex.fetchOrderBook(symbol, 20),
  (ob) => ({ bids: ob.bids.slice(0, 3), asks: ob.asks.slice(0, 3) }));
await step('fetchOHLCV', () => ex.fetchOHLCV(symbol, '1m', undefined, 5), (c) => c);
await step('fetchTradingFee', () => ex.fetchTradingFee(symbol), (f) => ({ maker: f.maker, taker: f.taker }));
const below = ticker ? ticker.bid * 0.9 : 45000;
const placed = await step('createLimitOrder',
  () => ex.createOrder(symbol, 'limit', 'buy', 0.001, ex.priceToPrecision(symbol, below)), (o) => ({ id: o.id }));
const id = placed ? placed.id : 'none';
await step('fetchOpenOrders', () => ex.fetchOpenOrders(symbol), (os) => os.map(order));
await step('fetchOrder', () => ex.fetchOrder(id, symbol), order);
await step('cancelOrder', () => ex.cancelOrder(id, symbol), (o) => ({ id: o.id }));
await step('fetchCanceledOrder', () => ex.fetchOrder(id, symbol), order);
const market = await step('createMarketOrder', () => ex.createMarketBuyOrderWithCost(symbol, 100), (o) => ({ id: o.id }));
await step('fetchMarketOrder', () => ex.fetchOrder(market ? market.id : 'none', symbol), order);
await step('fetchMyTrades', () => ex.fetchMyTrades(symbol), (ts) => ts.map(myTradeSummary));
await step('fetchClosedOrders', () => ex.fetchClosedOrders(symbol), (os) => os.map(order));
await step('fetchTrades', () => ex.fetchTrades(symbol), (ts) => ts.map((t) => ({ price: t.price, amount: t.amount, side: t.side })));
await step('wrongSecret', () => client(env('KC_SECRET') + 'x').fetchBalance(), () => 'accepted');
