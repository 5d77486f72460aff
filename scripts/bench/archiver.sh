#!/usr/bin/env bash
# apps/archiver benchmark: upload throughput of the archiver next to a direct minio-go upload
# of the same files in the same run, and peak memory while archiving a 1 GiB recording.
# Starts its own PostgreSQL and versitygw on 127.0.0.1 and stops them on exit.
# ARCHIVER_BENCH_FILES / ARCHIVER_BENCH_FILE_MIB size the throughput set (default 8 × 128 MiB).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

export DATAFRUITS_STATE="$STATE_DIR/bench-archiver"
services="$REPO_ROOT/scripts/services"
trap '"$services/s3.sh" stop; "$services/postgres.sh" stop' EXIT

eval "$("$services/postgres.sh" start)"
eval "$("$services/s3.sh" start)"
export ARCHIVER_TEST_DATABASE_URL="$DATABASE_URL" ARCHIVER_TEST_S3_ENDPOINT="$S3_ENDPOINT" \
  ARCHIVER_TEST_S3_READONLY_ENDPOINT="$S3_READONLY_ENDPOINT" ARCHIVER_TEST_S3_KEY="$S3_KEY" ARCHIVER_TEST_S3_SECRET="$S3_SECRET"
ARCHIVER_BENCH_S3_PID=$(cat "$DATAFRUITS_STATE/s3/gateway.pid")
export ARCHIVER_BENCH_S3_PID

cd "$REPO_ROOT/apps/archiver"
log "archiver benchmark (load average: $(cut -d' ' -f1-3 /proc/loadavg); other work on the 2 cores moves the figures)"
go test -count=1 -run '^$' -bench '^BenchmarkArchiver$' -benchtime 1x ./cmd/archiver/ | grep -E '^(throughput|cpu seconds|peak memory|Benchmark)'
