#!/usr/bin/env bash
# Benchmarks apps/onair's event stream: 5,000 concurrent SSE clients on loopback,
# the time from a status change to the last client receiving it (p50/p99), and
# onair's peak memory. The service runs as its own process so its memory is
# measured alone. Pass ssebench flags through, e.g.: scripts/bench/onair.sh -clients 2000
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

out="$STATE_DIR/onair-bench"
mkdir -p "$out"
cd "$REPO_ROOT/apps/onair"
log "building onair and ssebench"
go build -o "$out/onair" ./cmd/onair
go build -o "$out/ssebench" ./internal/ssebench
# Holding the build lock keeps a large build from sharing the two cores with the
# measurement (and the measurement from slowing that build).
log "running the SSE benchmark (5,000 clients unless -clients says otherwise)"
with_build_lock "$out/ssebench" -onair "$out/onair" "$@"
