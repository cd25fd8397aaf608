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
