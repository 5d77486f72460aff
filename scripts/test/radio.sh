#!/usr/bin/env bash
# The audio path with the real software on the configuration the program renders.
#
# The program runs under mocks for the local stack (infra, TestWriteRadioRendered) and the
# radio's ConfigMaps and Secrets are copied out as recorded; only addresses, ports and
# local folders are remapped to 127.0.0.1 and .state/. Then: Debian's icecast2 (the source
# server and two relays, each through the rendered icecast-start.sh), liquidsoap on the
# rendered script, nginx with libnginx-mod-rtmp on the rendered nginx.conf, onair with the
# rendered settings, the archiver on a real PostgreSQL and S3-compatible server, and one
# stand-in for the API's endpoints and Discord
# (test/radio/standin). The scenarios are Go tests in test/radio.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

export DATAFRUITS_STATE="$STATE_DIR/radio"
state="$DATAFRUITS_STATE"
apt_install icecast2 liquidsoap nginx libnginx-mod-rtmp ffmpeg curl

source "$(dirname "$0")/../lib-radio.sh"
services="$REPO_ROOT/scripts/services"
trap 'radio_stop_all; "$services/s3.sh" stop; "$services/postgres.sh" stop' EXIT
radio_stop_all # folders a killed run listed
rm -rf "$state"
mkdir -p "$state/logs"
rendered="$state/rendered"
radio_render "$rendered"

port() { free_port "$1"; }
source_port=$(port 21800); relay1_port=$(port $((source_port + 1))); relay2_port=$(port $((relay1_port + 1)))
harbor_port=$(port 21900); rtmp_in_port=$(port $((harbor_port + 1))); liq_metrics_port=$(port $((rtmp_in_port + 1)))
api_port=$(port 22000); discord_port=$(port $((api_port + 1))); onair_port=$(port $((discord_port + 1)))
video_rtmp_port=$(port 22100); video_http_port=$(port $((video_rtmp_port + 1)))

# The stand-in for the API and Discord, with the API's own LIQ_SECRET from its recorded Secret.
media="$state/media"
mkdir -p "$media"
ffmpeg -v error -f lavfi -i "sine=frequency=330:duration=30" -ac 2 -ar 44100 -b:a 128k \
  -metadata title="backup playlist tone" "$media/backup.mp3"
log "building the stand-in"
(cd "$REPO_ROOT" && go build -o "$state/standin" ./test/radio/standin)
STANDIN_API_ADDR=127.0.0.1:$api_port STANDIN_DISCORD_ADDR=127.0.0.1:$discord_port STANDIN_RADIO=datafruits \
  STANDIN_LIQ_SECRET_FILE="$rendered/api-secret-env/LIQ_SECRET" STANDIN_DJS="dj-fruit:good-password" \
  STANDIN_STREAM_KEYS="vj-key-1" STANDIN_MEDIA_DIR="$media" STANDIN_NEXT_TRACK="http://127.0.0.1:$api_port/media/backup.mp3" \
  "$state/standin" >"$state/logs/standin.log" 2>&1 &
radio_pids+=($!)

# Icecast: the source server and two relays (radio_start_icecast, scripts/lib-radio.sh).
radio_start_icecast icecast icecast-config icecast-secrets "$source_port" "$source_port"
radio_wait_http "http://127.0.0.1:$source_port/status-json.xsl" "the source Icecast"
radio_start_icecast relay1 relay-config relay-secrets "$relay1_port" "$source_port"
radio_start_icecast relay2 relay-config relay-secrets "$relay2_port" "$source_port"
radio_wait_http "http://127.0.0.1:$relay1_port/status-json.xsl" "relay 1"
radio_wait_http "http://127.0.0.1:$relay2_port/status-json.xsl" "relay 2"

