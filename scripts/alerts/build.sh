#!/usr/bin/env bash
# Builds the monitoring binaries the alerts suite runs, at the versions
# kube-prometheus-stack 70.0.0 deploys (its values.yaml: alertmanager v0.28.1,
# prometheus v3.2.1), through the Go module proxy, cached by version under
# $DATAFRUITS_CACHE/<name>/<version>/. A cached binary is never rebuilt.
# Prints NAME=path lines for eval:
#   eval "$(scripts/alerts/build.sh)"   # ALERTMANAGER=... PROMTOOL=...
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

ALERTMANAGER_VERSION=v0.28.1
# Prometheus v3.2.1 is Go module v0.302.1; tools/promtool/go.mod pins it.
PROMTOOL_VERSION=v3.2.1

# build_cached NAME VERSION DIR PACKAGE builds PACKAGE in module directory DIR
# (empty: `go install PACKAGE@VERSION`) into the cache, through a temporary
# file so an interrupted build never looks cached.
build_cached() {
  local name=$1 version=$2 dir=$3 pkg=$4
  local out="$DATAFRUITS_CACHE/$name/$version/$name"
  if [ ! -x "$out" ]; then
    mkdir -p "$(dirname "$out")"
    local tmp="$out.partial" started
    started=$(date +%s)
    log "building $name $version through the Go module proxy (once; a few minutes on two cores)"
    if [ -n "$dir" ]; then
      (cd "$dir" && with_build_lock env GOTOOLCHAIN=local GOFLAGS=-p=2 go build -trimpath -ldflags='-s -w' -o "$tmp" "$pkg")
    else
      local gobin
      gobin=$(mktemp -d)
      with_build_lock env GOTOOLCHAIN=local GOFLAGS=-p=2 GOBIN="$gobin" go install -trimpath -ldflags='-s -w' "$pkg@$version"
      mv "$gobin/$name" "$tmp" && rmdir "$gobin"
    fi
    mv "$tmp" "$out"
    log "built $name $version in $(( $(date +%s) - started ))s"
  fi
  echo "$out"
}

am=$(build_cached alertmanager "$ALERTMANAGER_VERSION" "" github.com/prometheus/alertmanager/cmd/alertmanager)
pt=$(build_cached promtool "$PROMTOOL_VERSION" "$REPO_ROOT/tools/promtool" github.com/prometheus/prometheus/cmd/promtool)
echo "ALERTMANAGER=$am"
echo "PROMTOOL=$pt"
