#!/usr/bin/env bash
# Roll back a merged change: revert its commit in git, preview the result
# against one stack, and apply it after confirmation.
#
#   make rollback COMMIT=<sha> [STACK=staging|prod] [YES=1]
#   scripts/rollback.sh [--yes] <commit> [stack]
#
# Reverting in git, rather than restoring an old state file, keeps git the
# record of what runs: push the revert afterwards and CI applies the same thing.
# Read docs/delivery.md ("Rollback") first: a revert does not bring back a
# dropped database or deleted objects, and protected resources refuse deletion.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage="usage: make rollback COMMIT=<sha> [STACK=staging|prod] [YES=1]  (or: scripts/rollback.sh [--yes] <commit> [stack])"
assume_yes="${YES:-}"
positional=()
for arg in "$@"; do
  case "$arg" in
    -y | --yes) assume_yes=1 ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) positional+=("$arg") ;;
  esac
done
commit="${positional[0]:-}"
stack="${positional[1]:-staging}"

[ -n "$commit" ] || die "no commit given. $usage"
cd "$REPO_ROOT"
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || die "$REPO_ROOT is not a git work tree"

# Untracked files count: an untracked .go file in infra/ or components/ would
# be compiled into the program and deployed with the revert.
if [ -n "$(git status --porcelain)" ]; then
  die "the work tree has uncommitted changes; commit or remove them first, so the stack gets exactly the reverted commit:
$(git status --short)"
fi

sha=$(git rev-parse --verify --quiet "${commit}^{commit}") \
  || die "'$commit' is not a commit in this repository (run git fetch, or check the SHA)"
git merge-base --is-ancestor "$sha" HEAD \
  || die "$commit is not an ancestor of HEAD ($(git rev-parse --short HEAD) on $(git branch --show-current)); check out the branch it was merged into (main) and pull"

stack_file="Pulumi.${stack##*/}.yaml"
[ -f "$stack_file" ] \
  || die "no stack file $stack_file; stacks here: $(cd "$REPO_ROOT" && ls Pulumi.*.yaml 2>/dev/null | sed 's/^Pulumi\.//; s/\.yaml$//' | tr '\n' ' ')"

command -v pulumi >/dev/null 2>&1 || die "the Pulumi CLI is not installed. Install it with:
  curl -fsSL https://get.pulumi.com | sh     (or: brew install pulumi/tap/pulumi)
then log in to the stack's backend (pulumi login; see docs/delivery.md) and run this again. Nothing was changed."
pulumi whoami >/dev/null 2>&1 \
  || die "the Pulumi CLI is not logged in; run pulumi login (PULUMI_ACCESS_TOKEN, or PULUMI_BACKEND_URL for the Spaces backend; see docs/delivery.md). Nothing was changed."

# A merge commit is reverted against its first parent: the branch it was merged into.
revert_args=(--no-edit)
if [ "$(git rev-list --no-walk --parents "$sha" | wc -w)" -gt 2 ]; then
  revert_args+=(-m 1)
fi
log "reverting $(git log -1 --format='%h %s' "$sha")"
git revert "${revert_args[@]}" "$sha" \
  || die "git revert stopped (a conflict with a later change). Resolve it and commit, or git revert --abort; then rerun: pulumi preview --stack $stack --diff"

undo_hint="to drop the local revert commit instead: git reset --hard HEAD~1"
log "preview of stack $stack with the revert"
pulumi preview --stack "$stack" --diff \
  || die "the preview failed; nothing was applied. The revert commit is still in your branch ($undo_hint)"

cat >&2 <<EOF

Before you apply, read the preview above:
  - a "replace" or "delete" of a database, bucket or the cluster loses data;
    protected resources (prod: datafruits:protect) make the update fail instead;
  - a revert does not bring back what was already dropped (a database, bucket objects).
EOF
if [ -z "$assume_yes" ]; then
  if [ ! -t 0 ]; then
    die "not confirmed: no terminal to ask on; rerun with YES=1 (or --yes). The revert commit is still in your branch ($undo_hint)"
  fi
  read -r -p "Apply this to stack $stack? Type the stack name to confirm: " answer
  [ "$answer" = "$stack" ] || die "not confirmed; nothing was applied ($undo_hint)"
fi

log "pulumi up --stack $stack"
pulumi up --stack "$stack" --yes --diff \
  || die "pulumi up failed. If it refused to delete a protected resource, the revert removes something prod keeps on purpose: unprotect it deliberately (pulumi state unprotect) or roll forward with a fix. Check the stack with: pulumi stack --stack $stack"

cat >&2 <<EOF

Rolled back stack $stack to the state before $(git rev-parse --short "$sha").
Now push the revert so git and the stacks agree; until you do, the next deploy of main re-applies the change:
  git push            (or open a pull request from this commit, as CI expects)
Other stacks still run the change: roll them back too, or let the pushed revert deploy them.
EOF
