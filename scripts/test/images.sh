#!/usr/bin/env bash
# Every station image fits the pod the program declares for it: exports what the
# program declares for every committed stack under mocks (infra's
# TestExportWorkloads), then tools/imagecheck reads each image's Dockerfile with
# BuildKit's own parser and holds it against those pods (USER and runAsUser,
# the ports probes and Services reach, the paths written under a read-only root,
# no secret in ENV or ARG, exact base versions), and proves each check fails on
# a bad fixture. Static: no image is built or pulled (no Docker engine needed);
# .github/workflows/images.yml builds them.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"

state="$STATE_DIR/images"
mkdir -p "$state"
export IMAGES_EXPORT="$state/declared.json"
rm -f "$IMAGES_EXPORT"

log "exporting the workloads the program declares (every committed stack under mocks)"
start=$(date +%s)
with_build_lock go test -c -o "$state/infra.test" ./infra/
(cd infra && "$state/infra.test" -test.count=1 -test.run '^TestExportWorkloads$' -test.v) >"$state/export.log" 2>&1 ||
  { cat "$state/export.log" >&2; die "exporting the program's workloads failed"; }
[ -s "$IMAGES_EXPORT" ] || die "the export wrote nothing to $IMAGES_EXPORT"
log "exported in $(( $(date +%s) - start ))s: $(grep -o 'wrote .*' "$state/export.log")"

log "holding each Dockerfile against its pods (tools/imagecheck, BuildKit's parser)"
cd "$REPO_ROOT/tools/imagecheck"
with_build_lock go vet .
with_build_lock go test -c -o "$state/imagecheck.test" .
IMAGECHECK_EXPORT="$IMAGES_EXPORT" IMAGECHECK_REPO="$REPO_ROOT" "$state/imagecheck.test" -test.count=1 -test.v
