#!/usr/bin/env bash
# Runs every test of every module of keyfence. Extra arguments go to
# `go test` (e.g. ./test.sh -race). Tests that need SoftHSM2 skip with a
# message when it is not installed, and those that need PostgreSQL when
# KEYFENCE_TEST_POSTGRES is not set (scripts/with-postgres.sh ./test.sh
# sets it), unless KEYFENCE_REQUIRE_INTEGRATION=1.
set -euo pipefail
cd "$(dirname "$0")"
status=0
for m in . signer/pkcs11 limits/pgstore; do
  echo "== go test $* ./... (module $m)"
  (cd "$m" && go test "$@" ./...) || status=1
done
exit $status
