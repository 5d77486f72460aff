#!/usr/bin/env bash
# make up: the whole station as the `local` stack (docs/local.md).
#
#   make up                     current kube context, or the embedded control plane when there is none
#   make up HELM_CHARTS=false   without the chart-based platform
#   KUBE_TARGET=embedded make up   the embedded control plane even when a context is set
#   DATAFRUITS_MIRROR=<dir> make up   offline: the Pulumi CLI, plugins and charts from a mirror
#                                     laid out like ../shared (pulumi/, charts/)
#
# It installs the pinned Pulumi CLI and plugins itself (scripts/install-pulumi.sh).
# State lives in a file backend in .pulumi-local/ (gitignored) with a passphrase
# generated there once. The committed Pulumi.local.yaml is never written: the
# stack's salt and this run's overrides go into a generated copy,
# .pulumi-local/Pulumi.local.yaml, passed with --config-file.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$REPO_ROOT/scripts/install-pulumi.sh"
source "$REPO_ROOT/scripts/controlplane/versions.sh"
cd "$REPO_ROOT"

STACK=local
LOCAL_DIR="$REPO_ROOT/.pulumi-local"

ensure_pulumi
prereqs_check || die "prerequisites missing (see above); nothing was deployed"

# --- where to deploy -------------------------------------------------------
current_context() {
  if command -v kubectl >/dev/null 2>&1; then
    kubectl config current-context 2>/dev/null || true
    return
  fi
  local file="${KUBECONFIG:-$HOME/.kube/config}"
  file=${file%%:*}
  [ -f "$file" ] && sed -n 's/^current-context:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$file" | head -n1
}

context=""
if [ "${KUBE_TARGET:-}" != embedded ]; then
  context=$(current_context)
fi
if [ -n "$context" ] && [ "$context" != datafruits-embedded ]; then
  target="context:$context"
  log "deploying to the current kube context: $context"
  if command -v kubectl >/dev/null 2>&1; then
    kubectl --context "$context" --request-timeout=10s get --raw /readyz >/dev/null 2>&1 \
      || die "the cluster of context $context does not answer; start it (kind, minikube, k3d), switch context, or use the embedded control plane: KUBE_TARGET=embedded make up. Nothing was deployed."
  fi
else
  target=embedded
  log "no kube context: starting the embedded control plane (real API server and controllers, simulated nodes; no container runs)"
  "$REPO_ROOT/scripts/controlplane/start.sh" >/dev/null
  export KUBECONFIG="$CONTROLPLANE_STATE/admin.kubeconfig"
  context=datafruits-embedded
fi

mkdir -p "$LOCAL_DIR"
chmod 700 "$LOCAL_DIR"
if [ -f "$LOCAL_DIR/target" ] && [ "$(cat "$LOCAL_DIR/target")" != "$target" ] && [ -f "$LOCAL_DIR/deployed" ]; then
  die "the local stack runs on $(cat "$LOCAL_DIR/target"), not on $target; run make down first (it uses the recorded target). Nothing was deployed."
fi
echo "$target" >"$LOCAL_DIR/target"

# --- backend, passphrase, stack --------------------------------------------
if [ ! -s "$LOCAL_DIR/passphrase" ]; then
  (umask 077; head -c 32 /dev/urandom | base64 | tr -d '\n/+=' >"$LOCAL_DIR/passphrase")
  log "generated the local stack's passphrase in $LOCAL_DIR/passphrase (keep it: the state's secrets need it)"
fi
chmod 600 "$LOCAL_DIR/passphrase"
export PULUMI_BACKEND_URL="file://$LOCAL_DIR"
export PULUMI_CONFIG_PASSPHRASE_FILE="$LOCAL_DIR/passphrase"
export PULUMI_SKIP_UPDATE_CHECK=true
# Commands run without --config-file (stack output) find the salt in the state.
export PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER=true
# The plugins were checked above; never start a download half-way through.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
unset PULUMI_CONFIG_PASSPHRASE

if ! pulumi stack select --stack "$STACK" --non-interactive >/dev/null 2>&1; then
  # `stack init` writes the passphrase salt into Pulumi.<stack>.yaml: create the
  # stack from a scratch copy of the project file, so the committed one stays clean.
  log "creating stack $STACK in $PULUMI_BACKEND_URL"
  scratch="$LOCAL_DIR/init"
  rm -rf "$scratch"; mkdir -p "$scratch"; cp Pulumi.yaml "$scratch/"
  pulumi stack init "$STACK" --secrets-provider passphrase --non-interactive -C "$scratch" >/dev/null
  sed -n 's/^encryptionsalt:[[:space:]]*//p' "$scratch/Pulumi.$STACK.yaml" >"$LOCAL_DIR/encryptionsalt"
  rm -rf "$scratch"
  pulumi stack select --stack "$STACK" --non-interactive >/dev/null
fi
[ -s "$LOCAL_DIR/encryptionsalt" ] || die "no passphrase salt in $LOCAL_DIR/encryptionsalt; remove $LOCAL_DIR (after make down) and run make up again"

