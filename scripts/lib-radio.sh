# Helpers shared by scripts/test/radio.sh and scripts/bench-relay.sh: render the radio's
# configuration through the program and start Debian's daemons on it. Source after lib.sh,
# with DATAFRUITS_STATE set to the caller's state folder.
# shellcheck shell=bash

radio_pids=()

# radio_stop_all stops every process started here (newest first) and removes their folders.
radio_stop_all() {
  local i p
  for ((i = ${#radio_pids[@]} - 1; i >= 0; i--)); do
    kill "${radio_pids[$i]}" 2>/dev/null || true
  done
  for p in "${radio_pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  # radio_private_dir runs in $(...), a subshell: its folders are listed in a file.
  if [ -f "$DATAFRUITS_STATE/rundirs" ]; then
    while read -r p; do rm -rf "$p"; done <"$DATAFRUITS_STATE/rundirs"
    rm -f "$DATAFRUITS_STATE/rundirs"
  fi
}

# radio_private_dir NAME prints a new 0755 folder under /var/tmp: daemons that drop privileges
# (icecast2, liquidsoap as nobody, nginx workers) read it wherever the clone sits.
radio_private_dir() {
  local d
  d=$(mktemp -d "/var/tmp/datafruits-radio-$1.XXXXXX")
  chmod 0755 "$d"
  echo "$d" >>"$DATAFRUITS_STATE/rundirs"
  echo "$d"
}

# radio_render DIR runs the program for the local stack under mocks and copies the radio's
# recorded ConfigMaps and Secrets to DIR (infra/radio_render_test.go).
radio_render() {
  log "rendering the local stack under mocks and copying the radio's recorded objects"
  mkdir -p "$1"
  (cd "$REPO_ROOT" && RADIO_RENDERED_DIR="$1" go test -tags radio -count=1 -run '^TestWriteRadioRendered$' ./infra >"$DATAFRUITS_STATE/logs/render.log" 2>&1) ||
    { tail -30 "$DATAFRUITS_STATE/logs/render.log" >&2; die "rendering failed (log: $DATAFRUITS_STATE/logs/render.log)"; }
}

# remap FILE FROM TO replaces one rendered value, and fails if the file does not have it
# (a template change must not silently skip a remap).
remap() {
  grep -qF -- "$2" "$1" || die "remap: $1 has no '$2' (did the template change?)"
  FROM="$2" TO="$3" perl -0pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/g' "$1"
}

radio_wait_http() { # url what
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  die "$2 did not answer at $1 (logs in $DATAFRUITS_STATE/logs)"
}

# radio_start_icecast NAME CONFIG-GROUP SECRETS-GROUP PORT SOURCE-PORT runs the rendered
# icecast.xml through the rendered icecast-start.sh with the recorded Secret files, as
# icecast2 (Icecast refuses root). Its folder is named in $DATAFRUITS_STATE/NAME.rundir.
radio_start_icecast() {
  local rendered="$DATAFRUITS_STATE/rendered" run
  run=$(radio_private_dir "$1")
  echo "$run" >"$DATAFRUITS_STATE/$1.rundir"
  mkdir -p "$run/etc" "$run/secrets" "$run/run"
  cp "$rendered/$2/icecast.xml" "$rendered/$2/icecast-start.sh" "$run/etc/"
  cp "$rendered/$3/"* "$run/secrets/"
  remap "$run/etc/icecast.xml" "<port>8000</port>" "<port>$4</port>"
  remap "$run/etc/icecast.xml" "<bind-address>0.0.0.0</bind-address>" "<bind-address>127.0.0.1</bind-address>"
  remap "$run/etc/icecast.xml" "<logdir>$(cat "$rendered/icecast-env/ICECAST_RUN_DIR")</logdir>" "<logdir>$run/run</logdir>"
  if grep -q '<master-server>' "$run/etc/icecast.xml"; then
    remap "$run/etc/icecast.xml" "<master-server>icecast</master-server>" "<master-server>127.0.0.1</master-server>"
    remap "$run/etc/icecast.xml" "<master-server-port>8000</master-server-port>" "<master-server-port>$5</master-server-port>"
  fi
  chown -R icecast2: "$run"
  chmod 0700 "$run/secrets"
  ICECAST_TEMPLATE="$run/etc/icecast.xml" ICECAST_SECRETS_DIR="$run/secrets" ICECAST_RUN_DIR="$run/run" \
    setpriv --reuid=icecast2 --regid="$(id -g icecast2)" --init-groups \
    sh "$run/etc/icecast-start.sh" >"$DATAFRUITS_STATE/logs/$1.log" 2>&1 &
  radio_pids+=($!)
}
