// A CCXT binance bot through the keyfence gateway. Environment: GW_URL,
// API_KEY, API_SECRET (the client credential the gateway issued),
// WRONG_SECRET, SYMBOL (BTC/USDT), OFF_LIST (a symbol the policy does not
// allow).
import ccxt from 'ccxt';
import { env, retarget, botSteps } from './lib.mjs';

function client(secret) {
  return retarget(new ccxt.binance({ apiKey: env('API_KEY'), secret }), env('GW_URL'));
}

await botSteps(client(env('API_SECRET')), client(env('WRONG_SECRET')), { symbol: env('SYMBOL'), offList: env('OFF_LIST') });
