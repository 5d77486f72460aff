#!/usr/bin/env bash
# Stops the embedded control plane by the PIDs start.sh saved, in reverse start
# order. Keeps certificates and etcd data, so the next start is quick; remove
# .state/controlplane to start from an empty cluster.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/versions.sh"

stopped=0
for c in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  pidfile="$CONTROLPLANE_STATE/$c.pid"
  [ -f "$pidfile" ] || continue
  stop_pidfile "$pidfile"
  stopped=$((stopped + 1))
done
if [ $stopped -eq 0 ]; then
  log "control plane was not running"
else
  log "control plane stopped ($stopped processes)"
fi
