#!/usr/bin/env bash
# Builds the Traefik binary the edge suite runs, from the Go module proxy at the
# version pinned in tools/traefik/go.mod, into $DATAFRUITS_CACHE/traefik-<version>/
# and prints its path. A binary already in the cache is never rebuilt.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

module_dir="$REPO_ROOT/tools/traefik"
version=$(awk '$1 == "github.com/traefik/traefik/v3" && $2 ~ /^v/ {print $2} $1 == "require" && $2 == "github.com/traefik/traefik/v3" {print $3}' "$module_dir/go.mod")
[ -n "$version" ] || die "tools/traefik/go.mod does not require github.com/traefik/traefik/v3"
dir="$DATAFRUITS_CACHE/traefik-$version"
bin="$dir/traefik"

build() {
  [ -x "$bin" ] && return 0 # another clone built it while we waited for the lock
  local started tmp
  started=$(date +%s)
  mkdir -p "$dir"
  tmp="$dir/.traefik.partial"
  rm -f "$tmp"
  log "building Traefik $version (cold build about 10 min on 2 cores)"
  # Traefik's own module is missing from the checksum database: go.sum pins it.
  (cd "$module_dir" && env GOTOOLCHAIN=local GOFLAGS=-p=2 GONOSUMDB="$GONOSUMDB,github.com/traefik/traefik/v3" \
    go build -trimpath -ldflags="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$version" \
    -o "$tmp" github.com/traefik/traefik/v3/cmd/traefik)
  mv "$tmp" "$bin"
  log "built Traefik $version in $(( $(date +%s) - started ))s into $bin"
}

command -v go >/dev/null || die "go is not on PATH (expected /usr/local/go/bin)"
[ -x "$bin" ] || with_build_lock build
echo "$bin"
