// CCXT conformance steps against the simulated Coinbase Advanced Trade
// API, run by exchange/exchangetest/ccxt_coinbase_test.go. Only urls.api is
// retargeted (CCXT's coinbase urls.api has one key, "rest"); no other
// option is set.
//
// Environment: SIM_URL, CB_KEY (the CDP key name), CB_SECRET (the private
// key as CCXT takes it: a SEC1 PEM for ECDSA, base64 of seed and public key
// for Ed25519), CB_WRONG_SECRET (another private key of the same kind).
import ccxt from 'ccxt';
import { env, step, retarget, orderSummary as order, myTradeSummary } from './lib.mjs';

const sim = env('SIM_URL');

function client(secret) {
  return retarget(new ccxt.coinbase({ apiKey: env('CB_KEY'), secret }), sim);
}

const ex = client(env('CB_SECRET'));
const symbol = 'BTC/USD';

await step('loadMarkets', () => ex.loadMarkets(), (m) => ({
  symbols: Object.keys(m).sort(), precision: m[symbol].precision, limits: m[symbol].limits,
  taker: m[symbol].taker, maker: m[symbol].maker, active: m[symbol].active }));
await step('fetchTime', () => ex.fetchTime(), (t) => ({ time: t }));
await step('fetchBalance', () => ex.fetchBalance(), (b) => ({ BTC: b.BTC, USD: b.USD }));
const ticker = await step('fetchTicker', () => ex.fetchTicker(symbol),
  (t) => ({ symbol: t.symbol, bid: t.bid, ask: t.ask, last: t.last }));
await step('fetchOrderBook', () => ex.fetchOrderBook(symbol, 20),
  (ob) => ({ bids: ob.bids.slice(0, 3), asks: ob.asks.slice(0, 3) }));
await step('fetchOHLCV', () => ex.fetchOHLCV(symbol, '1m', undefined, 5), (c) => c);
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
await step('fetchTrades', () => ex.fetchTrades(symbol), (ts) => ts.map((t) => ({ price: t.price, amount: t.amount })));
await step('wrongSecret', () => client(env('CB_WRONG_SECRET')).fetchBalance(), () => 'accepted');
