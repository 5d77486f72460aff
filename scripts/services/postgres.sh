#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and benchmarks, on 127.0.0.1 only.
#   scripts/services/postgres.sh start   # prints `export DATABASE_URL=...` on stdout
#   scripts/services/postgres.sh stop
# Data, log and PID live under $STATE_DIR/postgres/ (set DATAFRUITS_STATE to keep suites apart).
# The port is the first free one from PG_PORT (default 25432). The server trusts local TCP
# connections: it is for tests, never for anything else.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dir="$STATE_DIR/postgres"
pidfile="$dir/postgres.pid"
mkdir -p "$dir"

print_env() {
  local port; port=$(cat "$dir/port")
  echo "export DATABASE_URL='postgres://datafruits@127.0.0.1:$port/postgres?sslmode=disable'"
}

start() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "postgres already running (pid $(cat "$pidfile"))"
    print_env
    return
  fi
  [ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
  local bindir
  bindir=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")

  # initdb refuses root: run the server as the unprivileged `postgres` user the package creates.
  # Its data must then sit where that user can reach; a clone under /root is not such a place.
  local run=() datadir="$dir/data"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    run=(runuser -u postgres --)
    if ! runuser -u postgres -- test -x "$dir"; then
      datadir="/var/tmp/datafruits-postgres-$(echo "$dir" | md5sum | cut -c1-12)"
    fi
    mkdir -p "$datadir" && chown postgres: "$datadir" && chmod 700 "$datadir"
  fi
  echo "$datadir" >"$dir/datadir"

  if [ ! -f "$datadir/PG_VERSION" ]; then
    log "initdb in $datadir"
    "${run[@]}" "$bindir/initdb" -D "$datadir" -U datafruits --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  fi
  local port; port=$(free_port "${PG_PORT:-25432}")
  echo "$port" >"$dir/port"
  log "starting postgres on 127.0.0.1:$port"
  # fsync off: the data is thrown away, and tests should not wait on the disk.
  "${run[@]}" "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 60 start \
    -o "-h 127.0.0.1 -p $port -k '' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null \
    || { tail -20 "$datadir/server.log" >&2; die "postgres did not start"; }
  head -1 "$datadir/postmaster.pid" >"$pidfile"
  print_env
}

stop() {
  [ -f "$pidfile" ] || { log "postgres not running"; return; }
  local pid; pid=$(cat "$pidfile")
  # SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for every client to leave).
  kill -INT "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  stop_pidfile "$pidfile"
  log "postgres stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
