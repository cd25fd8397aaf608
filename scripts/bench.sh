#!/usr/bin/env bash
# Runs the benchmarks recorded in BENCHMARKS.md, -count 6 each, and
# summarises them with benchstat. Results go to bench-results/ (not
# committed). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench-results
mkdir -p "$out"
count=${COUNT:-6}
benchstat="go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"

run() { # name, package dir, bench regexp, extra flags...
  local name=$1 dir=$2 re=$3; shift 3
  echo "== $name: go test -run '^\$' -bench '$re' -benchmem -count $count $* ($dir)"
  go test -run '^$' -bench "$re" -benchmem -count "$count" "$@" "$dir" > "$out/$name.txt"
  $benchstat "$out/$name.txt" > "$out/$name.stat"
  cat "$out/$name.stat"
}

run signer ./signer 'HMACBaseline|MemorySign'
run keystore ./keystore 'KeystoreOpen100k|FirstSign'
run limits ./limits 'GuardCheck|FileStoreReserve|RateGuardWait'
run audit ./audit 'Append|Verify|ComputeHash'
run exchange ./exchange 'AppendEncoded'
for v in binance coinbase kucoin; do
  [ -d "exchange/$v" ] && run "$v" "./exchange/$v" 'PlaceOrderSigned$|PlaceOrderSignedRatio|Baseline|^BenchmarkIntent$|SchemeOnly'
done
if command -v softhsm2-util >/dev/null; then
  echo "== pkcs11"
  (cd signer/pkcs11 && go test -run '^$' -bench . -count "$count" . > "../../$out/pkcs11.txt")
  $benchstat "$out/pkcs11.txt" > "$out/pkcs11.stat"; cat "$out/pkcs11.stat"
fi
