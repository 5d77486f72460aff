#!/usr/bin/env bash
# apps/archiver: unit tests, black-box tests of the binary against a real PostgreSQL and a
# real S3-compatible server (versitygw), then the crash test. Self-contained: installs and
# builds what it needs, starts both servers on 127.0.0.1 and stops them on exit.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

# This suite's servers get their own state directory, so they never meet another suite's.
export DATAFRUITS_STATE="$STATE_DIR/apps-archiver"
services="$REPO_ROOT/scripts/services"
trap '"$services/s3.sh" stop; "$services/postgres.sh" stop' EXIT

eval "$("$services/postgres.sh" start)"
eval "$("$services/s3.sh" start)"
export ARCHIVER_TEST_DATABASE_URL="$DATABASE_URL" ARCHIVER_TEST_S3_ENDPOINT="$S3_ENDPOINT" \
  ARCHIVER_TEST_S3_READONLY_ENDPOINT="$S3_READONLY_ENDPOINT" ARCHIVER_TEST_S3_KEY="$S3_KEY" ARCHIVER_TEST_S3_SECRET="$S3_SECRET"

cd "$REPO_ROOT/apps/archiver"
log "go vet ./... (apps/archiver)"
go vet ./...
log "go test ./... (apps/archiver, real Postgres and S3)"
go test -count=1 ./...

log "crash test: SIGKILL at random points across ${ARCHIVER_CRASH_RECORDINGS:-60} recordings"
out="$DATAFRUITS_STATE/crash-test.log"
set +e
ARCHIVER_CRASH_TEST=1 go test -count=1 -v -run '^TestCrashRecovery$' ./cmd/archiver/ >"$out" 2>&1
rc=$?
set -e
grep -E '^(crash|    crash_test)' "$out" || true
grep -q '^crash: [0-9]* passed, 0 failed$' "$out" || { tail -40 "$out" >&2; die "crash test failed (full log: $out)"; }
[ $rc -eq 0 ] || { tail -40 "$out" >&2; die "crash test failed (full log: $out)"; }