# --- this run's configuration ----------------------------------------------
config_file="$LOCAL_DIR/Pulumi.$STACK.yaml"
{ echo "encryptionsalt: $(cat "$LOCAL_DIR/encryptionsalt")"; cat "Pulumi.$STACK.yaml"; } >"$config_file"
set_config() { pulumi config set --stack "$STACK" --config-file "$config_file" "$@" --non-interactive >/dev/null; }
[ -n "${HELM_CHARTS:-}" ] && set_config datafruits:helmCharts "$HELM_CHARTS"
if [ -n "${DATAFRUITS_MIRROR:-}" ]; then
  [ -d "$DATAFRUITS_MIRROR/charts" ] || die "DATAFRUITS_MIRROR=$DATAFRUITS_MIRROR has no charts/ folder. Nothing was deployed."
  log "charts from the mirror $DATAFRUITS_MIRROR/charts"
  set_config datafruits:chartMirror "$(cd "$DATAFRUITS_MIRROR/charts" && pwd)"
fi
# Pin the provider to the context deployed to, so make down reaches the same cluster.
set_config kubernetes:context "$context"
# The embedded control plane runs no containers: metrics-server's aggregated API
# would stay unavailable and block the namespaces' deletion at make down.
if [ "$target" = embedded ]; then set_config datafruits:metricsServer false; fi

# --- the embedded control plane has no ingress controller -------------------
status_pid=""
stop_status() {
  if [ -n "$status_pid" ]; then kill "$status_pid" 2>/dev/null || true; fi
}
trap stop_status EXIT
if [ "$target" = embedded ]; then
  # pulumi-kubernetes waits for each Ingress's status.loadBalancer (#268, #1812);
  # with no ingress controller running, publish 127.0.0.1 as a controller would.
  apt_install jq
  pki="$CONTROLPLANE_STATE/pki"
  server="https://127.0.0.1:${CONTROLPLANE_PORT:-16443}"
  kapi() { curl -sS --fail --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@"; }
  (
    while sleep 1; do
      kapi "$server/apis/networking.k8s.io/v1/ingresses" 2>/dev/null |
        jq -r '.items[] | select((.status.loadBalancer.ingress // []) == []) | "\(.metadata.namespace)/\(.metadata.name)"' |
        while IFS=/ read -r ns name; do
          kapi -X PATCH -H 'Content-Type: application/merge-patch+json' \
            --data '{"status":{"loadBalancer":{"ingress":[{"ip":"127.0.0.1"}]}}}' \
            "$server/apis/networking.k8s.io/v1/namespaces/$ns/ingresses/$name/status" >/dev/null 2>&1 || true
        done
    done
  ) &
  status_pid=$!
fi

# --- deploy ----------------------------------------------------------------
log "pulumi up --stack $STACK (backend $PULUMI_BACKEND_URL, context $context, config $config_file)"
touch "$LOCAL_DIR/deployed"
pulumi up --stack "$STACK" --config-file "$config_file" --yes \
  || die "pulumi up failed (above). What it created stays deployed: fix the cause and run make up again, or remove it with make down."

# --- how to reach it -------------------------------------------------------
outputs=$(pulumi stack output --stack "$STACK" --json)
echo
echo "The station is up (stack $STACK on $context)."
if command -v jq >/dev/null 2>&1; then
  echo "$outputs" | jq -r '
    ((.urls // {}) | to_entries[] | "  \(.key): \(.value)"),
    "  status page: \(.statusUrl // "-")",
    ((.stations // {}) | to_entries[] | "  station \(.key): listen \(.value.listenUrl // "-"), DJ input \(.value.djInput // "-")"),
    "  S3 endpoint (in cluster): \(.s3Endpoint // "-")"'
else
  echo "$outputs"
fi
echo
if [ "$target" = embedded ]; then
  cat <<EOF
This is the embedded control plane: real API server, controllers and scheduler, simulated nodes.
Every workload is Ready, but no container runs, so nothing answers on these URLs here. To open them,
run the station on a real local cluster (kind, k3d, minikube): make down, switch to its context, make up.
EOF
elif [ "$(pulumi config get datafruits:helmCharts --stack "$STACK" --config-file "$config_file" 2>/dev/null || echo true)" != false ]; then
  cat <<EOF
No load balancer locally: reach Traefik with a port-forward (leave it running), then open the URLs with
port 8443 (*.datafruits.localhost resolves to this machine; the certificates are self-signed):
  kubectl --context $context -n platform port-forward svc/traefik 8443:443 8080:80 1935:1935 9000:9000
  e.g. https://datafruits.localhost:8443/   DJ input: 127.0.0.1:9000   RTMP: rtmp://127.0.0.1:1935
EOF
else
  echo "Charts are off (no ingress controller): port-forward each Service you need, for example:"
  if command -v kubectl >/dev/null 2>&1; then
    kubectl --context "$context" get svc -A -l app.kubernetes.io/part-of=datafruits \
      -o jsonpath='{range .items[?(@.spec.clusterIP!="None")]}  kubectl --context '"$context"' -n {.metadata.namespace} port-forward svc/{.metadata.name} {.spec.ports[0].port}:{.spec.ports[0].port}{"\n"}{end}'
  else
    echo "  kubectl --context $context -n station port-forward svc/site 3000:3000   (install kubectl to list them all)"
  fi
fi
echo "Stop and clean up with: make down"
