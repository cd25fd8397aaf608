// A CCXT kucoin bot through the keyfence gateway. Environment: GW_URL,
// API_KEY, API_SECRET, API_PASSPHRASE (the client credential the gateway
// issued), WRONG_SECRET, SYMBOL, OFF_LIST.
import ccxt from 'ccxt';
import { env, retarget, botSteps } from './lib.mjs';

function client(secret) {
  return retarget(new ccxt.kucoin({ apiKey: env('API_KEY'), secret, password: env('API_PASSPHRASE') }), env('GW_URL'));
}

await botSteps(client(env('API_SECRET')), client(env('WRONG_SECRET')), { symbol: env('SYMBOL'), offList: env('OFF_LIST'), offListPrice: 0.05 });
