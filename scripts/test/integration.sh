#!/usr/bin/env bash
# The real-engine integration tests (test/integration, build tag `integration`):
# `pulumi up --stack local` on the embedded control plane until every workload
# is Ready, a second run that changes nothing, a rollback by git revert, a
# destroy that leaves nothing, and no generated secret in `pulumi stack export`.
#
# Without the Pulumi CLI or its provider plugins (scripts/prereqs.sh) it prints
# one line naming the skipped tests and why, and exits 0. Otherwise it starts
# the embedded control plane (unless one runs already), runs the tests, and
# stops what it started on exit, also on failure.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$REPO_ROOT/scripts/controlplane/versions.sh"
source "$REPO_ROOT/scripts/prereqs.sh"
cd "$REPO_ROOT"

tests=$(sed -n -E 's/^func (Test[A-Za-z0-9_]+)\(t \*testing\.T\).*/\1/p' test/integration/*_test.go | paste -sd, - | sed 's/,/, /g')
if ! reason=$(prereqs_reason); then
  echo "integration: skipped ($tests): $reason"
  exit 0
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
