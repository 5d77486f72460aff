#!/usr/bin/env bash
# Alerts reach Discord: builds Alertmanager v0.28.1 and promtool v3.2.1 (the
# kube-prometheus-stack 70.0.0 versions) once, exports what the program
# declares for monitoring (prod stack under mocks, the Discord webhook pointing
# at a local stand-in), then checks it with the upstream code that reads it:
# prometheus-operator v0.81.0's generator and the chart's CRD, a real
# Alertmanager delivering to the Discord stand-in, promtool unit tests of
# every rule, Prometheus' relabelling for cert-manager and Traefik metrics,
# and Prometheus' PromQL parser for every dashboard panel.
# Needs the pinned charts: DATAFRUITS_CHARTS (default ../shared/charts).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"

state="$STATE_DIR/alerts"
mkdir -p "$state"
charts="${DATAFRUITS_CHARTS:-${DATAFRUITS_MIRROR:-$REPO_ROOT/../shared}/charts}"
for c in kube-prometheus-stack-70.0.0.tgz cert-manager-v1.18.2.tgz traefik-39.0.2.tgz; do
  [ -f "$charts/$c" ] || die "chart $c not found in $charts: set DATAFRUITS_CHARTS to the folder holding the pinned charts"
done

eval "$("$REPO_ROOT/scripts/alerts/build.sh")"

# The Discord stand-in runs inside the Go test; the program is exported with
# its URL as the webhook, so the operator and Alertmanager post there.
discord_port=$(free_port 20480)
export ALERTS_DISCORD_URL="https://127.0.0.1:$discord_port/api/webhooks/160016/alerts-suite-token"
export ALERTS_EXPORT="$state/declared.json"

log "exporting what the program declares (prod stack under mocks, webhook $ALERTS_DISCORD_URL)"
with_build_lock go test -c -o "$state/infra.test" ./infra/
(cd infra && "$state/infra.test" -test.count=1 -test.run '^TestExportMonitoring$') >"$state/export.log" 2>&1 ||
  { cat "$state/export.log" >&2; die "exporting the program's monitoring resources failed"; }

log "checking it with prometheus-operator v0.81.0, Alertmanager, promtool and Prometheus' parsers (tools/alertcheck)"
cd "$REPO_ROOT/tools/alertcheck"
with_build_lock go test -c -o "$state/alertcheck.test" .
with_build_lock go vet .
ALERTCHECK_EXPORT="$ALERTS_EXPORT" ALERTCHECK_CHARTS="$charts" ALERTCHECK_REPO="$REPO_ROOT" \
  ALERTMANAGER="$ALERTMANAGER" PROMTOOL="$PROMTOOL" "$state/alertcheck.test" -test.count=1 -test.v
