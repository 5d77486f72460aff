#!/usr/bin/env bash
# A throwaway S3-compatible server (versitygw, posix backend) for tests and benchmarks, on 127.0.0.1 only.
#   scripts/services/s3.sh start   # prints `export S3_ENDPOINT=... S3_KEY=...` on stdout
#   scripts/services/s3.sh stop
# It serves two gateways over the same data: a normal one (S3_ENDPOINT) and a read-only one
# (S3_READONLY_ENDPOINT) for tests of a bucket that refuses writes.
# versitygw is built once from the Go module proxy at a pinned version into
# $DATAFRUITS_CACHE/versitygw-<version>/; data, logs and PIDs live under $STATE_DIR/s3/.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

VERSITYGW_VERSION=v1.8.0
bindir="$DATAFRUITS_CACHE/versitygw-$VERSITYGW_VERSION"
bin="$bindir/versitygw"
dir="$STATE_DIR/s3"
mkdir -p "$dir"

build_versitygw() {
  # Another clone may have built it while this one waited for the lock.
  [ -x "$bin" ] && return
  log "building versitygw $VERSITYGW_VERSION from the Go module proxy (once; 1 to 3 minutes on 2 cores)"
  local start; start=$(date +%s)
  # Progress: module downloads, then a line every 100 compiled packages (about 600 in all).
  GOBIN="$bindir.tmp" GOFLAGS=-buildvcs=false go install -x "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" 2>&1 \
    | awk '/^go: downloading/ { print "    " $0; fflush() }
           / -p [^ ]+ / { n++; if (n % 100 == 0) { print "    compiled " n " packages"; fflush() } }' >&2 || true
  [ -x "$bindir.tmp/versitygw" ] || die "building versitygw failed (run: go install github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION)"
  rm -rf "$bindir" && mv "$bindir.tmp" "$bindir"
  echo "$(( $(date +%s) - start ))" >"$bindir/build-seconds"
  log "built versitygw in $(cat "$bindir/build-seconds")s"
}

print_env() {
  # shellcheck disable=SC1091
  source "$dir/env"
  echo "export S3_ENDPOINT='http://127.0.0.1:$S3_PORT' S3_READONLY_ENDPOINT='http://127.0.0.1:$S3_READONLY_PORT'"
  echo "export S3_REGION=us-east-1 S3_FORCE_PATH_STYLE=true S3_KEY='$S3_KEY' S3_SECRET='$S3_SECRET'"
}

# start_gateway starts one versitygw on a free port from $2 and prints the port; extra flags follow.
start_gateway() {
  local name=$1 port=$2 pid
  shift 2
  for _ in 1 2 3; do
    port=$(free_port "$port")
    # Metadata goes to a sidecar directory, so the data directory's filesystem needs no xattrs.
    ROOT_ACCESS_KEY="$S3_KEY" ROOT_SECRET_KEY="$S3_SECRET" \
      "$bin" "$@" --port "127.0.0.1:$port" --region us-east-1 posix --sidecar "$dir/meta" "$dir/data" >"$dir/$name.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/$name.pid"
    for _ in $(seq 1 100); do
      if ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$dir/$name.pid"
        break # lost a race for the port: try the next one
      fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "$port"
        return 0
      fi
      sleep 0.1
    done
    port=$((port + 1))
  done
  tail -n 20 "$dir/$name.log" >&2
  die "versitygw ($name) did not start"
}

start() {
  if [ -f "$dir/gateway.pid" ] && kill -0 "$(cat "$dir/gateway.pid")" 2>/dev/null; then
    log "s3 already running (pid $(cat "$dir/gateway.pid"))"
    print_env
    return
  fi
  command -v go >/dev/null || die "go is needed to build versitygw"
  [ -x "$bin" ] || with_build_lock build_versitygw
  mkdir -p "$dir/data" "$dir/meta"
  S3_KEY=datafruits-test
  S3_SECRET=$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')
  local port ro_port
  port=$(start_gateway gateway "${S3_PORT:-27000}")
  ro_port=$(start_gateway readonly $((port + 1)) --readonly)
  printf 'S3_PORT=%s\nS3_READONLY_PORT=%s\nS3_KEY=%s\nS3_SECRET=%s\n' "$port" "$ro_port" "$S3_KEY" "$S3_SECRET" >"$dir/env"
  log "versitygw on 127.0.0.1:$port (read-only view on :$ro_port), data in $dir/data"
  print_env
}

stop() {
  stop_pidfile "$dir/gateway.pid"
  stop_pidfile "$dir/readonly.pid"
  log "s3 stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