# Liquidsoap: the rendered radio.liq, the recorded secret env, as an unprivileged user.
liq=$(radio_private_dir liquidsoap)
mkdir -p "$liq/recordings"
cp "$rendered/liquidsoap-config/radio.liq" "$liq/radio.liq"
recordings_dir=$(cat "$rendered/archiver-env/ARCHIVER_WATCH_DIR")
remap "$liq/radio.liq" 'settings.harbor.bind_addrs.set(["0.0.0.0"])' 'settings.harbor.bind_addrs.set(["127.0.0.1"])'
remap "$liq/radio.liq" "port=9000," "port=$harbor_port,"
remap "$liq/radio.liq" 'host="icecast", port=8000,' "host=\"127.0.0.1\", port=$source_port,"
remap "$liq/radio.liq" '"http://api.station.svc.cluster.local:3000"' "\"http://127.0.0.1:$api_port\""
remap "$liq/radio.liq" "\"$recordings_dir/" "\"$liq/recordings/"
remap "$liq/radio.liq" "rtmp://0.0.0.0:1936/" "rtmp://127.0.0.1:$rtmp_in_port/"
remap "$liq/radio.liq" "port=9100," "port=$liq_metrics_port,"
chown -R nobody: "$liq"
(
  set -a
  for f in "$rendered/liquidsoap-secret-env/"*; do export "$(basename "$f")=$(cat "$f")"; done
  exec env HOME="$liq" setpriv --reuid=nobody --regid=nogroup --clear-groups liquidsoap "$liq/radio.liq"
) >"$state/logs/liquidsoap.log" 2>&1 &
radio_pids+=($!)
log "waiting for Liquidsoap (its start-up takes a while on two cores)"
radio_wait_http "http://127.0.0.1:$liq_metrics_port/metrics" "Liquidsoap's metrics"

# The archiver beside Liquidsoap, as in its pod: the rendered environment with the
# watch folder and listen address remapped. Its database, the API's database and the
# media bucket live on a real PostgreSQL and S3-compatible server; the rendered secret
# environment gives the database and bucket names, the local servers the credentials.
# The API's tables come from apps/archiver/internal/testenv/api-schema.sql (the part
# of the API's schema.rb the archiver writes), with the station and the DJ in them.
eval "$("$services/postgres.sh" start)"
eval "$("$services/s3.sh" start)"
pg_admin=$DATABASE_URL
secret_env() { cat "$rendered/archiver-secret-env/$1"; }
db_name() { secret_env "$1" | sed -E 's#^[a-z]+://[^/]*/([^?]*).*#\1#'; }
local_db() { echo "${pg_admin/\/postgres\?//$1?}"; }
archiver_db=$(db_name DATABASE_URL) api_db=$(db_name API_DATABASE_URL) bucket=$(secret_env S3_BUCKET)
psql=$(ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)
for db in "$archiver_db" "$api_db"; do "$psql" -q "$pg_admin" -c "CREATE DATABASE \"$db\""; done
"$psql" -q -v ON_ERROR_STOP=1 "$(local_db "$api_db")" -f "$REPO_ROOT/apps/archiver/internal/testenv/api-schema.sql" \
  -c "INSERT INTO radios (name) VALUES ('datafruits'); INSERT INTO users (username, email) VALUES ('dj-fruit', 'dj@example.invalid')"
curl -fsS --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_KEY:$S3_SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X PUT "$S3_ENDPOINT/$bucket" -o /dev/null ||
  die "creating bucket $bucket on the local S3 server failed"
log "building the archiver"
(cd "$REPO_ROOT/apps/archiver" && go build -o "$state/archiver" ./cmd/archiver)
archiver_port=$(port 22200)
(
  for f in "$rendered/archiver-env/"*; do export "$(basename "$f")=$(cat "$f")"; done
  export ARCHIVER_WATCH_DIR="$liq/recordings" ARCHIVER_LISTEN_ADDR="127.0.0.1:$archiver_port" \
    DATABASE_URL="$(local_db "$archiver_db")" API_DATABASE_URL="$(local_db "$api_db")" \
    S3_BUCKET="$bucket" S3_ENDPOINT="$S3_ENDPOINT" S3_KEY="$S3_KEY" S3_SECRET="$S3_SECRET" \
    PUBLIC_BASE_URL="$(secret_env PUBLIC_BASE_URL)"
  exec setpriv --reuid=nobody --regid=nogroup --clear-groups "$state/archiver"
) >"$state/logs/archiver.log" 2>&1 &
radio_pids+=($!)
radio_wait_http "http://127.0.0.1:$archiver_port/readyz" "the archiver"

