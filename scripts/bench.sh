#!/usr/bin/env bash
# `make bench`: the program's run time and resource count per stack under
# mocks, the prod cost estimate, the two Go services' benchmarks (which
# start their own servers), and the real engine's figures (make up to all
# Ready, a no-op preview of local, previews of staging and prod; the
# integration suite, which installs the CLI and starts the control plane).
# Pass names to run a part: scripts/bench.sh program cost engine.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

parts=(program cost archiver onair relay engine)
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
    engine)
      log "real engine: up with the charts, a no-op preview and second up, previews of staging and prod"
      started=$(date +%s)
      out=$(bash scripts/test/integration.sh -test.run 'TestLocalStackUp|TestNoChangesOnSecondRun|TestPreviewStagingAndProd' 2>&1) || status=1
      grep -E 'figure:|^(--- |ok|FAIL|integration: skipped)' <<<"$out" | sed 's/^ *//'
      log "engine figures took $(( $(date +%s) - started ))s in all" ;;
    *) die "unknown part '$part'; parts are: program cost archiver onair relay engine" ;;
  esac
done
exit $status
