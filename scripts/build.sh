#!/usr/bin/env bash
# Builds the npm package into dist/: the library (components/) and the policy pack (policies/)
# compiled to CommonJS with declarations, plus the files they read at run time:
#   - every components/**/*.sh, in the same folders (components/core/compose.ts finds them
#     beside its own compiled file, path.join(__dirname, "..") + <folder>/<name>.sh);
#   - the policy pack's PulumiPolicy.yaml (runtime options without typescript: the built pack
#     is plain JavaScript) and a package.json whose main is the compiled index.js.
# Run it through `npm run build` (scripts/with-toolchain.sh puts tsc and Node 22 on PATH).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

rm -rf dist
tsc -p tsconfig.build.json

# Host scripts, keeping their folders.
while IFS= read -r -d '' f; do
  mkdir -p "dist/$(dirname "$f")"
  cp -p "$f" "dist/$f"
done < <(find components -type f -name '*.sh' -print0)

# The policy pack: `pulumi preview --policy-pack node_modules/sshremedy/dist/policies`.
# The source PulumiPolicy.yaml says typescript: true (ts-node over the .ts files); the built one
# must not, or the engine would load ts-node for a folder of .js files.
node - <<'JS'
const fs = require("fs");
const src = fs.readFileSync("policies/PulumiPolicy.yaml", "utf8");
// Only the description line is kept; runtime is nodejs with no options.
const description = (/^description:.*$/m.exec(src) || ["description: sshremedy policy pack"])[0];
fs.writeFileSync("dist/policies/PulumiPolicy.yaml", `${description}\nruntime: nodejs\n`);
const root = JSON.parse(fs.readFileSync("package.json", "utf8"));
const pack = JSON.parse(fs.readFileSync("policies/package.json", "utf8"));
fs.writeFileSync("dist/policies/package.json", JSON.stringify({
  name: pack.name, version: root.version, private: true, main: "index.js",
  description: "The sshremedy policy pack, compiled. Its dependencies (@pulumi/policy, @pulumi/pulumi) resolve from the package that ships it.",
}, null, 2) + "\n");
JS

# Nothing from outside components/ and policies/ may have been compiled in.
extra=$(find dist -mindepth 1 -maxdepth 1 ! -name components ! -name policies)
if [ -n "$extra" ]; then
  echo "build: unexpected output in dist: $extra" >&2
  exit 1
fi
[ -f dist/components/index.js ] && [ -f dist/components/index.d.ts ] || { echo "build: dist/components/index.{js,d.ts} missing" >&2; exit 1; }
echo "built dist/: $(find dist -name '*.js' | wc -l) .js, $(find dist -name '*.d.ts' | wc -l) .d.ts, $(find dist -name '*.sh' | wc -l) .sh"
