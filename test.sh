#!/usr/bin/env bash
# Runs every test of every module of keyfence. Extra arguments go to
# `go test` (e.g. ./test.sh -race). Tests that need SoftHSM2 skip with a
# message when it is not installed, unless KEYFENCE_REQUIRE_INTEGRATION=1.
# cmd/keyfence is its own module so that the CLI links every backend while
# the library modules stay light.
set -euo pipefail
cd "$(dirname "$0")"
status=0
for m in . signer/pkcs11 signer/awskms signer/vault cmd/keyfence; do
  echo "== go test $* ./... (module $m)"
  # --- awskms: local-kms (begin) ---
  # The awskms tests talk to local-kms, which runs with them in a private
  # network namespace (scripts/with-local-kms.sh); without local-kms they
  # skip. The namespace has no network, so the module's dependencies are
  # fetched first.
  if [ "$m" = signer/awskms ] && [ -z "${KEYFENCE_TEST_AWSKMS_ENDPOINT:-}" ] &&
    { command -v local-kms >/dev/null || [ -x "$(go env GOPATH)/bin/local-kms" ]; }; then
    (cd "$m" && go list -test -deps ./... >/dev/null && ../../scripts/with-local-kms.sh go test "$@" ./...) || status=1
    continue
  fi
  # --- awskms: local-kms (end) ---
  (cd "$m" && go test "$@" ./...) || status=1
done
exit $status
