# Shared helpers for the project's scripts. Source it; do not run it.
# shellcheck shell=bash

# Where built tools are cached across clones (like Go's build cache).
DATAFRUITS_CACHE="${DATAFRUITS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/datafruits}"
# Repository root and per-clone runtime state (PIDs, data dirs, logs); gitignored.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${DATAFRUITS_STATE:-$REPO_ROOT/.state}"
# The Kubernetes SDK's checksum lookup fails behind this proxy; go.sum pins it instead.
export GONOSUMDB="${GONOSUMDB:-github.com/pulumi/pulumi-kubernetes/sdk/v4}"
mkdir -p "$DATAFRUITS_CACHE" "$STATE_DIR"
# An offline mirror laid out like ../shared (pulumi/, charts/); see README, "Offline".
if [ -n "${DATAFRUITS_MIRROR:-}" ]; then
  [ -d "$DATAFRUITS_MIRROR" ] || { printf 'error: DATAFRUITS_MIRROR=%s is not a directory\n' "$DATAFRUITS_MIRROR" >&2; exit 1; }
  DATAFRUITS_MIRROR="$(cd "$DATAFRUITS_MIRROR" && pwd)"
  export DATAFRUITS_MIRROR
fi

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# with_build_lock runs a command holding the machine-wide build lock, so two
# large builds (control plane, MinIO) never compete for the two cores.
with_build_lock() {
  local lock="$DATAFRUITS_CACHE/build.lock"
  exec {lockfd}>"$lock"
  if ! flock -n "$lockfd"; then
    log "waiting for another build to finish (lock $lock)"
    flock "$lockfd"
  fi
  "$@"
  local rc=$?
  flock -u "$lockfd"
  return $rc
}

# apt_install installs Debian packages that are missing, running apt-get update once.
# As root it runs apt-get itself; otherwise (GitHub runners) through `sudo -n`,
# which never prompts. Without root or password-less sudo it prints which
# packages are missing and returns 1.
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local as_root=()
  if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      printf 'error: missing Debian packages: %s; not root and no sudo: install them as root (apt-get install %s)\n' \
        "${missing[*]}" "${missing[*]}" >&2
      return 1
    fi
    if ! sudo -n true 2>/dev/null; then
      printf 'error: missing Debian packages: %s; not root and sudo needs a password: run sudo apt-get install %s\n' \
        "${missing[*]}" "${missing[*]}" >&2
      return 1
    fi
    # sudo resets the environment; env passes DEBIAN_FRONTEND through.
    as_root=(sudo -n env DEBIAN_FRONTEND=noninteractive)
  fi
  log "installing Debian packages: ${missing[*]}${as_root[*]:+ (with sudo)}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq >/dev/null
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# free_port prints the first port from $1 that no socket uses. Defaults sit below the
# kernel's ephemeral range, where a client connection can hold a port nobody listens on.
free_port() {
  local port=$1
  while port_used "$port"; do port=$((port + 1)); done
  echo "$port"
}
port_used() {
  if command -v ss >/dev/null; then
    [ -n "$(ss -Htan exclude time-wait "( sport = :$1 )" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# stop_pidfile stops the process whose PID a start script saved, then removes the file.
stop_pidfile() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# cached_go_install NAME PACKAGE VERSION [LDFLAGS] builds a Go command through
# the module proxy once per version into $DATAFRUITS_CACHE/NAME-VERSION/ (under
# the build lock) and prints the binary's path. Fresh clones reuse the cache.
cached_go_install() {
  local name=$1 pkg=$2 version=$3 ldflags=${4:-} dir
  dir="$DATAFRUITS_CACHE/$name-$version"
  if [ ! -x "$dir/$name" ]; then
    log "building $name $version from the Go module proxy into $dir (once per version)"
    local started; started=$(date +%s)
    with_build_lock env GOBIN="$dir" GOFLAGS=-mod=mod go install -trimpath ${ldflags:+-ldflags "$ldflags"} "$pkg@$version" >&2 \
      || die "building $name $version ($pkg) failed"
    log "built $name $version in $(( $(date +%s) - started ))s"
  fi
  echo "$dir/$name"
}
