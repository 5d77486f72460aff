#!/usr/bin/env bash
# Exits 0 when every process of the embedded control plane is running (by the
# PIDs start.sh saved), 1 otherwise; prints which ones are.
set -uo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/versions.sh"

up=0 down=0
for c in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
  pidfile="$CONTROLPLANE_STATE/$c.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "$c running (pid $(cat "$pidfile"))"; up=$((up + 1))
  else
    echo "$c stopped"; down=$((down + 1))
  fi
done
[ $down -eq 0 ]
