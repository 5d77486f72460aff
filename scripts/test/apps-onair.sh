#!/usr/bin/env bash
# Tests of apps/onair: unit tests, then the whole service against a real Icecast
# (Debian's icecast2 on 127.0.0.1) with ffmpeg pushing a generated tone.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

apt_install icecast2 ffmpeg
icecast="$REPO_ROOT/scripts/services/icecast.sh"
trap '"$icecast" stop' EXIT
"$icecast" start
# shellcheck disable=SC1091
source "$STATE_DIR/icecast/env"

cd "$REPO_ROOT/apps/onair"
log "go vet ./... (apps/onair)"
go vet ./...
log "go test ./... (apps/onair, Icecast at $ICECAST_URL)"
# CI=true makes the Icecast tests fail instead of skipping if this setup broke.
CI=true ONAIR_TEST_ICECAST_URL="$ICECAST_URL" ONAIR_TEST_SOURCE_PASSWORD="$ICECAST_SOURCE_PASSWORD" \
  go test -count=1 -timeout 5m ./...
