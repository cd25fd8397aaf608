#!/usr/bin/env bash
# Runs COMMAND... with a throwaway PostgreSQL server, for the tests of
# limits/pgstore:
#
#   scripts/with-postgres.sh go test -race ./...
#
# It installs PostgreSQL from Debian when no server binaries are found (as
# root, with apt-get), runs initdb into a temporary directory as a non-root
# user (the server refuses to run as root: as root it uses the `postgres`
# system user, creating `keyfence-pg` when there is none), starts the server
# on 127.0.0.1 at a free port with its unix socket in the same directory,
# creates the database `keyfence` and exports for COMMAND:
#
#   KEYFENCE_TEST_POSTGRES       postgres://keyfence:PASSWORD@127.0.0.1:PORT/keyfence?sslmode=disable
#   KEYFENCE_TEST_POSTGRES_CTL   a script taking `stop` or `start` that stops or starts this server
#                                (the database-restart test uses it)
#
# The password is random; the server is stopped and its directory removed
# when COMMAND exits, whose status the script returns.
set -euo pipefail

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

bin=$(find_bin || true)
if [ -z "$bin" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "with-postgres: no PostgreSQL server under /usr/lib/postgresql; install the postgresql package" >&2
    exit 1
  fi
  echo "with-postgres: installing postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  bin=$(find_bin)
fi

# The server runs as a non-root user.
run_as=()
owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
  owner=postgres
  if ! id "$owner" >/dev/null 2>&1; then
    owner=keyfence-pg
    id "$owner" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$owner"
  fi
  run_as=(runuser -u "$owner" --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/keyfence-pg.XXXXXX")
chmod 700 "$dir"
[ ${#run_as[@]} -eq 0 ] || chown "$owner" "$dir"

cleanup() {
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$password" >"$dir/pwfile"
[ ${#run_as[@]} -eq 0 ] || chown "$owner" "$dir/pwfile"
"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U keyfence --pwfile="$dir/pwfile" \
  --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
rm -f "$dir/pwfile"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The control script the tests use to stop and start this server.
ctl="$dir/ctl"
cat >"$ctl" <<EOF
#!/usr/bin/env bash
# Stops or starts the test server: $ctl stop|start
set -euo pipefail
case "\${1:-}" in
  stop) exec ${run_as[*]} "$bin/pg_ctl" -D "$dir/data" -m fast -w stop ;;
  start) exec ${run_as[*]} "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
EOF
chmod 755 "$ctl"

started=
for _ in $(seq 1 20); do
  port=$((20000 + RANDOM % 20000))
  port_free "$port" || continue
  cat >>"$dir/data/postgresql.conf" <<EOF
# with-postgres.sh
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
EOF
  if "$ctl" start >/dev/null 2>&1; then
    started=1
    break
  fi
  # The port was taken meanwhile: drop the block and try another.
  sed -i '/^# with-postgres.sh$/,$d' "$dir/data/postgresql.conf"
done
if [ -z "$started" ]; then
  echo "with-postgres: the server did not start; its log:" >&2
  cat "$dir/server.log" >&2 || true
  exit 1
fi

PGPASSWORD=$password "$bin/psql" -X -q -h 127.0.0.1 -p "$port" -U keyfence -d postgres \
  -c 'CREATE DATABASE keyfence' >/dev/null

export KEYFENCE_TEST_POSTGRES="postgres://keyfence:$password@127.0.0.1:$port/keyfence?sslmode=disable"
export KEYFENCE_TEST_POSTGRES_CTL="$ctl"
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
status=0
"$@" || status=$?
exit $status
