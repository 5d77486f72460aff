#!/usr/bin/env bash
# Starts or stops a throwaway Icecast (Debian's icecast2) on 127.0.0.1 for tests.
#
#   scripts/services/icecast.sh start   # writes $STATE_DIR/icecast/env, saves the PID
#   scripts/services/icecast.sh stop    # stops it by its saved PID
#
# The generated env file sets ICECAST_URL, ICECAST_PORT, ICECAST_SOURCE_PASSWORD and
# ICECAST_ADMIN_PASSWORD; source it to reach the server. Passwords are fresh per start
# (never the upstream default password). The port is ICECAST_PORT if set, else the first
# free one from 18000 up.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dir="$STATE_DIR/icecast"
pidfile="$dir/icecast.pid"
# Icecast runs as icecast2, which may not enter the clone (a clone under /root or a
# `mktemp -d` folder is 0700): its configuration and logs live in a folder of its own
# under /var/tmp, named in $dir/rundir so stop removes it.
rundir_file="$dir/rundir"
# Icecast refuses to run as root; the icecast2 package creates this system user.
run_user=icecast2

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  apt_install icecast2
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "icecast already running (PID $(cat "$pidfile"))"
    return 0
  fi
  local port=${ICECAST_PORT:-}
  if [ -z "$port" ]; then
    port=18000
    while port_in_use "$port"; do
      port=$((port + 1))
      [ "$port" -lt 18100 ] || die "no free port in 18000-18099 for icecast"
    done
  elif port_in_use "$port"; then
    die "ICECAST_PORT=$port is already in use on 127.0.0.1"
  fi
  local source_pw admin_pw
  source_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  admin_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')

  stop_icecast
  rm -rf "$dir"
  mkdir -p "$dir"
  local run
  run=$(mktemp -d /var/tmp/datafruits-icecast.XXXXXX)
  chmod 0755 "$run"
  echo "$run" >"$rundir_file"
  mkdir -p "$run/log"
  ( umask 077; cat >"$run/icecast.xml" ) <<EOF
<icecast>
  <location>test</location>
  <admin>onair-test@localhost</admin>
  <hostname>127.0.0.1</hostname>
  <limits>
    <clients>200</clients>
    <sources>10</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>5</source-timeout>
    <burst-size>65535</burst-size>
  </limits>
  <authentication>
    <source-password>$source_pw</source-password>
    <relay-password>$admin_pw</relay-password>
    <admin-user>admin</admin-user>
    <admin-password>$admin_pw</admin-password>
  </authentication>
  <listen-socket>
    <port>$port</port>
    <bind-address>127.0.0.1</bind-address>
  </listen-socket>
  <fileserve>1</fileserve>
  <paths>
    <basedir>/usr/share/icecast2</basedir>
    <logdir>$run/log</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
    <pidfile>$run/icecast-self.pid</pidfile>
  </paths>
  <logging>
    <accesslog>access.log</accesslog>
    <errorlog>error.log</errorlog>
    <loglevel>3</loglevel>
  </logging>
  <security>
    <chroot>0</chroot>
  </security>
</icecast>
EOF
  chown -R "$run_user:" "$run"
  # setpriv execs icecast2 in place, so $! is Icecast's own PID.
  setpriv --reuid="$run_user" --regid="$(id -g "$run_user")" --init-groups \
    icecast2 -c "$run/icecast.xml" >"$dir/stdout.log" 2>&1 &
  echo $! >"$pidfile"

  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/status-json.xsl" 2>/dev/null; then
      cat >"$dir/env" <<EOF
ICECAST_URL=http://127.0.0.1:$port
ICECAST_PORT=$port
ICECAST_SOURCE_PASSWORD=$source_pw
ICECAST_ADMIN_PASSWORD=$admin_pw
EOF
      chmod 600 "$dir/env"
      log "icecast listening on 127.0.0.1:$port (PID $(cat "$pidfile"), env in $dir/env)"
      return 0
    fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/stdout.log" "$run/log/error.log" 2>/dev/null | tail -20 >&2 || true
  stop_icecast
  die "icecast did not start on 127.0.0.1:$port"
}

stop_icecast() {
  stop_pidfile "$pidfile"
  if [ -f "$rundir_file" ]; then
    rm -rf "$(cat "$rundir_file")"
    rm -f "$rundir_file"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop_icecast; log "icecast stopped" ;;
  *) die "usage: $0 start|stop" ;;
esac
