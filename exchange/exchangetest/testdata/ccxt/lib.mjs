// Shared helpers of the CCXT conformance scripts run by
// exchange/exchangetest/ccxt_test.go. A script prints one JSON object per
// line on stdout: {"step", "ok", "data"} or {"step", "ok": false, "error",
// "errorClass"}. Configuration, keys and secrets come from the environment,
// never from argv.

// env returns the environment variable name, failing when it is unset.
export function env(name) {
  const v = process.env[name];
  if (v === undefined || v === '') {
    throw new Error(`environment variable ${name} is not set`);
  }
  return v;
}

// emit prints one step line.
export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// step runs fn, prints its outcome as one line and returns its result
// (undefined when it threw). data, when given, maps the result to what is
// printed.
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
    });
    return undefined;
  }
}

// retarget points every entry of a CCXT exchange's urls.api at base,
// keeping each entry's path: the only option the conformance scripts set.
export function retarget(ex, base) {
  for (const [k, v] of Object.entries(ex.urls.api)) {
    if (typeof v === 'string') {
      ex.urls.api[k] = v.replace(/^https?:\/\/[^/]+/, base);
    }
  }
  return ex;
}

// orderSummary is what the scripts print of a CCXT order.
export function orderSummary(o) {
  return {
    id: o.id, status: o.status, type: o.type, side: o.side, price: o.price, amount: o.amount,
    filled: o.filled, cost: o.cost, fee: o.fee ?? null,
  };
}

// myTradeSummary is what the scripts print of one of my trades.
export function myTradeSummary(t) {
  return {
    order: t.order, side: t.side, price: t.price, amount: t.amount, cost: t.cost, fee: t.fee,
    takerOrMaker: t.takerOrMaker,
  };
}
