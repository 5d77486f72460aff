#!/usr/bin/env bash
# make down: destroy the `local` stack where make up deployed it, then stop the
# embedded control plane if that is where it ran (docs/local.md). The file
# backend and passphrase in .pulumi-local/ stay, with the stack's history.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$REPO_ROOT/scripts/install-pulumi.sh"
source "$REPO_ROOT/scripts/controlplane/versions.sh"
cd "$REPO_ROOT"

STACK=local
LOCAL_DIR="$REPO_ROOT/.pulumi-local"
target=$(cat "$LOCAL_DIR/target" 2>/dev/null || true)

# Only a control plane make up started for the stack: the contract and
# integration suites start their own on the same state directory.
stop_embedded() {
  if [ "$target" = embedded ]; then
    "$REPO_ROOT/scripts/controlplane/stop.sh"
  fi
}

if [ ! -f "$LOCAL_DIR/deployed" ]; then
  log "no local stack deployed (nothing recorded in $LOCAL_DIR)"
  stop_embedded
  exit 0
fi
ensure_pulumi
prereqs_check || die "prerequisites missing (see above); nothing was destroyed"
[ -s "$LOCAL_DIR/passphrase" ] && [ -s "$LOCAL_DIR/encryptionsalt" ] \
  || die "the local stack's passphrase or salt is missing from $LOCAL_DIR; without them its state cannot be read"

export PULUMI_BACKEND_URL="file://$LOCAL_DIR"
export PULUMI_CONFIG_PASSPHRASE_FILE="$LOCAL_DIR/passphrase"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
unset PULUMI_CONFIG_PASSPHRASE

if [ "$target" = embedded ]; then
  log "starting the embedded control plane to destroy the stack on it"
  "$REPO_ROOT/scripts/controlplane/start.sh" >/dev/null
  export KUBECONFIG="$CONTROLPLANE_STATE/admin.kubeconfig"
fi

# The same generated configuration make up used: salt, committed values, and
# the provider pinned to the recorded context.
config_file="$LOCAL_DIR/Pulumi.$STACK.yaml"
if [ ! -f "$config_file" ]; then
  { echo "encryptionsalt: $(cat "$LOCAL_DIR/encryptionsalt")"; cat "Pulumi.$STACK.yaml"; } >"$config_file"
fi

log "pulumi destroy --stack $STACK (${target:-unknown target})"
pulumi stack select --stack "$STACK" --non-interactive >/dev/null
pulumi destroy --stack "$STACK" --config-file "$config_file" --yes \
  || die "pulumi destroy failed (above); the stack still holds what it could not delete. Fix the cause and run make down again."
rm -f "$LOCAL_DIR/deployed"

if [ "$target" = embedded ]; then
  # Its volumes come from a fixed pool with a Retain policy: drop the released
  # ones; start.sh creates them afresh on the next start.
  apt_install jq
  pki="$CONTROLPLANE_STATE/pki"
  server="https://127.0.0.1:${CONTROLPLANE_PORT:-16443}"
  kapi() { curl -sS --fail --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@"; }
  kapi "$server/api/v1/persistentvolumes" | jq -r '.items[] | select(.status.phase == "Released") | .metadata.name' |
    while read -r pv; do kapi -X DELETE "$server/api/v1/persistentvolumes/$pv" >/dev/null; done
fi
stop_embedded
log "local stack destroyed"
