#!/usr/bin/env bash
# The edge: the real Traefik, at the Traefik chart's app version, with the
# entrypoint flags the program gives the chart for each stack, in front of
# stand-in backends on 127.0.0.1. Checks the HTTP→HTTPS redirect, Let's
# Encrypt's HTTP-01 path, the RTMP and DJ TCP entrypoints, PROXY protocol from
# the load balancer and long-lived connections (infra/traefik_test.go).
# Self-contained: builds Traefik once into the cache; the test starts and
# stops one Traefik per stack itself.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"

export EDGE_STATE="$STATE_DIR/edge"
mkdir -p "$EDGE_STATE"
EDGE_TRAEFIK_BIN=$("$REPO_ROOT/scripts/edge/build-traefik.sh")
export EDGE_TRAEFIK_BIN
log "$("$EDGE_TRAEFIK_BIN" version | tr -s ' \n' ' ')"

# Compile under the machine-wide build lock, run outside it.
log "compiling the edge test (infra, build tag edge)"
with_build_lock go test -tags edge -c -o "$EDGE_STATE/infra.test" ./infra/
with_build_lock go vet -tags edge ./infra/
log "edge test: Traefik per stack, listener stream and DJ connection for ${EDGE_STREAM_SECONDS:-70}s (Traefik logs in $EDGE_STATE)"
cd infra
"$EDGE_STATE/infra.test" -test.count=1 -test.v -test.run '^TestEdge$' -test.timeout 15m
