import type * as pulumi from "@pulumi/pulumi";

/** The provider methods a step implements; the engine's defaults stand in for the others. */
export type ShimMethod = "check" | "create" | "update" | "diff" | "delete";

/**
 * A dynamic provider that loads the real one by path when the engine calls it.
 *
 * Pulumi keeps a dynamic resource's provider, serialised with everything it references, in that
 * resource's state (inputs and outputs both), serialised again for every resource, and the file
 * backend rewrites the whole state at each step of a run. The pipeline's providers reach the
 * transports, the script composer and the cloud client: tens of kilobytes a step. Through this
 * shim a step's state holds one small loader, a module path and one line per method (about 1 KB);
 * the module is loaded once per provider process (compiled JavaScript from the package, or the
 * TypeScript source through esbuild-register when the stack runs from a source checkout). Only the methods
 * named are defined: a missing `check` passes the inputs through, a missing `delete` does nothing.
 */
export function providerShim(module: string, name: string, methods: readonly ShimMethod[]): pulumi.dynamic.ResourceProvider {
    // Kept short on purpose: this text is what every step stores, twice.
    const go = (op: string, a: unknown[]): any => {
        const fs = require("fs"), g: any = globalThis;
        if (!fs.existsSync(module + ".js")) {
            if (!fs.existsSync(module + ".ts")) throw new Error(`sshremedy: its step providers are missing (${module}.js): reinstall the sshremedy package`);
            g.__srTs ??= require("esbuild-register/dist/node").register({ target: "node22" });
        }
        return require(module)[name][op](...a);
    };
    const all: Record<ShimMethod, (...a: unknown[]) => any> = {
        check: (...a) => go("check", a),
        create: (...a) => go("create", a),
        update: (...a) => go("update", a),
        diff: (...a) => go("diff", a),
        delete: (...a) => go("delete", a),
    };
    return Object.fromEntries(methods.map((m) => [m, all[m]])) as unknown as pulumi.dynamic.ResourceProvider;
}
