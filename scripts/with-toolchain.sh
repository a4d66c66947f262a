#!/usr/bin/env bash
# Runs a command with the project's toolchain and offline engine environment, installing the
# toolchain first when it is missing or out of date (so the README's commands work on a fresh machine).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache="${SSHREMEDY_CACHE:-/var/cache/sshremedy}"
top=$(dirname "$here")
lock_sum=$(sha256sum "$top/package-lock.json" | cut -c1-16)
if [ "$(cat "$cache/.toolchain-stamp" 2>/dev/null)" != "$(bash "$here/toolchain-stamp.sh")" ] \
   || [ "$(cat "$top/node_modules/.sshremedy-lock-sum" 2>/dev/null)" != "$lock_sum" ]; then
  bash "$here/toolchain.sh" >&2
fi
. "$here/env.sh"
exec "$@"
