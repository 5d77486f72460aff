#!/usr/bin/env bash
# `make bench`: the program's run time and resource count per stack under
# mocks, the prod cost estimate, and the two Go services' benchmarks (which
# start their own servers). Pass names to run a part: scripts/bench.sh program cost.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

parts=(program cost archiver onair relay)
[ $# -gt 0 ] && parts=("$@")
status=0
for part in "${parts[@]}"; do
  case "$part" in
    program)
      log "program under mocks, per stack (ns/op = one whole run)"
      go test -run '^$' -bench BenchmarkProgram -benchtime 20x ./infra/ | grep -E '^(Benchmark|ok)' || status=1 ;;
    cost)
      log "monthly cost estimate per stack"
      go run ./cmd/cost || status=1 ;;
    archiver|onair|relay)
      bash "scripts/bench/$part.sh" || status=1 ;;
    *) die "unknown part '$part'; parts are: program cost archiver onair relay" ;;
  esac
done
exit $status
