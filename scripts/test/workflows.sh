#!/usr/bin/env bash
# The delivery checks: actionlint over .github/workflows/, the workflow policy
# test (internal/workflowpolicy), and the refusal paths of scripts/rollback.sh.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
cd "$REPO_ROOT"

ACTIONLINT_VERSION=v1.7.12
actionlint_dir="$DATAFRUITS_CACHE/actionlint-$ACTIONLINT_VERSION"
actionlint="$actionlint_dir/actionlint"
if [ ! -x "$actionlint" ]; then
  log "building actionlint $ACTIONLINT_VERSION from the Go module proxy into $actionlint_dir (once)"
  with_build_lock env GOBIN="$actionlint_dir" go install -v "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi

# actionlint checks `run:` scripts with shellcheck when it is on PATH.
if ! command -v shellcheck >/dev/null 2>&1; then
  apt_install shellcheck || log "shellcheck could not be installed: run: scripts are not shellchecked"
fi

log "actionlint $("$actionlint" -version | head -1) over .github/workflows/"
start=$(date +%s%N)
"$actionlint" -color
log "actionlint passed in $(( ($(date +%s%N) - start) / 1000000 )) ms"

log "workflow policy: go test ./internal/workflowpolicy/ (the real workflows, then each fixture in testdata/)"
policy_out=$(go test -count=1 -v ./internal/workflowpolicy/ 2>&1) || { printf '%s\n' "$policy_out"; die "the workflow policy test failed"; }
grep -E -- '^\s*--- (PASS|FAIL)|checked [0-9]+ workflows|^ok' <<<"$policy_out"

# scripts/rollback.sh must refuse to run on a dirty tree, a missing commit or a
# commit that is not an ancestor of HEAD, and without the Pulumi CLI, before it
# changes anything. Each case runs in a throwaway repository; a stub `pulumi`
# stands in for the CLI (it would talk to DigitalOcean) in the last case.
log "rollback.sh: refusal paths, in a temporary repository"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
repo="$tmp/repo"
mkdir -p "$repo/scripts" "$tmp/bin"
cp scripts/lib.sh scripts/rollback.sh "$repo/scripts/"
chmod +x "$repo/scripts/rollback.sh"
cp .gitignore Pulumi.yaml "$repo/"
git -C "$repo" init -q -b main
git -C "$repo" config user.email test@example.invalid
git -C "$repo" config user.name test
printf 'config: {}\n' > "$repo/Pulumi.staging.yaml"
echo one > "$repo/change.txt"
git -C "$repo" add -A && git -C "$repo" commit -q -m base
echo two > "$repo/change.txt"
git -C "$repo" commit -q -am "the change to roll back"
bad_change=$(git -C "$repo" rev-parse HEAD)
git -C "$repo" checkout -q -b side HEAD~1
echo side > "$repo/side.txt" && git -C "$repo" add side.txt && git -C "$repo" commit -q -m "not on main"
side_commit=$(git -C "$repo" rev-parse HEAD)
git -C "$repo" checkout -q main

# Only the tools rollback.sh needs besides pulumi, so "no pulumi" holds here
# even on a machine that has the CLI installed.
for tool in bash git env dirname cat mkdir date printf sed grep head tr wc ls; do
  ln -sf "$(command -v "$tool")" "$tmp/bin/$tool"
done

failures=0
# expect_refusal <name> <text the message must contain> <command...>
expect_refusal() {
  local name=$1 want=$2; shift 2
  local head_before out rc=0
  head_before=$(git -C "$repo" rev-parse HEAD)
  out=$(cd "$repo" && env -u YES PATH="$tmp/bin" DATAFRUITS_CACHE="$tmp/cache" "$@" </dev/null 2>&1) || rc=$?
  if [ "$rc" -eq 0 ]; then
    printf '  FAIL %s: exited 0; output:\n%s\n' "$name" "$out"; failures=$((failures + 1))
  elif ! grep -qF -- "$want" <<<"$out"; then
    printf '  FAIL %s: the message does not say %q; output:\n%s\n' "$name" "$want" "$out"; failures=$((failures + 1))
  elif [ "$(git -C "$repo" rev-parse HEAD)" != "$head_before" ]; then
    printf '  FAIL %s: HEAD moved; it must refuse before reverting\n' "$name"; failures=$((failures + 1))
  else
    printf '  ok   %s: %s\n' "$name" "$(grep -m1 -F -- "$want" <<<"$out")"
  fi
}

expect_refusal "no commit given" "no commit given" scripts/rollback.sh "" staging
expect_refusal "unknown commit" "is not a commit" scripts/rollback.sh 0123456789abcdef0123456789abcdef01234567 staging
expect_refusal "commit not on this branch" "not an ancestor of HEAD" scripts/rollback.sh "$side_commit" staging
expect_refusal "unknown stack" "no stack file Pulumi.nope.yaml" scripts/rollback.sh "$bad_change" nope
expect_refusal "no Pulumi CLI" "curl -fsSL https://get.pulumi.com | sh" scripts/rollback.sh "$bad_change" staging
echo dirty >> "$repo/change.txt"
expect_refusal "dirty work tree (tracked change)" "uncommitted changes" scripts/rollback.sh "$bad_change" staging
git -C "$repo" checkout -q -- change.txt
echo 'package main' > "$repo/untracked.go"
expect_refusal "dirty work tree (untracked file)" "uncommitted changes" scripts/rollback.sh "$bad_change" staging
rm "$repo/untracked.go"

# The path that does run: a stub pulumi records its calls; YES=1 confirms.
cat > "$tmp/bin/pulumi" <<'EOF'
#!/usr/bin/env bash
echo "pulumi $*" >> "$PULUMI_CALLS"
EOF
chmod +x "$tmp/bin/pulumi"
out=$(cd "$repo" && PATH="$tmp/bin" PULUMI_CALLS="$tmp/calls" YES=1 DATAFRUITS_CACHE="$tmp/cache" scripts/rollback.sh "$bad_change" staging 2>&1) \
  || { printf '  FAIL rollback with YES=1 exited non-zero:\n%s\n' "$out"; failures=$((failures + 1)); }
if [ "$(cat "$repo/change.txt")" = one ] \
  && grep -qx 'pulumi preview --stack staging --diff' "$tmp/calls" \
  && grep -q '^pulumi up --stack staging' "$tmp/calls" \
  && grep -qF 'git push' <<<"$out"; then
  printf '  ok   rollback with YES=1: reverted, previewed, applied, reminded to push\n'
else
  printf '  FAIL rollback with YES=1: calls:\n%s\noutput:\n%s\n' "$(cat "$tmp/calls" 2>/dev/null)" "$out"; failures=$((failures + 1))
fi

[ "$failures" -eq 0 ] || die "rollback.sh: $failures case(s) failed"
log "rollback.sh: all cases passed"
