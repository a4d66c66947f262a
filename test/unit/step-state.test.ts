import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { providerShim } from "../../components/core/provider-shim";
import { phaseProvider, targetIdentity } from "../../components/core/step-providers";
import type { CommandTarget } from "../../components/core/transport";

const secretKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-SECRET\n-----END OPENSSH PRIVATE KEY-----\n";
const host: CommandTarget = { kind: "ssh", host: "198.18.0.2", user: "root", privateKey: secretKey };
const state = (target: CommandTarget | undefined, extra: Record<string, unknown> = {}) =>
    ({ target, pending: false, desiredHash: "abc", drift: [], phase: [], ...extra });

describe("[state-size] what a step keeps in state", () => {
    it("the provider shim serialises to about 1.5 KB, with only the methods named", async () => {
        const shim = providerShim("/nowhere/step-providers", "phaseProvider", ["create", "update", "diff"]);
        assert.deepEqual(Object.keys(shim).sort(), ["create", "diff", "update"]);
        const text = (await pulumi.runtime.serializeFunction(() => shim, { allowSecrets: false })).text;
        // It was 2.9 KB with every method and its own loader: stored twice a step, rewritten at every checkpoint.
        assert.ok(text.length < 1_600, `serialised shim is ${text.length} bytes`);
        assert.ok(!text.includes("runScript") && !text.includes("composePhase"), "the shim carries no step code");
    });

    it("the shim loads the named provider by path and calls the method asked for", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sr-shim-"));
        try {
            fs.writeFileSync(path.join(dir, "p.js"), "exports.phaseProvider = { diff: async (id, o, n) => ({ changes: id === 'x' && n.k === 2 }) };\n");
            const shim = providerShim(path.join(dir, "p"), "phaseProvider", ["diff"]);
            assert.deepEqual(await shim.diff!("x", {}, { k: 2 }), { changes: true });
            const missing = providerShim(path.join(dir, "gone"), "phaseProvider", ["diff"]);
            await assert.rejects(async () => missing.diff!("x", {}, {}), /step providers are missing .*reinstall/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("a step's outputs name the host it reaches, never the key, password or cloud credentials", () => {
        for (const t of [host, { kind: "ssh", host: "198.18.0.2", user: "root", password: "hunter2-SECRET" } as CommandTarget,
            { kind: "tat", instanceId: "ins-1", settings: { secretId: "AKID-SECRET", secretKey: "SECRET", region: "ap-guangzhou" } } as CommandTarget]) {
            const id = targetIdentity(t);
            assert.ok(!/SECRET/.test(id), id);
        }
        assert.equal(targetIdentity({ kind: "console", prefix: ["nsenter", "-t", "7", "-a"] }), '["console","nsenter","-t","7","-a"]');
    });

    it("the diff reruns a step for another host, port or user, not for a rotated admin key; old states compare the same", async () => {
        const outs = (t: CommandTarget) => ({ reaches: targetIdentity(t), pending: false, desiredHash: "abc", drift: [] });
        const diff = (olds: unknown, news: unknown) => phaseProvider.diff!("id", olds, news) as Promise<{ changes: boolean }>;
        assert.equal((await diff(outs(host), state({ ...host, privateKey: "another key" }))).changes, false);
        assert.equal((await diff(outs(host), state({ ...host, port: 2222 }))).changes, true);
        assert.equal((await diff(outs(host), state({ ...host, user: "admin" }))).changes, true);
        assert.equal((await diff(outs(host), state({ ...host, host: "198.18.0.6" }))).changes, true);
        // A state written before `reaches` kept the whole target.
        assert.equal((await diff(state(host), state(host))).changes, false);
        assert.equal((await diff(state(host), state({ ...host, host: "198.18.0.6" }))).changes, true);
        // Still reruns whenever the probe found the host out of line.
        assert.equal((await diff(outs(host), state(host, { pending: true }))).changes, true);
    });
});
