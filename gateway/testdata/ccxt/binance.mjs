// A CCXT binance bot through the keyfence gateway. Environment: GW_URL,
// API_KEY, API_SECRET (the client credential the gateway issued),
// WRONG_SECRET, SYMBOL (BTC/USDT), OFF_LIST (a symbol the policy does not
// allow).
import ccxt from 'ccxt';
import { env, step, emit, retarget } from './lib.mjs';

function client(secret) {
  // The gateway fronts Binance Spot: markets are loaded for spot only and
  // without margin pairs (CCXT reads those from futures and margin hosts).
  return retarget(new ccxt.binance({
    apiKey: env('API_KEY'), secret,
    options: { fetchMarkets: { types: ['spot'] }, fetchMargins: false },
  }), env('GW_URL'));
}

const ex = client(env('API_SECRET'));
const symbol = env('SYMBOL');

await step('loadMarkets', () => ex.loadMarkets(), (m) => Object.keys(m).length);
await step('fetchBalance', () => ex.fetchBalance(), (b) => b.total);
await step('fetchTicker', () => ex.fetchTicker(symbol), (t) => ({ bid: t.bid, ask: t.ask }));
const book = await step('fetchOrderBook', () => ex.fetchOrderBook(symbol, 5), (b) => ({ bid: b.bids[0], ask: b.asks[0] }));
const bid = book ? book.bids[0][0] : 50000;
const ask = book ? book.asks[0][0] : 50000;
const limit = await step('createLimitOrder', () => ex.createOrder(symbol, 'limit', 'buy', 0.001, ex.priceToPrecision(symbol, bid * 0.99)), (o) => ({ id: o.id, status: o.status }));
await step('fetchOpenOrders', () => ex.fetchOpenOrders(symbol), (os) => os.map((o) => o.id));
await step('cancelOrder', () => ex.cancelOrder(limit.id, symbol), (o) => ({ id: o.id, status: o.status }));
await step('createMarketOrderByQuote', () => ex.createMarketBuyOrderWithCost(symbol, 50), (o) => ({ id: o.id, status: o.status, filled: o.filled }));
await step('fetchMyTrades', () => ex.fetchMyTrades(symbol), (ts) => ts.length);

// What the policy refuses.
await step('overCap', () => ex.createOrder(symbol, 'limit', 'buy', 0.1, ex.priceToPrecision(symbol, bid)));
await step('offList', () => ex.createOrder(env('OFF_LIST'), 'limit', 'buy', 1, 0.001));
await step('outsideBand', () => ex.createOrder(symbol, 'limit', 'buy', 0.001, ex.priceToPrecision(symbol, ask * 1.2)));
await step('withdraw', () => ex.withdraw('BTC', 0.01, 'bc1qattacker000000000000000000000000000'));

const wrong = client(env('WRONG_SECRET'));
await step('wrongSecret', () => wrong.fetchBalance(), () => 'accepted');
emit({ step: 'done', ok: true });
