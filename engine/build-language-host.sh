#!/usr/bin/env bash
# Builds sshremedy's Node.js language host and installs it, with the plugin
# shims, into <outdir>. Put <outdir> on PATH (or use the directory holding the
# pulumi binary, which the engine searches first and does not warn about).
#
#   engine/build-language-host.sh <outdir>
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 <outdir>" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
outdir=$(cd "$1" && pwd)

# -mod=mod lets go resolve through the module proxy; go.sum pins the result.
(cd "$here/language-nodejs" && GOFLAGS=-mod=mod CGO_ENABLED=0 \
    go build -trimpath -o "$outdir/pulumi-language-nodejs" .)

install -m 0755 "$here/shims/pulumi-resource-pulumi-nodejs" "$outdir/"
install -m 0755 "$here/shims/pulumi-analyzer-policy" "$outdir/"
# The engine's fallback (no nodejs language host found) looks for
# pulumi-analyzer-policy-<runtime>, so install the shim under that name too.
install -m 0755 "$here/shims/pulumi-analyzer-policy" "$outdir/pulumi-analyzer-policy-nodejs"

echo "installed into $outdir:"
ls -1 "$outdir" | grep -E '^pulumi-(language-nodejs|resource-pulumi-nodejs|analyzer-policy)'
