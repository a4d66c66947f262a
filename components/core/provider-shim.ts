import type * as pulumi from "@pulumi/pulumi";

/**
 * A dynamic provider that loads the real one by path when the engine calls it.
 *
 * Pulumi keeps a dynamic resource's provider, serialised with everything it references, in that
 * resource's state, and serialises it again for every resource. The pipeline's providers reach
 * the transports, the script composer and the cloud client: tens of kilobytes a step, several
 * steps a host. Through this shim a step's state holds a few lines and a module path; the module
 * is loaded once per provider process (compiled JavaScript from the package, or the TypeScript
 * source through ts-node when the stack runs from a source checkout).
 */
export function providerShim(module: string, name: string): pulumi.dynamic.ResourceProvider {
    const load = (): pulumi.dynamic.ResourceProvider => {
        const fs: typeof import("fs") = require("fs");
        let m: Record<string, pulumi.dynamic.ResourceProvider>;
        if (fs.existsSync(`${module}.js`)) {
            m = require(`${module}.js`);
        } else if (fs.existsSync(`${module}.ts`)) {
            const g = globalThis as { __sshremedyTsNode?: unknown };
            g.__sshremedyTsNode ??= require("ts-node").register({ transpileOnly: true });
            m = require(`${module}.ts`);
        } else {
            throw new Error(`sshremedy: its step providers are missing (${module}.js): reinstall the sshremedy package`);
        }
        const p = m[name];
        if (!p) throw new Error(`sshremedy: ${module} has no provider ${name}`);
        return p;
    };
    return {
        async check(olds: any, news: any) {
            const p = load();
            return p.check ? p.check(olds, news) : { inputs: news };
        },
        async create(inputs: any) {
            return load().create(inputs);
        },
        async update(id: string, olds: any, news: any) {
            return load().update!(id, olds, news);
        },
        async diff(id: string, olds: any, news: any) {
            return load().diff!(id, olds, news);
        },
        async delete(id: string, props: any) {
            const p = load();
            if (p.delete) await p.delete(id, props);
        },
    };
}
