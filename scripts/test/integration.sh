#!/usr/bin/env bash
# The real-engine integration tests (test/integration, build tag `integration`):
# `pulumi up --stack local` with the six charts on the embedded control plane
# until every workload is Ready, a second run that changes nothing, a rollback
# by git revert, a destroy that leaves nothing, and no generated secret in
# `pulumi stack export`.
#
# It installs the pinned Pulumi CLI and plugins first (scripts/install-pulumi.sh:
# from DATAFRUITS_MIRROR when set, else Pulumi's release downloads). With a
# mirror given, a failed install fails the suite; without one (a machine with
# no internet and no mirror) it prints one line naming the skipped tests and
# why, and exits 0. It starts the embedded control plane (unless one runs
# already), runs the tests, and stops what it started on exit, also on failure.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$REPO_ROOT/scripts/controlplane/versions.sh"
source "$REPO_ROOT/scripts/install-pulumi.sh"
cd "$REPO_ROOT"

tests=$(sed -n -E 's/^func (Test[A-Za-z0-9_]+)\(t \*testing\.T\).*/\1/p' test/integration/*_test.go | paste -sd, - | sed 's/,/, /g')
if [ -n "${DATAFRUITS_MIRROR:-}" ]; then
  ensure_pulumi
elif ! (ensure_pulumi) >/dev/null 2>&1; then
  echo "integration: skipped ($tests): the Pulumi CLI and plugins could not be downloaded and no DATAFRUITS_MIRROR is set"
  exit 0
else
  ensure_pulumi
fi
if ! reason=$(prereqs_reason); then
  die "the Pulumi CLI or plugins are still missing after installing them: $reason"
fi

started_here=false
stop_if_started() {
  if $started_here; then
    "$REPO_ROOT/scripts/controlplane/stop.sh" || true
  fi
}
trap stop_if_started EXIT

if "$REPO_ROOT/scripts/controlplane/status.sh" >/dev/null; then
  log "reusing the running control plane (started outside this test; left running)"
else
  started_here=true
  "$REPO_ROOT/scripts/controlplane/start.sh" >/dev/null
fi

# The engine runs the program with `go run` (the Go language host's
# PULUMI_GO_USE_RUN switch) instead of its default `go build -trimpath`:
# -trimpath gives every package a different build-cache key, so the first
# preview would compile the Pulumi, Kubernetes and DigitalOcean SDKs a second
# time (over 40 minutes on two cores); `go run` reuses what the unit suite
# compiled. Same program, same engine, same plugins.
export PULUMI_GO_USE_RUN=true
# The tests' one copy of the project lives at a fixed path, so the packages
# `go run` compiles there stay in Go's build cache from run to run.
export INTEGRATION_WORKDIR="$STATE_DIR/integration/work"

# Compile under the machine-wide build lock, run outside it. Each `pulumi up`
# waits for its workloads; the whole suite takes minutes, so the default
# ten-minute go test timeout is too short.
bin="$STATE_DIR/integration"
mkdir -p "$bin"
log "compiling the integration tests"
with_build_lock go test -tags integration -c -o "$bin/integration.test" ./test/integration/
log "go test -tags integration -count=1 -v ./test/integration/ (pulumi $(pulumi_cli_version), kubeconfig $CONTROLPLANE_STATE/admin.kubeconfig)"
cd test/integration
INTEGRATION_KUBECONFIG="$CONTROLPLANE_STATE/admin.kubeconfig" \
  "$bin/integration.test" -test.count=1 -test.v -test.timeout="${INTEGRATION_TIMEOUT:-60m}" "$@"
