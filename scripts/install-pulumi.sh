#!/usr/bin/env bash
# Installs the pinned Pulumi CLI (with its Go language host) and the provider
# plugins go.mod implies, once per version, outside the clone:
#
#   CLI      $DATAFRUITS_CACHE/pulumi-v<version>/pulumi/{pulumi,pulumi-language-go}
#   plugins  $PULUMI_HOME/plugins (Pulumi's own plugin cache, ~/.pulumi by default)
#
# Where from, in this order:
#   1. DATAFRUITS_MIRROR=<dir>: an offline mirror laid out like ../shared
#      (<dir>/pulumi/ holds the release tarballs and SHA256SUMS). When a mirror
#      is given and a file is missing or its checksum is wrong, this fails: it
#      never falls back to the internet behind the user's back.
#   2. otherwise Pulumi's official release downloads (the CLI tarball from
#      get.pulumi.com, the plugins through `pulumi plugin install`).
#
#   scripts/install-pulumi.sh            install what is missing; prints PATH to use
#   source scripts/install-pulumi.sh     then `ensure_pulumi` puts the CLI on PATH
# shellcheck shell=bash

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/prereqs.sh"

PULUMI_CLI_DIR="$DATAFRUITS_CACHE/pulumi-v$PULUMI_CLI_VERSION/pulumi"

# platform prints the release suffixes of this machine: "<os>-<cli arch> <os>-<plugin arch>".
pulumi_platform() {
  local os arch
  os=$(uname -s | tr '[:upper:]' '[:lower:]')
  case $(uname -m) in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "no Pulumi release for machine type $(uname -m)" ;;
  esac
  # The CLI's tarballs say x64 where the plugins' say amd64.
  echo "$os-${arch/amd64/x64} $os-$arch"
}

# mirror_file NAME prints the mirror's path of a release file after checking
# it against the mirror's SHA256SUMS, or fails naming what is wrong.
mirror_file() {
  local dir="$DATAFRUITS_MIRROR/pulumi" name=$1 want got
  [ -f "$dir/$name" ] || die "DATAFRUITS_MIRROR=$DATAFRUITS_MIRROR has no pulumi/$name (the mirror must hold the pinned versions)"
  want=$(awk -v n="$name" '$2 == n || $2 == "*" n {print $1}' "$dir/SHA256SUMS" 2>/dev/null)
  [ -n "$want" ] || die "$dir/SHA256SUMS has no line for $name"
  got=$(sha256sum "$dir/$name" | cut -d' ' -f1)
  [ "$got" = "$want" ] || die "$dir/$name: sha256 $got, but SHA256SUMS says $want"
  echo "$dir/$name"
}

install_pulumi_cli() {
  local cli_platform tarball tmp
  cli_platform=$(pulumi_platform | cut -d' ' -f1)
  tarball="pulumi-v$PULUMI_CLI_VERSION-$cli_platform.tar.gz"
  tmp=$(mktemp -d)
  if [ -n "${DATAFRUITS_MIRROR:-}" ]; then
    log "installing the Pulumi CLI $PULUMI_CLI_VERSION from the mirror $DATAFRUITS_MIRROR into $PULUMI_CLI_DIR"
    cp "$(mirror_file "$tarball")" "$tmp/$tarball"
  else
    log "downloading the Pulumi CLI $PULUMI_CLI_VERSION into $PULUMI_CLI_DIR"
    curl -fsSL --retry 3 -o "$tmp/$tarball" "https://get.pulumi.com/releases/sdk/$tarball" \
      || { rm -rf "$tmp"; die "could not download https://get.pulumi.com/releases/sdk/$tarball; offline, point DATAFRUITS_MIRROR at a mirror (README, 'Offline')"; }
  fi
  tar -xzf "$tmp/$tarball" -C "$tmp"
  [ -x "$tmp/pulumi/pulumi" ] || { rm -rf "$tmp"; die "$tarball has no pulumi/pulumi"; }
  [ -x "$tmp/pulumi/pulumi-language-go" ] || { rm -rf "$tmp"; die "$tarball has no pulumi/pulumi-language-go (the Go language host)"; }
  mkdir -p "$(dirname "$PULUMI_CLI_DIR")"
  rm -rf "$PULUMI_CLI_DIR"
  mv "$tmp/pulumi" "$PULUMI_CLI_DIR"
  rm -rf "$tmp"
}

install_pulumi_plugin() {
  local name=$1 version=$2 plugin_platform
  plugin_platform=$(pulumi_platform | cut -d' ' -f2)
  if [ -n "${DATAFRUITS_MIRROR:-}" ]; then
    log "installing provider plugin $name v$version from the mirror"
    pulumi plugin install resource "$name" "v$version" \
      --file "$(mirror_file "pulumi-resource-$name-v$version-$plugin_platform.tar.gz")" >/dev/null \
      || die "could not install the $name plugin v$version from the mirror $DATAFRUITS_MIRROR"
  else
    log "downloading provider plugin $name v$version"
    pulumi plugin install resource "$name" "v$version" >/dev/null \
      || die "could not download the $name plugin v$version; offline, point DATAFRUITS_MIRROR at a mirror (README, 'Offline')"
  fi
}

# ensure_pulumi installs what is missing and puts the pinned CLI first on PATH.
ensure_pulumi() {
  export PULUMI_SKIP_UPDATE_CHECK=true
  # Pulumi finds its home from the user database, not $HOME: name it, so the
  # plugins land where scripts/prereqs.sh looks for them.
  export PULUMI_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
  [ -x "$PULUMI_CLI_DIR/pulumi" ] || install_pulumi_cli
  case ":$PATH:" in *":$PULUMI_CLI_DIR:"*) ;; *) export PATH="$PULUMI_CLI_DIR:$PATH" ;; esac
  local name version
  while read -r name version; do
    [ -n "$name" ] || continue
    plugin_installed "$name" "$version" || install_pulumi_plugin "$name" "$version"
  done < <(pulumi_plugins)
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ensure_pulumi
  echo "pulumi $(pulumi_cli_version) and plugins $(pulumi_plugins | sed 's/ / v/' | paste -sd, - | sed 's/,/, /g') are installed."
  echo "Put the CLI on PATH with: export PATH=\"$PULUMI_CLI_DIR:\$PATH\""
fi
