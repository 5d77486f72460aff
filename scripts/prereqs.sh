#!/usr/bin/env bash
# Prerequisites of the commands that run the real Pulumi engine (make up,
# make down, make integration): Go, the Pulumi CLI, and the provider plugins
# the program loads. Nothing here downloads anything; a missing piece is named
# with the exact command that installs it.
#
#   scripts/prereqs.sh            print what is missing and how to get it; exit 1 if anything is
#   scripts/prereqs.sh --reason   print one short line naming what is missing (for skip messages)
#   source scripts/prereqs.sh     for prereqs_reason / prereqs_check
#
# Plugins: the Go language host asks for every provider whose SDK the program
# imports (each SDK module carries a pulumi-plugin.json), and `pulumi up` stops
# when one of them is missing and cannot be downloaded. infra/ imports the
# DigitalOcean SDK for staging and prod, so the local stack needs the
# digitalocean plugin on disk too, although it creates no DigitalOcean resource.
# The versions are read from go.mod, so they never drift from the SDKs.
# shellcheck shell=bash

# PULUMI_CLI_VERSION is the CLI CI runs (PULUMI_VERSION in .github/workflows);
# older CLIs are refused, newer ones accepted.
PULUMI_CLI_VERSION=3.259.0
PREREQS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PULUMI_HOME_DIR="${PULUMI_HOME:-$HOME/.pulumi}"

# pulumi_plugins prints "name version" for each provider SDK go.mod requires.
pulumi_plugins() {
  sed -n -E 's#^[[:space:]]*github\.com/pulumi/pulumi-([a-z0-9-]+)/sdk/v[0-9]+ v([0-9][^ ]*).*#\1 \2#p' \
    "$PREREQS_REPO_ROOT/go.mod" | sort -u
}

# plugin_installed NAME VERSION: the plugin is in the plugin cache, completely
# (Pulumi leaves a .partial marker while a download is unfinished).
plugin_installed() {
  local dir="$PULUMI_HOME_DIR/plugins/resource-$1-v$2"
  [ -d "$dir" ] && [ ! -e "$dir.partial" ]
}

missing_plugins() {
  local name version
  while read -r name version; do
    [ -n "$name" ] || continue
    plugin_installed "$name" "$version" || echo "$name v$version"
  done < <(pulumi_plugins)
}

pulumi_cli_version() {
  PULUMI_SKIP_UPDATE_CHECK=true pulumi version 2>/dev/null | sed 's/^v//'
}

# version_older A B: A < B (semantic versions, pre-release suffixes ignored).
version_older() {
  local a=${1%%-*} b=${2%%-*}
  [ "$a" != "$b" ] && [ "$(printf '%s\n%s\n' "$a" "$b" | sort -V | head -n1)" = "$a" ]
}

# prereqs_reason prints one line naming the first missing prerequisite and
# returns 1, or prints nothing and returns 0.
prereqs_reason() {
  if ! command -v go >/dev/null 2>&1; then
    echo "go not found"; return 1
  fi
  if ! command -v pulumi >/dev/null 2>&1; then
    echo "pulumi CLI not found"; return 1
  fi
  local v; v=$(pulumi_cli_version)
  if [ -z "$v" ]; then
    echo "pulumi version failed"; return 1
  fi
  if version_older "$v" "$PULUMI_CLI_VERSION"; then
    echo "pulumi CLI $v is older than $PULUMI_CLI_VERSION"; return 1
  fi
  local missing; missing=$(missing_plugins | paste -sd, - | sed 's/,/, /g')
  if [ -n "$missing" ]; then
    echo "provider plugins not installed: $missing"; return 1
  fi
  return 0
}

# prereqs_check prints every missing prerequisite with the command that
# installs it, on stderr, and returns 1; returns 0 when all are present.
prereqs_check() {
  local problems=0 v
  if ! command -v go >/dev/null 2>&1; then
    problems=1
    cat >&2 <<EOF
missing: Go (the program is a Go program). Install the version go.mod names ($(sed -n 's/^go //p' "$PREREQS_REPO_ROOT/go.mod")) from https://go.dev/dl/
EOF
  fi
  if ! command -v pulumi >/dev/null 2>&1; then
    problems=1
    cat >&2 <<EOF
missing: the Pulumi CLI. Install the version CI uses and put it on PATH:
  curl -fsSL https://get.pulumi.com | sh -s -- --version $PULUMI_CLI_VERSION
  export PATH="\$HOME/.pulumi/bin:\$PATH"
EOF
  else
    v=$(pulumi_cli_version)
    if [ -z "$v" ] || version_older "$v" "$PULUMI_CLI_VERSION"; then
      problems=1
      cat >&2 <<EOF
too old: the Pulumi CLI is ${v:-unknown}; this project needs $PULUMI_CLI_VERSION or newer:
  curl -fsSL https://get.pulumi.com | sh -s -- --version $PULUMI_CLI_VERSION
EOF
    fi
  fi
  local missing=() line
  while read -r line; do [ -n "$line" ] && missing+=("$line"); done < <(missing_plugins)
  if [ ${#missing[@]} -gt 0 ]; then
    problems=1
    echo "missing: provider plugins (in $PULUMI_HOME_DIR/plugins). Install them with:" >&2
    for line in "${missing[@]}"; do
      echo "  pulumi plugin install resource ${line% *} ${line#* }" >&2
    done
    local os arch
    os=$(uname -s | tr '[:upper:]' '[:lower:]')
    arch=$(uname -m); case $arch in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
    echo "Without internet here, fetch each tarball on another machine and install it from the file:" >&2
    for line in "${missing[@]}"; do
      echo "  https://github.com/pulumi/pulumi-${line% *}/releases/download/${line#* }/pulumi-resource-${line% *}-${line#* }-$os-$arch.tar.gz" >&2
      echo "  pulumi plugin install resource ${line% *} ${line#* } --file pulumi-resource-${line% *}-${line#* }-$os-$arch.tar.gz" >&2
    done
  fi
  return $problems
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  if [ "${1:-}" = "--reason" ]; then
    prereqs_reason
    exit $?
  fi
  if prereqs_check; then
    echo "prerequisites present: go, pulumi $(pulumi_cli_version), plugins $(pulumi_plugins | sed 's/ / v/' | paste -sd, - | sed 's/,/, /g')"
    exit 0
  fi
  exit 1
fi
