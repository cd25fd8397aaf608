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
