#!/usr/bin/env bash
# Runs every test of every module of keyfence. Extra arguments go to
# `go test` (e.g. ./test.sh -race). Tests that need SoftHSM2 skip with a
# message when it is not installed, unless KEYFENCE_REQUIRE_INTEGRATION=1.
set -euo pipefail
cd "$(dirname "$0")"
status=0
modules=(. signer/pkcs11)
# --- gobinancetest (issue 12): go-binance against the simulated Binance ---
modules+=(exchange/exchangetest/gobinancetest)
# --- end gobinancetest ---
for m in "${modules[@]}"; do
  echo "== go test $* ./... (module $m)"
  (cd "$m" && go test "$@" ./...) || status=1
done
exit $status
