// A CCXT coinbase (Advanced Trade) bot through the keyfence gateway.
// Environment: GW_URL, API_KEY (the CDP key name the gateway issued),
// API_SECRET (its EC private key, PEM), WRONG_SECRET (another EC key),
// SYMBOL, OFF_LIST.
import ccxt from 'ccxt';
import { env, retarget, botSteps } from './lib.mjs';

function client(secret) {
  return retarget(new ccxt.coinbase({ apiKey: env('API_KEY'), secret }), env('GW_URL'));
}

await botSteps(client(env('API_SECRET')), client(env('WRONG_SECRET')), { symbol: env('SYMBOL'), offList: env('OFF_LIST'), offListPrice: 0.05 });
