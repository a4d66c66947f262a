// The stack program as Pulumi runs it from a source checkout: index.ts, compiled as it loads by
// esbuild (esbuild-register: types are not checked here; `npm run typecheck` and the tests do).
// ts-node, which Pulumi's `typescript: true` uses, costs about 1.5 s of CPU per run in the
// TypeScript compiler, and its stack-trace mapping makes each of the SDK's promise records
// (thousands in a fleet) four times dearer: a one-host run pays the first, a fleet the second.
// The stack's outputs are index.ts's exports.
"use strict";
require("esbuild-register/dist/node").register({ target: "node22" });
module.exports = require("../index.ts");
