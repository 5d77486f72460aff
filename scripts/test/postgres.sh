#!/usr/bin/env bash
# The database set-up the program renders, run against a real PostgreSQL 16 that reproduces
# DigitalOcean's managed model (databases owned by the admin, app users without privileges)
# and the local stack's in-cluster PostgreSQL. Self-contained: fetches and starts the server on
# 127.0.0.1 and stops it on exit.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

export DATAFRUITS_STATE="$STATE_DIR/postgres"
services="$REPO_ROOT/scripts/services"
trap '"$services/postgres16.sh" stop' EXIT

eval "$("$services/postgres16.sh" start)"
export DATAFRUITS_TEST_PG16_HOST="$PG16_HOST" DATAFRUITS_TEST_PG16_PORT="$PG16_PORT" DATAFRUITS_TEST_PG16_SUPERUSER="$PG16_SUPERUSER"

# postgres_exporter at the version the program deploys (stacks/defaults.go), for the
# connections alert; built once into the cache.
exporter_version=$(sed -n -E 's|.*"quay.io/prometheuscommunity/postgres-exporter:(v[0-9.]+)".*|\1|p' "$REPO_ROOT/stacks/defaults.go")
[ -n "$exporter_version" ] || die "no postgres-exporter image version found in stacks/defaults.go"
grep -Eq "github.com/prometheus-community/postgres_exporter $exporter_version( |\$)" "$REPO_ROOT/tools/postgresexporter/go.mod" ||
  die "tools/postgresexporter/go.mod does not require postgres_exporter $exporter_version, the version stacks/defaults.go deploys"
export DATAFRUITS_TEST_PG_EXPORTER="$DATAFRUITS_CACHE/postgres_exporter-$exporter_version/postgres_exporter"
if [ ! -x "$DATAFRUITS_TEST_PG_EXPORTER" ]; then
  log "building postgres_exporter $exporter_version through the Go module proxy (once per version)"
  started=$(date +%s)
  mkdir -p "$(dirname "$DATAFRUITS_TEST_PG_EXPORTER")"
  (cd "$REPO_ROOT/tools/postgresexporter" && with_build_lock go build -trimpath -o "$DATAFRUITS_TEST_PG_EXPORTER.partial" \
    github.com/prometheus-community/postgres_exporter/cmd/postgres_exporter) || die "building postgres_exporter $exporter_version failed"
  mv "$DATAFRUITS_TEST_PG_EXPORTER.partial" "$DATAFRUITS_TEST_PG_EXPORTER"
  log "built postgres_exporter $exporter_version in $(( $(date +%s) - started ))s"
fi

cd "$REPO_ROOT"
log "go test ./infra -run TestDatabaseSetup (the program's set-up Job on PostgreSQL $("$PG16_BIN/postgres" --version | awk '{print $3}'))"
out="$DATAFRUITS_STATE/go-test.log"
set +e
go test -count=1 -v -run '^TestDatabaseSetup' ./infra/ >"$out" 2>&1
rc=$?
set -e
grep -E '^\s*(--- |database_pg_test\.go)' "$out" || true
[ $rc -eq 0 ] || { tail -40 "$out" >&2; die "database set-up tests failed (full log: $out)"; }
grep -q -- '--- SKIP' "$out" && die "database set-up tests were skipped (full log: $out)"
true
