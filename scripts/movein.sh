#!/usr/bin/env bash
# Runs apps/movein (make migrate, make restore): builds it (under the build lock; Go's cache makes
# a rebuild instant) and passes the arguments through. Credentials go in the environment, never in
# arguments: see apps/movein/README.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: scripts/movein.sh migrate-db|copy-bucket|backup|restore [flags] (apps/movein/README.md)"
bin="$STATE_DIR/bin/movein"
mkdir -p "$(dirname "$bin")"
(cd "$REPO_ROOT/apps/movein" && with_build_lock go build -o "$bin" ./cmd/movein)
exec "$bin" "$@"
