#!/bin/sh
# Starts Icecast with the rendered icecast.xml, its password placeholders filled from the
# mounted Secret files (Icecast reads neither env nor included files). The filled file
# lives in a private scratch folder, never in the ConfigMap.
#   ICECAST_TEMPLATE     the rendered icecast.xml (ConfigMap)
#   ICECAST_SECRETS_DIR  folder with source-password, relay-password, admin-password (Secret)
#   ICECAST_RUN_DIR      writable folder for the filled file
set -eu
umask 077
out="$ICECAST_RUN_DIR/icecast.xml"
for name in source-password relay-password admin-password; do
  value=$(cat "$ICECAST_SECRETS_DIR/$name")
  # Generated passwords are letters and digits; anything beyond [A-Za-z0-9._-] could break the
  # sed below or the XML.
  case "$value" in
    ''|*[!A-Za-z0-9._-]*) echo "icecast-start: $name must be non-empty letters, digits, '.', '_' or '-'" >&2; exit 1 ;;
  esac
done
sed -e "s/@ICECAST_SOURCE_PASSWORD@/$(cat "$ICECAST_SECRETS_DIR/source-password")/" \
    -e "s/@ICECAST_RELAY_PASSWORD@/$(cat "$ICECAST_SECRETS_DIR/relay-password")/" \
    -e "s/@ICECAST_ADMIN_PASSWORD@/$(cat "$ICECAST_SECRETS_DIR/admin-password")/" \
    "$ICECAST_TEMPLATE" >"$out"
# Debian and Ubuntu name the binary icecast2, a source build icecast.
bin=$(command -v icecast2 || command -v icecast)
exec "$bin" -c "$out"
