// CCXT binance conformance against the simulated Binance. Only urls.api is
// retargeted (every entry's host becomes SIM_URL); no other option is set.
// Environment: SIM_URL, API_KEY, API_SECRET (HMAC secret or PEM Ed25519
// private key), WRONG_SECRET, SYMBOL (e.g. BTC/USDT).
import ccxt from 'ccxt';
import { env, step, emit, retarget } from './lib.mjs';

const base = env('SIM_URL');

// Record every request CCXT sends: method and path, never the query.
const calls = [];
function client(secret) {
  const ex = retarget(new ccxt.binance({ apiKey: env('API_KEY'), secret }), base);
  const fetch = ex.fetch.bind(ex);
  ex.fetch = async (url, method, headers, body) => {
    const u = new URL(url);
    calls.push(`${method} ${u.pathname}`);
    return fetch(url, method, headers, body);
  };
  return ex;
}

const ex = client(env('API_SECRET'));
const symbol = env('SYMBOL');

function mark(name) { calls.length = 0; return name; }
const stepWithCalls = async (name, fn, data) => {
  mark(name);
  const r = await step(name, fn, (x) => ({ result: data ? data(x) : x, calls: [...new Set(calls)] }));
  return r;
};

await stepWithCalls('loadMarkets', () => ex.loadMarkets(), (m) => ({ symbols: Object.keys(m).sort(), market: m[symbol] && { id: m[symbol].id, precision: m[symbol].precision, limits: m[symbol].limits, taker: m[symbol].taker } }));
await stepWithCalls('fetchBalance', () => ex.fetchBalance(), (b) => ({ total: b.total, free: b.free, used: b.used }));
const ticker = await stepWithCalls('fetchTicker', () => ex.fetchTicker(symbol), (t) => ({ bid: t.bid, ask: t.ask, last: t.last, open: t.open, high: t.high, low: t.low, baseVolume: t.baseVolume }));
await stepWithCalls('fetchOrderBook', () => ex.fetchOrderBook(symbol, 5), (b) => ({ bids: b.bids, asks: b.asks, nonce: b.nonce }));
await stepWithCalls('fetchOHLCV', () => ex.fetchOHLCV(symbol, '1m', undefined, 5), (c) => c);
await stepWithCalls('fetchTrades', () => ex.fetchTrades(symbol, undefined, 5), (t) => t.length);

const below = ticker ? ex.priceToPrecision(symbol, ticker.bid * 0.9) : undefined;
const limit = await stepWithCalls('createLimitOrder', () => ex.createOrder(symbol, 'limit', 'buy', 0.001, below), (o) => ({ id: o.id, status: o.status, price: o.price, amount: o.amount }));
await stepWithCalls('fetchOpenOrders', () => ex.fetchOpenOrders(symbol), (os) => os.map((o) => o.id));
await stepWithCalls('fetchOrder', () => ex.fetchOrder(limit.id, symbol), (o) => ({ id: o.id, status: o.status }));
await stepWithCalls('cancelOrder', () => ex.cancelOrder(limit.id, symbol), (o) => ({ id: o.id, status: o.status }));
await stepWithCalls('createMarketOrder', () => ex.createOrder(symbol, 'market', 'buy', 0.001), (o) => ({ id: o.id, status: o.status, filled: o.filled, average: o.average, fee: o.fee, fees: o.fees }));
await stepWithCalls('fetchMyTrades', () => ex.fetchMyTrades(symbol), (ts) => ts.map((t) => ({ order: t.order, amount: t.amount, price: t.price, fee: t.fee, takerOrMaker: t.takerOrMaker })));
await stepWithCalls('fetchOrders', () => ex.fetchOrders(symbol), (os) => os.map((o) => ({ id: o.id, status: o.status })));
await stepWithCalls('fetchBalanceAfter', () => ex.fetchBalance(), (b) => ({ total: b.total, free: b.free, used: b.used }));

const wrong = client(env('WRONG_SECRET'));
await stepWithCalls('wrongSecret', () => wrong.fetchBalance(), () => 'accepted');
emit({ step: 'done', ok: true });
