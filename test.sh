#!/usr/bin/env bash
# Runs every test of every module of keyfence. Extra arguments go to
# `go test` (e.g. ./test.sh -race). Tests that need SoftHSM2 skip with a
# message when it is not installed, and those that need PostgreSQL when
# KEYFENCE_TEST_POSTGRES is not set (scripts/with-postgres.sh ./test.sh
# sets it), unless KEYFENCE_REQUIRE_INTEGRATION=1.
# cmd/keyfence is its own module so that the CLI links every backend while
# the library modules stay light.
set -euo pipefail
cd "$(dirname "$0")"
status=0
# Every module of the repository: the root and each nested go.mod.
mapfile -t modules < <(git ls-files --cached --others --exclude-standard 'go.mod' '**/go.mod' 2>/dev/null | xargs -rn1 dirname | sort -u)
[ ${#modules[@]} -gt 0 ] || modules=(.)
for m in "${modules[@]}"; do
  echo "== go test -timeout 30m $* ./... (module $m)"
  # --- awskms: local-kms (begin) ---
  # The awskms tests talk to local-kms, which runs with them in a private
  # network namespace (scripts/with-local-kms.sh); without local-kms they
  # skip. The namespace has no network, so the module's dependencies are
  # fetched first.
  if [ "$m" = signer/awskms ] && [ -z "${KEYFENCE_TEST_AWSKMS_ENDPOINT:-}" ] &&
    { command -v local-kms >/dev/null || [ -x "$(go env GOPATH)/bin/local-kms" ]; }; then
    (cd "$m" && go list -test -deps ./... >/dev/null && ../../scripts/with-local-kms.sh go test -timeout 30m "$@" ./...) || status=1
    continue
  fi
  # --- awskms: local-kms (end) ---
  # A loaded -race run of the CLI's tests has taken close to go test's
  # default 10 min limit; the whole limit is CI's, so give each package 30.
  (cd "$m" && go test -timeout 30m "$@" ./...) || status=1
done
exit $status
