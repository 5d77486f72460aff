#!/usr/bin/env bash
# How many listeners one relay serves within its pod's CPU (components/radio RelayCPU):
# the rendered source and relay configuration (as scripts/test/radio.sh runs it) on Debian's
# icecast2, a 128 kbit/s MP3 pushed into the source, then rounds of listeners on the relay
# (test/radio/listeners, one process) while the relay's CPU time is read from /proc.
# CPU time, not wall time, is measured, so other load on the machine slows the rounds but
# does not inflate the figure; a round counts only if every listener kept real-time rate.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../lib-radio.sh"

export DATAFRUITS_STATE="$STATE_DIR/bench-relay"
state="$DATAFRUITS_STATE"
apt_install icecast2 ffmpeg curl
trap radio_stop_all EXIT
radio_stop_all # folders a killed run listed
rm -rf "$state"
mkdir -p "$state/logs"
radio_render "$state/rendered"

source_port=$(free_port 23800); relay_port=$(free_port $((source_port + 1)))
radio_start_icecast icecast icecast-config icecast-secrets "$source_port" "$source_port"
radio_wait_http "http://127.0.0.1:$source_port/status-json.xsl" "the source Icecast"
radio_start_icecast relay relay-config relay-secrets "$relay_port" "$source_port"
radio_wait_http "http://127.0.0.1:$relay_port/status-json.xsl" "the relay"
# setpriv and the start script exec in place: the saved PID is Icecast's own.
relay_pid=${radio_pids[-1]}

ffmpeg -nostdin -v error -re -f lavfi -i "sine=frequency=440" -ac 2 -ar 44100 -c:a libmp3lame -b:a 128k \
  -content_type audio/mpeg -f mp3 "icecast://source:$(cat "$state/rendered/icecast-secrets/source-password")@127.0.0.1:$source_port/datafruits.mp3" \
  >"$state/logs/ffmpeg.log" 2>&1 &
radio_pids+=($!)
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$relay_port/status-json.xsl" 2>/dev/null | grep -q datafruits.mp3 && break
  sleep 0.5
done
(cd "$REPO_ROOT" && go build -o "$state/listeners" ./test/radio/listeners)

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$relay_pid/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$relay_pid/status"; }
relay_cpu=$(sed -n 's/^\tRelayCPU *= "\([0-9]*\)m"/\1/p' "$REPO_ROOT/components/radio/radio.go")
printf '%-10s %-10s %-12s %-14s %-10s\n' listeners connected "kbit/s min" "relay mCPU" "RSS MiB" >&2
best=0
for n in 50 100 200 400; do
  before=$(cpu_ticks); t0=$(date +%s.%N)
  out=$("$state/listeners" -url "http://127.0.0.1:$relay_port/datafruits.mp3" -n "$n" -for 20s)
  t1=$(date +%s.%N); after=$(cpu_ticks)
  mcpu=$(awk -v a="$after" -v b="$before" -v t0="$t0" -v t1="$t1" -v hz="$ticks" 'BEGIN {printf "%.0f", (a - b) / hz / (t1 - t0) * 1000}')
  connected=$(sed -n 's/.*"connected":\([0-9]*\).*/\1/p' <<<"$out"); kbps=$(sed -n 's/.*"kbps_min":\([0-9]*\).*/\1/p' <<<"$out")
  printf '%-10s %-10s %-12s %-14s %-10s\n' "$n" "$connected" "$kbps" "$mcpu" "$(( $(rss_kib) / 1024 ))" >&2
  echo "{\"listeners\":$n,\"connected\":$connected,\"kbps_min\":$kbps,\"relay_millicores\":$mcpu}" >>"$state/rounds.jsonl"
  # A round within the CPU budget where everyone got at least ~90% of 128 kbit/s.
  if [ "$connected" = "$n" ] && [ "$kbps" -ge 110 ]; then
    per=$(awk -v m="$mcpu" -v n="$n" 'BEGIN {printf "%.3f", m / n}')
    best=$(awk -v c="$relay_cpu" -v p="$per" 'BEGIN {printf "%d", (p > 0 ? c / p : 0)}')
  fi
done
echo "relay: about $best listeners of 128 kbit/s MP3 within ${relay_cpu}m CPU (from the largest clean round; rounds in $state/rounds.jsonl)"
