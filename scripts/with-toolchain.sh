#!/usr/bin/env bash
# Runs a command with the project's toolchain and offline engine environment.
set -eu
. "$(dirname "$0")/env.sh"
exec "$@"
