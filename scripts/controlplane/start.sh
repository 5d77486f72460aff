#!/usr/bin/env bash
# Starts the embedded Kubernetes control plane on 127.0.0.1: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kwok (which fakes
# the nodes and the status of the pods scheduled onto them). Builds the binaries
# first when the cache lacks them. Idempotent: when it is already running it
# says so and prints the kubeconfig again.
#
# No container runs here, so no admission webhook server (cert-manager's,
# prometheus-operator's) could ever answer, and a webhook whose failurePolicy is
# Fail would refuse every object it covers. The API server therefore runs
# without the two webhook admission plugins: webhook configurations are still
# created and validated, they are just not called. On a real cluster (kind,
# DOKS) the webhooks run and are called (docs/local.md).
#
# Settings (environment):
#   CONTROLPLANE_PORT      API server port (default 16443); etcd and the
#                          controllers use the ports just above it.
#   CONTROLPLANE_NODES     fake nodes as name:zone:pool, space separated
#                          (default three nodes in three zones of pool "workers").
#   CONTROLPLANE_PVS       pre-created PersistentVolumes per storage class (default 10).
#   CONTROLPLANE_STORAGE_CLASSES  storage classes to create (default "do-block-storage standard").
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/versions.sh"

API_PORT=${CONTROLPLANE_PORT:-16443}
ETCD_PORT=$((API_PORT + 1))
ETCD_PEER_PORT=$((API_PORT + 2))
KCM_PORT=$((API_PORT + 3))
SCHED_PORT=$((API_PORT + 4))
# The API server advertises this address in the `kubernetes` Service's endpoints.
# It must not be loopback (endpoint validation rejects it and the controllers log
# errors forever) and is never bound: everything listens on 127.0.0.1.
ADVERTISE_ADDRESS=192.0.2.1
NODES=${CONTROLPLANE_NODES:-"worker-0:nyc1-a:workers worker-1:nyc1-b:workers worker-2:nyc1-c:workers"}
PVS_PER_CLASS=${CONTROLPLANE_PVS:-10}
STORAGE_CLASSES=${CONTROLPLANE_STORAGE_CLASSES:-"do-block-storage standard"}

PKI="$CONTROLPLANE_STATE/pki"
LOGS="$CONTROLPLANE_STATE/logs"
KUBECONFIG_PATH="$CONTROLPLANE_STATE/admin.kubeconfig"
SERVER="https://127.0.0.1:$API_PORT"

print_kubeconfig() {
  echo "kubeconfig: $KUBECONFIG_PATH"
  echo "export KUBECONFIG=$KUBECONFIG_PATH"
}

running() { [ -f "$CONTROLPLANE_STATE/$1.pid" ] && kill -0 "$(cat "$CONTROLPLANE_STATE/$1.pid")" 2>/dev/null; }

all_running() {
  local c
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do running "$c" || return 1; done
}

if all_running; then
  log "control plane already running (PIDs in $CONTROLPLANE_STATE)"
  print_kubeconfig
  exit 0
fi
# A partly running control plane (one process died) is restarted as a whole.
"$(dirname "$0")/stop.sh" >/dev/null 2>&1 || true

apt_install openssl curl
for port in "$API_PORT" "$ETCD_PORT" "$ETCD_PEER_PORT" "$KCM_PORT" "$SCHED_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port on 127.0.0.1 is taken (another clone's control plane?); pick other ports with CONTROLPLANE_PORT=<n> (uses n to n+4)"
  fi
done
"$(dirname "$0")/build.sh"
BIN="$REPO_ROOT/.tools/controlplane/bin"
started=$(date +%s.%N)
mkdir -p "$PKI" "$LOGS"

# --- certificates (generated once per clone, kept across restarts) ---
gen_cert() { # name subject ca [san]
  local name=$1 subj=$2 ca=$3 san=${4:-}
  [ -f "$PKI/$name.crt" ] && return 0
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  local ext="$PKI/$name.ext"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then echo "extendedKeyUsage=serverAuth"; echo "subjectAltName=$san"
    else echo "extendedKeyUsage=clientAuth"; fi
  } >"$ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}
