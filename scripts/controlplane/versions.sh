# Pinned versions of the embedded control plane and where its binaries live.
# Source it after scripts/lib.sh. Changing a version changes the cache key, so
# the next run builds the new binaries and leaves the old ones in the cache.
# The Kubernetes version must match tools/controlplane/kubernetes/go.mod, and the
# etcd version tools/controlplane/etcd/go.mod.
# shellcheck shell=bash

K8S_VERSION=v1.35.4
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0

CONTROLPLANE_BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
CONTROLPLANE_KEY="k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
CONTROLPLANE_HOME="$DATAFRUITS_CACHE/controlplane/$CONTROLPLANE_KEY"
CONTROLPLANE_BIN="$CONTROLPLANE_HOME/bin"
# Runtime state of this clone's control plane: PIDs, certificates, etcd data, logs.
CONTROLPLANE_STATE="$STATE_DIR/controlplane"
