// Helpers of the CCXT scripts run by gateway/ccxt_test.go, on top of the
// simulator's (exchange/exchangetest/testdata/ccxt/lib.mjs, whose
// node_modules this directory links to). A script prints one JSON object
// per line on stdout: {"step", "ok", "data"} or {"step", "ok": false,
// "error", "errorClass", "family", "network"}. Configuration, keys and
// secrets come from the environment, never from argv.
import ccxt from 'ccxt';
import { env, emit } from '../../../exchange/exchangetest/testdata/ccxt/lib.mjs';

export { env, emit };

// family names the CCXT error family of e: the first of these classes it
// is an instance of.
function family(e) {
  for (const name of ['PermissionDenied', 'AuthenticationError', 'InvalidOrder', 'BadSymbol', 'BadRequest',
    'InsufficientFunds', 'NetworkError', 'ExchangeError']) {
    if (e instanceof ccxt[name]) return name;
  }
  return 'other';
}

// step runs fn and prints its outcome as one line; it returns fn's result
// (undefined when it threw).
export async function step(name, fn, data = (x) => x) {
  try {
    const result = await fn();
    emit({ step: name, ok: true, data: data(result) ?? null });
    return result;
  } catch (e) {
    emit({
      step: name,
      ok: false,
      error: String(e && e.message !== undefined ? e.message : e).slice(0, 2000),
      errorClass: e && e.constructor ? e.constructor.name : typeof e,
      family: family(e),
      network: e instanceof ccxt.NetworkError,
    });
    return undefined;
  }
}

// retarget points every REST URL of ex at base: the only change a bot
// makes to use the gateway, besides its credentials.
export function retarget(ex, base) {
  for (const [k, v] of Object.entries(ex.urls.api)) {
    if (typeof v === 'string') {
      ex.urls.api[k] = v.replace(/^https?:\/\/[^/]+/, base);
    }
  }
  return ex;
}

// botSteps runs what a trading bot does through the gateway with ex, then
// what the policy must refuse, then a client with a wrong secret. Steps:
// loadMarkets, fetchBalance, fetchTicker, fetchOrderBook, createLimitOrder,
// fetchOpenOrders, cancelOrder, createMarketOrderByQuote, fetchMyTrades;
// overCap, offList, outsideBand, withdraw; wrongSecret; done.
export async function botSteps(ex, wrong, { symbol, offList, offListAmount = 1, offListPrice = 0.001, quoteCost = 50, withdrawCode = 'BTC' }) {
  await step('loadMarkets', () => ex.loadMarkets(), (m) => Object.keys(m).length);
  await step('fetchBalance', () => ex.fetchBalance(), (b) => b.total);
  await step('fetchTicker', () => ex.fetchTicker(symbol), (t) => ({ bid: t.bid, ask: t.ask }));
  const book = await step('fetchOrderBook', () => ex.fetchOrderBook(symbol, 20), (b) => ({ bid: b.bids[0], ask: b.asks[0] }));
  const bid = book ? book.bids[0][0] : 50000;
  const ask = book ? book.asks[0][0] : 50000;
  const limit = await step('createLimitOrder', () => ex.createOrder(symbol, 'limit', 'buy', 0.001, ex.priceToPrecision(symbol, bid * 0.99)), (o) => ({ id: o.id, status: o.status }));
  await step('fetchOpenOrders', () => ex.fetchOpenOrders(symbol), (os) => os.map((o) => o.id));
  await step('cancelOrder', () => ex.cancelOrder(limit ? limit.id : 'none', symbol), (o) => ({ id: o.id, status: o.status }));
  await step('createMarketOrderByQuote', () => ex.createMarketBuyOrderWithCost(symbol, quoteCost), (o) => ({ id: o.id, status: o.status, filled: o.filled }));
  await step('fetchMyTrades', () => ex.fetchMyTrades(symbol), (ts) => ts.length);

  // What the policy refuses.
  await step('overCap', () => ex.createOrder(symbol, 'limit', 'buy', 0.1, ex.priceToPrecision(symbol, bid)));
  await step('offList', () => ex.createOrder(offList, 'limit', 'buy', offListAmount, offListPrice));
  await step('outsideBand', () => ex.createOrder(symbol, 'limit', 'buy', 0.001, ex.priceToPrecision(symbol, ask * 1.2)));
  await step('withdraw', () => ex.withdraw(withdrawCode, 0.01, 'bc1qattacker000000000000000000000000000'));

  await step('wrongSecret', () => wrong.fetchBalance(), () => 'accepted');
  emit({ step: 'done', ok: true });
}
