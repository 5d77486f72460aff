#!/usr/bin/env bash
# The Kubernetes contract test: builds the embedded control plane when the
# cache lacks it, starts it (unless it already runs), applies every stack's
# Kubernetes objects and the fixture's to it, and stops what it started on
# exit, also on failure. What is checked: docs/contract.md.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$REPO_ROOT/scripts/controlplane/versions.sh"
cd "$REPO_ROOT"

started_here=false
stop_if_started() {
  if $started_here; then
    "$REPO_ROOT/scripts/controlplane/stop.sh" || true
  fi
}
trap stop_if_started EXIT
# Bash skips the EXIT trap when a signal kills it; turn signals into exits.
trap 'exit 130' INT
trap 'exit 143' TERM

if "$REPO_ROOT/scripts/controlplane/status.sh" >/dev/null; then
  log "reusing the running control plane (started outside this test; left running)"
else
  started_here=true
  t0=$(date +%s.%N)
  "$REPO_ROOT/scripts/controlplane/start.sh" >/dev/null
  log "control plane up in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $t0}")s (build check included)"
fi
export KUBECONFIG="$CONTROLPLANE_STATE/admin.kubeconfig"

# The six charts are rendered with helm at the version the pinned
# pulumi-kubernetes provider embeds (provider/go.mod of v4.32.0), from the
# offline mirror when one is given, else from their repositories.
HELM_VERSION=v3.20.2
CONTRACT_HELM=$(cached_go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" \
  "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION")
export CONTRACT_HELM
if [ -n "${DATAFRUITS_MIRROR:-}" ]; then
  export CONTRACT_CHART_MIRROR="$DATAFRUITS_MIRROR/charts"
fi

# Compile under the machine-wide build lock, run outside it.
bin="$STATE_DIR/contract"
mkdir -p "$bin"
packages=(./internal/contract/)
if grep -qs 'func run(ctx \*pulumi.Context) error' infra/*.go; then
  packages+=(./infra/)
else
  log "WARNING: infra/ has no program (func run) yet: only the fixture contract tests run"
fi
log "compiling the contract tests (${packages[*]})"
for p in "${packages[@]}"; do
  with_build_lock go test -tags contract -c -o "$bin/$(basename "$p").test" "$p"
done
with_build_lock go vet -tags contract "${packages[@]}"

status=0
log "fixture contract tests against the embedded API server (internal/contract)"
(cd internal/contract && "$bin/contract.test" -test.count=1 -test.v -test.run 'TestFixture|TestService|TestUnknown|TestMissing') || status=1
if [[ " ${packages[*]} " == *" ./infra/ "* ]]; then
  log "stack contract tests: go test -tags contract -count=1 -v ./infra/ -run TestContract"
  (cd infra && "$bin/infra.test" -test.count=1 -test.v -test.run TestContract) || status=1
fi
exit $status
