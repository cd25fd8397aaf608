#!/usr/bin/env bash
# with-local-kms.sh COMMAND... runs COMMAND next to a local-kms (an AWS KMS
# emulator) seeded from signer/awskms/testdata/local-kms-seed.yaml.
#
# local-kms listens on all interfaces and cannot be told otherwise, so both
# run inside a private network namespace (unshare -n) whose only interface
# is its own loopback: nothing outside can reach the emulator. COMMAND sees
# AWS_ENDPOINT_URL_KMS, KEYFENCE_TEST_AWSKMS_ENDPOINT, AWS_REGION and dummy
# credentials. Go modules must already be in the module cache: the
# namespace has no network. local-kms is installed by .ci/run with
#   go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [ "${KEYFENCE_LOCAL_KMS_NETNS:-}" != 1 ]; then
  [ $# -gt 0 ] || { echo "usage: $0 COMMAND..." >&2; exit 2; }
  command -v unshare >/dev/null || { echo "with-local-kms: unshare (util-linux) is missing" >&2; exit 1; }
  command -v ip >/dev/null || { echo "with-local-kms: ip (iproute2) is missing: apt-get install iproute2" >&2; exit 1; }
  flags=-n
  [ "$(id -u)" = 0 ] || flags=-rn # an unprivileged user gets a user namespace too
  export KEYFENCE_LOCAL_KMS_NETNS=1
  exec unshare $flags -- "$0" "$@"
fi

ip link set lo up
lkms=$(command -v local-kms || true)
[ -n "$lkms" ] || lkms="$(go env GOPATH)/bin/local-kms"
[ -x "$lkms" ] || { echo "with-local-kms: local-kms is not installed: go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6" >&2; exit 1; }

data=$(mktemp -d)
port=${LOCAL_KMS_PORT:-4599}
PORT=$port KMS_REGION=eu-west-2 KMS_ACCOUNT_ID=111122223333 \
  KMS_SEED_PATH="$root/signer/awskms/testdata/local-kms-seed.yaml" KMS_DATA_PATH="$data" \
  "$lkms" >"$data/local-kms.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT

for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$pid" 2>/dev/null || { echo "with-local-kms: local-kms exited:" >&2; cat "$data/local-kms.log" >&2; exit 1; }
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "with-local-kms: local-kms does not answer on port $port" >&2; exit 1; }

export AWS_ENDPOINT_URL_KMS="http://127.0.0.1:$port"
export KEYFENCE_TEST_AWSKMS_ENDPOINT="$AWS_ENDPOINT_URL_KMS"
export AWS_REGION=eu-west-2 AWS_ACCESS_KEY_ID=local-kms-dummy AWS_SECRET_ACCESS_KEY=local-kms-dummy
unset AWS_PROFILE AWS_SESSION_TOKEN KEYFENCE_LOCAL_KMS_NETNS
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
"$@"
