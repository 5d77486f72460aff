#!/usr/bin/env bash
# Builds the embedded Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok) from the Go module proxy at the
# versions pinned in versions.sh, caches the binaries by version under
# $DATAFRUITS_CACHE/controlplane/<versions>/bin and links that folder to
# .tools/controlplane. A binary already in the cache is never rebuilt, so a
# second run builds nothing. A cold build takes about 12 minutes on two cores.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/versions.sh"

link_tools() {
  mkdir -p "$REPO_ROOT/.tools"
  ln -sfn "$CONTROLPLANE_HOME" "$REPO_ROOT/.tools/controlplane"
}

missing_binaries() {
  local b
  for b in "${CONTROLPLANE_BINARIES[@]}"; do
    [ -x "$CONTROLPLANE_BIN/$b" ] || echo "$b"
  done
}

# build_one builds one binary into a temporary file and moves it into the cache
# only when the build succeeded, so an interrupted build never looks cached.
build_one() {
  local name=$1 started tmp
  started=$(date +%s)
  tmp="$CONTROLPLANE_BIN/.$name.partial"
  rm -f "$tmp"
  # -p=2 bounds memory (the kube-apiserver link alone takes about 2 GB); GOTOOLCHAIN=local
  # keeps the build from fetching a newer Go toolchain.
  local -a gobuild=(env GOTOOLCHAIN=local GOFLAGS=-p=2 go build -trimpath)
  case $name in
    etcd)
      (cd "$REPO_ROOT/tools/controlplane/etcd" &&
        "${gobuild[@]}" -ldflags='-s -w' -o "$tmp" go.etcd.io/etcd/server/v3) ;;
    kube-apiserver | kube-controller-manager | kube-scheduler)
      # Without these the binaries report v0.0.0-master and kwok/kubectl show a bogus version.
      local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
      local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
      (cd "$REPO_ROOT/tools/controlplane/kubernetes" &&
        "${gobuild[@]}" -ldflags="$ldflags" -o "$tmp" "k8s.io/kubernetes/cmd/$name") ;;
    kwok)
      # kwok's go.mod has no replace lines, so it installs straight from the proxy.
      local gobin; gobin=$(mktemp -d)
      env GOTOOLCHAIN=local GOFLAGS=-p=2 GOBIN="$gobin" go install -trimpath -ldflags='-s -w' \
        "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
      mv "$gobin/kwok" "$tmp"; rmdir "$gobin" ;;
    *) die "unknown control-plane binary $name" ;;
  esac
  mv "$tmp" "$CONTROLPLANE_BIN/$name"
  log "  built $name in $(( $(date +%s) - started ))s"
}

# write_kwok_stages saves the "fast" stage set kwokctl uses (nodes Ready at once,
# pods Running and Ready at once, deletions finished) from the kwok module
# itself, next to the binaries: kwok refuses to start without stages.
write_kwok_stages() {
  local out="$CONTROLPLANE_HOME/kwok-stages.yaml" dir f
  [ -f "$out" ] && return 0
  dir=$(cd "$REPO_ROOT" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "cannot find the kwok $KWOK_VERSION module source for its stage definitions"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    echo "---"; cat "$dir/kustomize/stage/$f"
  done >"$out.tmp"
  mv "$out.tmp" "$out"
}

build_missing() {
  local todo=() started b
  mapfile -t todo < <(missing_binaries)
  [ ${#todo[@]} -eq 0 ] && return 0
  started=$(date +%s)
  mkdir -p "$CONTROLPLANE_BIN"
  log "building control plane $CONTROLPLANE_KEY: ${todo[*]} (cold build about 12 min on 2 cores)"
  for b in "${todo[@]}"; do
    log "  building $b ..."
    build_one "$b"
  done
  log "control plane built in $(( $(date +%s) - started ))s into $CONTROLPLANE_BIN"
}

command -v go >/dev/null || die "go is not on PATH (expected /usr/local/go/bin)"
if [ -z "$(missing_binaries)" ]; then
  log "control plane $CONTROLPLANE_KEY is cached in $CONTROLPLANE_BIN (nothing to build)"
else
  # Re-check under the lock: another clone may have built it while we waited.
  with_build_lock build_missing
fi
write_kwok_stages
link_tools