gen_ca() {
  [ -f "$PKI/$1.crt" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.crt" \
    -days 3650 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}
gen_ca ca datafruits-controlplane-ca
gen_ca front-proxy-ca datafruits-front-proxy-ca
gen_cert apiserver "/CN=kube-apiserver" ca \
  "IP:127.0.0.1,IP:$ADVERTISE_ADDRESS,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
gen_cert admin "/O=system:masters/CN=admin" ca
gen_cert front-proxy-client "/CN=front-proxy-client" front-proxy-ca
if [ ! -f "$PKI/sa.key" ]; then
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
fi
chmod 600 "$PKI"/*.key

cat >"$KUBECONFIG_PATH" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: datafruits-embedded
  cluster:
    server: $SERVER
    certificate-authority: $PKI/ca.crt
users:
- name: admin
  user:
    client-certificate: $PKI/admin.crt
    client-key: $PKI/admin.key
contexts:
- name: datafruits-embedded
  context: {cluster: datafruits-embedded, user: admin}
current-context: datafruits-embedded
EOF

# spawn NAME ARGS... starts a process in the background with its log, saving its PID.
spawn() {
  local name=$1; shift
  "$BIN/$name" "$@" >"$LOGS/$name.log" 2>&1 &
  echo $! >"$CONTROLPLANE_STATE/$name.pid"
}

# wait_for NAME SECONDS CMD... polls CMD until it succeeds; dies with the log tail otherwise.
wait_for() {
  local name=$1 limit=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    if ! running "$name" || [ "$(date +%s)" -gt "$deadline" ]; then
      tail -n 20 "$LOGS/$name.log" >&2 || true
      die "$name did not become ready (log: $LOGS/$name.log)"
    fi
    sleep 0.2
  done
}

kapi() { # METHOD PATH [BODY] [CONTENT-TYPE]
  curl -sS --fail-with-body --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    -X "$1" "$SERVER$2" ${3:+--data-binary "$3"} -H "Content-Type: ${4:-application/apply-patch+yaml}"
}
apply() { kapi PATCH "$1?fieldManager=datafruits-controlplane&force=true" "$2" >/dev/null; }

log "starting etcd $ETCD_VERSION on 127.0.0.1:$ETCD_PORT"
spawn etcd --name default --data-dir "$CONTROLPLANE_STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync --quota-backend-bytes=2147483648
wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

log "starting kube-apiserver $K8S_VERSION on $SERVER"
spawn kube-apiserver --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --secure-port "$API_PORT" --advertise-address "$ADVERTISE_ADDRESS" \
  --service-cluster-ip-range 10.96.0.0/16 --allow-privileged=true \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" --authorization-mode RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
  --profiling=false --disable-admission-plugins MutatingAdmissionWebhook,ValidatingAdmissionWebhook
wait_for kube-apiserver 60 kapi GET /readyz

log "starting kube-controller-manager, kube-scheduler and kwok $KWOK_VERSION"
spawn kube-controller-manager --kubeconfig "$KUBECONFIG_PATH" \
  --authentication-kubeconfig "$KUBECONFIG_PATH" --authorization-kubeconfig "$KUBECONFIG_PATH" \
  --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --cluster-name datafruits-embedded --profiling=false
spawn kube-scheduler --kubeconfig "$KUBECONFIG_PATH" \
  --authentication-kubeconfig "$KUBECONFIG_PATH" --authorization-kubeconfig "$KUBECONFIG_PATH" \
  --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false --profiling=false
spawn kwok --kubeconfig "$KUBECONFIG_PATH" --config "$REPO_ROOT/.tools/controlplane/kwok-stages.yaml" \
  --manage-all-nodes=false --manage-nodes-with-label-selector type=kwok \
  --cidr 10.244.0.1/16 --node-ip 192.0.2.2 --node-lease-duration-seconds 40

# --- fake nodes, storage classes and volumes (there is no provisioner) ---
for spec in $NODES; do
  IFS=: read -r node zone pool <<<"$spec"
  apply "/api/v1/nodes/$node" "
apiVersion: v1
kind: Node
metadata:
  name: $node
  annotations: {node.alpha.kubernetes.io/ttl: '0'}
  labels:
    type: kwok
    kubernetes.io/hostname: $node
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/zone: $zone
    topology.kubernetes.io/region: ${zone%-*}
    doks.digitalocean.com/node-pool: $pool
status:
  allocatable: {cpu: '32', memory: 128Gi, pods: '110', ephemeral-storage: 500Gi}
  capacity: {cpu: '32', memory: 128Gi, pods: '110', ephemeral-storage: 500Gi}
"
done
for class in $STORAGE_CLASSES; do
  apply "/apis/storage.k8s.io/v1/storageclasses/$class" "
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: $class}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
allowVolumeExpansion: true
"
  for i in $(seq 0 $((PVS_PER_CLASS - 1))); do
    apply "/api/v1/persistentvolumes/$class-$i" "
apiVersion: v1
kind: PersistentVolume
metadata: {name: $class-$i, labels: {datafruits.io/pool: embedded}}
spec:
  storageClassName: $class
  capacity: {storage: 1Ti}
  accessModes: [ReadWriteOnce, ReadOnlyMany, ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /tmp/datafruits-pv/$class-$i, type: DirectoryOrCreate}
"
  done
done

ready_nodes() {
  kapi GET /api/v1/nodes | tr -d ' \n' | grep -o '"type":"Ready","status":"True"' | wc -l
}
want=$(wc -w <<<"$NODES")
deadline=$(( $(date +%s) + 60 ))
until [ "$(ready_nodes)" -ge "$want" ]; do
  for c in kube-controller-manager kube-scheduler kwok; do
    running "$c" || { tail -n 20 "$LOGS/$c.log" >&2; die "$c exited (log: $LOGS/$c.log)"; }
  done
  [ "$(date +%s)" -gt "$deadline" ] && die "nodes not Ready after 60s (kwok log: $LOGS/kwok.log)"
  sleep 0.2
done
log "control plane ready: $want Ready nodes in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $started}")s (logs in $LOGS)"
print_kubeconfig
