#!/usr/bin/env bash
# Unit tests of the Pulumi program and its components, under pulumi.WithMocks.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"
log "go vet ./..."
go vet ./...
log "go test ./... (mocks; no cloud account)"
go test -count=1 ./...
