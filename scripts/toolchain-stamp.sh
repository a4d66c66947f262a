#!/usr/bin/env bash
# Prints a digest of everything scripts/toolchain.sh installs from: when it changes, the
# toolchain is installed again before the next test or demo run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cat "$top/package-lock.json" "$top/scripts/toolchain.sh" "$top/scripts/testroot.sh" \
    "$top"/engine/cli/go.mod "$top"/engine/language-nodejs/*.go "$top"/engine/language-nodejs/go.* "$top"/engine/shims/* \
  | sha256sum | cut -c1-32
