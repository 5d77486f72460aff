#!/usr/bin/env bash
# The connectivity check: every row of components/netpol/connectivity.yaml
# (flows the station needs, flows that must be refused) is evaluated against
# the NetworkPolicies and CiliumNetworkPolicies the program declares for each
# committed stack. Step 1 runs the program under mocks and records its policies
# and pods (infra's TestRecordNetworkPolicies); step 2 evaluates the rows with
# cyclonus' NetworkPolicy matcher plus a small Cilium entity evaluator
# (tools/netpolcheck, its own module). A failure names the row.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"

export NETPOL_RECORD_DIR="$STATE_DIR/netpol"
rm -rf "$NETPOL_RECORD_DIR"
mkdir -p "$NETPOL_RECORD_DIR/bin"

log "compiling the program's tests (infra) to record its policies"
with_build_lock go test -c -o "$NETPOL_RECORD_DIR/bin/infra.test" ./infra/
record_log="$NETPOL_RECORD_DIR/record.log"
if ! (cd infra && "$NETPOL_RECORD_DIR/bin/infra.test" -test.count=1 -test.run '^TestRecordNetworkPolicies$' -test.v) >"$record_log" 2>&1; then
  cat "$record_log" >&2
  die "recording the program's policies failed (log above)"
fi
grep -E 'NetworkPolicies, .* workloads' "$record_log" | sed 's/^ *netpol_record_test.go:[0-9]*: /    /' >&2

log "evaluating the connectivity table (tools/netpolcheck, cyclonus matcher)"
cd tools/netpolcheck
with_build_lock go vet ./...
go test -count=1 -v ./... 2>&1 | grep -vE '^=== (RUN|PAUSE|CONT)'
