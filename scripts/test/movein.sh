#!/usr/bin/env bash
# apps/movein: moving today's data in, and the restore drill, against real servers: a "legacy"
# PostgreSQL (Debian's, an older major, like today's Heroku database), a PostgreSQL 16 like the
# stack's, and a real S3-compatible server (versitygw). Self-contained: installs and builds what
# it needs, starts the three servers on 127.0.0.1 and stops them by their saved PIDs on exit.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

export DATAFRUITS_STATE="$STATE_DIR/movein"
services="$REPO_ROOT/scripts/services"
trap '"$services/s3.sh" stop; "$services/postgres16.sh" stop; "$services/postgres.sh" stop' EXIT

eval "$("$services/postgres.sh" start)"
legacy_admin="$DATABASE_URL"
eval "$("$services/postgres16.sh" start)"
stack_admin="postgres://$PG16_SUPERUSER@$PG16_HOST:$PG16_PORT/postgres?sslmode=require"
eval "$("$services/s3.sh" start)"

# pg_dump/pg_restore: the newest Debian ships here. pg_dump cannot dump a server newer than
# itself, so the drill backs up the newest server these tools can dump, and says which.
pg_dump_path=$(ls /usr/lib/postgresql/*/bin/pg_dump 2>/dev/null | sort -V | tail -1)
[ -n "$pg_dump_path" ] || { apt_install postgresql-client; pg_dump_path=$(ls /usr/lib/postgresql/*/bin/pg_dump | sort -V | tail -1); }
pg_bin=$(dirname "$pg_dump_path")
tools_major=$("$pg_bin/pg_dump" --version | sed -E 's/.*\) ([0-9]+).*/\1/')
legacy_major=$(psql -Atc 'SHOW server_version_num' "$legacy_admin" | cut -c1-2)
if [ "$tools_major" -ge 16 ]; then
  drill_admin="$stack_admin"
else
  drill_admin="$legacy_admin"
  log "pg_dump here is PostgreSQL $tools_major (Debian bookworm has no 16): the drill runs on PostgreSQL $legacy_major;" \
    "backing up the 16 server is checked to fail cleanly; the image (apps/movein/Dockerfile) carries 16's tools"
fi
export MOVEIN_TEST_LEGACY_ADMIN_URL="$legacy_admin" MOVEIN_TEST_STACK_ADMIN_URL="$stack_admin" MOVEIN_TEST_PG_BIN="$pg_bin" \
  MOVEIN_TEST_DRILL_ADMIN_URL="$drill_admin" MOVEIN_TEST_S3_ENDPOINT="$S3_ENDPOINT" MOVEIN_TEST_S3_KEY="$S3_KEY" MOVEIN_TEST_S3_SECRET="$S3_SECRET"

cd "$REPO_ROOT/apps/movein"
log "go vet ./... (apps/movein)"
with_build_lock go vet ./...
log "unit tests (apps/movein/internal)"
with_build_lock go test -count=1 ./internal/...
# Build the scenario tests under the lock, run them without it: they wait on servers, not CPUs.
bin="$DATAFRUITS_STATE/movein.test"
with_build_lock go test -c -o "$bin" ./cmd/movein
log "scenarios: migration from PostgreSQL $legacy_major and a bucket, bad input, restore drill (real PostgreSQL $legacy_major and 16, versitygw)"
out="$DATAFRUITS_STATE/go-test.log"
set +e
(cd cmd/movein && "$bin" -test.count=1 -test.v -test.timeout=15m) >"$out" 2>&1
rc=$?
set -e
grep -E '^\s*(--- |ok|FAIL|PASS)|figure:' "$out" | sed -E 's/^\s*movein_test\.go:[0-9]+: //' || true
[ $rc -eq 0 ] || { grep -E 'Error|error|_test.go' "$out" | tail -40 >&2; die "movein scenarios failed (full log: $out)"; }
grep -q -- '--- SKIP' "$out" && { grep -- '--- SKIP' -A2 "$out" >&2; log "some scenarios were skipped (full log: $out)"; }
passed=$(grep -c -- '--- PASS' "$out" || true)
echo "movein: $passed passed, 0 failed"
