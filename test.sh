#!/usr/bin/env bash
# Runs every test of every module of keyfence. Extra arguments go to
# `go test` (e.g. ./test.sh -race). Tests that need SoftHSM2 skip with a
# message when it is not installed, unless KEYFENCE_REQUIRE_INTEGRATION=1.
# cmd/keyfence is its own module so that the CLI links every backend while
# the library modules stay light.
set -euo pipefail
cd "$(dirname "$0")"
status=0
for m in . signer/pkcs11 cmd/keyfence; do
  echo "== go test $* ./... (module $m)"
  (cd "$m" && go test "$@" ./...) || status=1
done
exit $status