# nginx with the RTMP module on the rendered nginx.conf; Debian loads modules from its own
# nginx.conf, the rendered one has no load_module line, so -g adds it.
video=$(radio_private_dir video)
cp "$rendered/video-config/nginx.conf" "$video/nginx.conf"
remap "$video/nginx.conf" "listen 0.0.0.0:1935;" "listen 127.0.0.1:$video_rtmp_port;"
remap "$video/nginx.conf" "listen 0.0.0.0:8080;" "listen 127.0.0.1:$video_http_port;"
remap "$video/nginx.conf" "on_publish http://127.0.0.1:8080/" "on_publish http://127.0.0.1:$video_http_port/"
remap "$video/nginx.conf" "/var/run/video" "$video/run"
remap "$video/nginx.conf" "http://api.station.svc.cluster.local:3000/" "http://127.0.0.1:$api_port/"
remap "$video/nginx.conf" "rtmp://radio-datafruits-liquidsoap.radio-datafruits.svc.cluster.local:1936/" "rtmp://127.0.0.1:$rtmp_in_port/"
mkdir -p "$video/run/hls"
chown -R nobody: "$video/run"
nginx -e stderr -c "$video/nginx.conf" -g "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so; user nobody nogroup;" \
  >"$state/logs/nginx.log" 2>&1 &
radio_pids+=($!)
radio_wait_http "http://127.0.0.1:$video_http_port/healthz" "nginx"

# onair with its rendered settings; the relays' headless Service becomes the two relays.
log "building onair"
(cd "$REPO_ROOT/apps/onair" && go build -o "$state/onair" ./cmd/onair)
(
  for f in "$rendered/onair-env/"*; do export "$(basename "$f")=$(cat "$f")"; done
  export ONAIR_ICECAST_URL="http://127.0.0.1:$source_port" ONAIR_LISTEN_ADDR="127.0.0.1:$onair_port" \
    ONAIR_RELAYS="http://127.0.0.1:$relay1_port,http://127.0.0.1:$relay2_port" ONAIR_POLL_INTERVAL=1s \
    DISCORD_WEBHOOK_URL="http://127.0.0.1:$discord_port/webhook"
  exec "$state/onair"
) >"$state/logs/onair.log" 2>&1 &
radio_pids+=($!)
radio_wait_http "http://127.0.0.1:$onair_port/livez" "onair"

log "scenarios (go test ./test/radio)"
cd "$REPO_ROOT"
RADIO_SOURCE_URL="http://127.0.0.1:$source_port" \
  RADIO_RELAY_URLS="http://127.0.0.1:$relay1_port,http://127.0.0.1:$relay2_port" \
  RADIO_HARBOR="127.0.0.1:$harbor_port" RADIO_LIQ_METRICS="http://127.0.0.1:$liq_metrics_port/metrics" \
  RADIO_API_URL="http://127.0.0.1:$api_port" RADIO_DISCORD_URL="http://127.0.0.1:$discord_port" \
  RADIO_ONAIR_URL="http://127.0.0.1:$onair_port" RADIO_VIDEO_RTMP="rtmp://127.0.0.1:$video_rtmp_port" \
  RADIO_VIDEO_HTTP="http://127.0.0.1:$video_http_port" RADIO_RECORDINGS="$liq/recordings" \
  RADIO_LOGS="$state/logs" RADIO_STATION=datafruits \
  RADIO_API_DATABASE_URL="$(local_db "$api_db")" RADIO_ARCHIVER_URL="http://127.0.0.1:$archiver_port" \
  RADIO_S3_ENDPOINT="$S3_ENDPOINT" RADIO_S3_BUCKET="$bucket" RADIO_PUBLIC_BASE_URL="$(secret_env PUBLIC_BASE_URL)" \
  RADIO_S3_REGION="$S3_REGION" RADIO_S3_KEY="$S3_KEY" RADIO_S3_SECRET="$S3_SECRET" RADIO_PSQL="$psql" \
  RADIO_QUIET_PERIOD="$(cat "$rendered/archiver-env/ARCHIVER_QUIET_PERIOD")" \
  go test -tags radio -count=1 -v -timeout 15m ./test/radio 2>&1 | tee "$state/logs/scenarios.log" | grep -E '^(=== RUN|--- |PASS|FAIL|ok|    radio_test)' || true
grep -q '^ok' "$state/logs/scenarios.log" || die "radio scenarios failed (log: $state/logs/scenarios.log, daemons' logs in $state/logs)"
