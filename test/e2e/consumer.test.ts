import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run, runOk } from "../harness/exec";
import { faultLogin, injectFault } from "../harness/faults";
import { createHost, destroyHost, ensureClientKeys, pidAlive, probeBanner, TestHost } from "../harness/lab";
import { TestStack } from "../harness/pulumi";
import { sshLogin } from "../harness/ssh";

/**
 * sshremedy as another stack uses it: built, packed, installed from the tarball into a fresh
 * Pulumi TypeScript project outside this repository, and driven by a real `pulumi up` and
 * `pulumi preview --policy-pack node_modules/sshremedy/dist/policies`. Nothing here imports the
 * source tree: the consumer sees only what `npm pack` put in the tarball.
 */

const repo = path.resolve(__dirname, "..", "..");
const repoPackage = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as { name: string; version: string };
const lock = JSON.parse(fs.readFileSync(path.join(repo, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
/** The repo's own pinned versions, so the consumer installs from the warm npm cache. */
const locked = (name: string) => `${name}@${lock.packages[`node_modules/${name}`].version}`;
const npmFlags = ["--prefer-offline", "--no-audit", "--no-fund"];

/**
 * The consumer's program. The address comes from another resource's output (AddressLookup, a
 * dynamic resource reading it from a file the test writes, as an inventory lookup would), so it
 * is unknown at preview time and only known at deploy time.
 */
const consumerProgram = `import * as pulumi from "@pulumi/pulumi";
import { SshAccess } from "sshremedy";
import type { SshAccessArgs } from "sshremedy";

const cfg = new pulumi.Config();

interface LookupInputs { file: string }

const addressLookupProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: LookupInputs) {
        const fs: typeof import("fs") = require("fs");
        const address = fs.readFileSync(inputs.file, "utf8").trim();
        return { id: address, outs: { file: inputs.file, address } };
    },
};

/** Another resource whose output is the host's address. */
class AddressLookup extends pulumi.dynamic.Resource {
    declare readonly address: pulumi.Output<string>;

    constructor(name: string, args: { file: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
        super(addressLookupProvider, name, { ...args, address: undefined }, opts);
    }
}

const lookup = new AddressLookup("web-address", { file: cfg.require("addressFile") });

const web = new SshAccess("web", {
    target: { kind: "console", prefix: cfg.requireObject<string[]>("consolePrefix") },
    login: {
        address: lookup.address,
        user: "alice",
        privateKey: cfg.requireSecret("loginKey"),
        sources: [cfg.require("source")],
    },
    sshd: cfg.getObject<SshAccessArgs["sshd"]>("sshd"),
});

export const address = lookup.address;
export const drift = web.drift;
export const changed = web.changed;
export const snapshot = web.snapshot;
export const verifiedAt = web.verifiedAt;
`;

interface Timings { [step: string]: number }

async function timed<T>(timings: Timings, step: string, f: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
        return await f();
    } finally {
        timings[step] = (Date.now() - t) / 1000;
    }
}

describe("[consumer] sshremedy installed from its npm tarball into a fresh Pulumi project", function () {
    this.timeout(900_000);
    const timings: Timings = {};
    let packDir = "";
    let projectDir = "";
    let tarball = "";
    const hosts: TestHost[] = [];
    const stacks: TestStack[] = [];

    before(async function () {
        this.timeout(600_000);
        await timed(timings, "build", () => runOk(["npm", "run", "build"], { cwd: repo, timeoutMs: 300_000 }));
        packDir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-pack-"));
        const pack = await timed(timings, "pack", () =>
            runOk(["npm", "pack", "--json", "--pack-destination", packDir], { cwd: repo, timeoutMs: 120_000 }));
        const packed = (JSON.parse(pack.stdout) as { filename: string; size: number; unpackedSize: number; entryCount: number }[])[0];
        tarball = path.join(packDir, packed.filename);
        console.log(`      packed ${packed.filename}: ${packed.size} bytes, ${packed.unpackedSize} unpacked, ${packed.entryCount} files`);

        projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-consumer-"));
        fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"),
            "name: sshremedy-consumer\ndescription: A stack that uses sshremedy as an installed npm package.\n"
            + "runtime:\n  name: nodejs\n  options:\n    typescript: true\n");
        fs.writeFileSync(path.join(projectDir, "package.json"), JSON.stringify({
            name: "sshremedy-consumer", private: true, main: "index.ts",
            devDependencies: Object.fromEntries(["typescript", "ts-node", "@types/node"].map((n) => [n, locked(n).split("@").pop()])),
        }, null, 2));
        fs.writeFileSync(path.join(projectDir, "tsconfig.json"), JSON.stringify({
            compilerOptions: { strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node", esModuleInterop: true, types: ["node"] },
            files: ["index.ts"],
        }, null, 2));
        fs.writeFileSync(path.join(projectDir, "index.ts"), consumerProgram);
        await timed(timings, "install", () => runOk(["npm", "install", ...npmFlags, tarball, locked("@pulumi/pulumi")],
            { cwd: projectDir, timeoutMs: 300_000 }));
    });

    afterEach(async () => {
        for (const s of stacks.splice(0)) await s.dispose();
        await Promise.all(hosts.splice(0).map(destroyHost));
    });

    after(() => {
        console.log(`      timings (s): ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}`);
        for (const d of [packDir, projectDir]) {
            if (d) fs.rmSync(d, { recursive: true, force: true });
        }
    });

    async function newHost(): Promise<TestHost> {
        const host = await createHost();
        hosts.push(host);
        return host;
    }

    /** Destroys the host now: its console and address lead nowhere any more. */
    async function switchOff(host: TestHost): Promise<void> {
        hosts.splice(hosts.indexOf(host), 1);
        await destroyHost(host);
        assert.equal(pidAlive(host.initPid), false, "the host's init still runs");
        assert.equal(await probeBanner(host.address, 22), false, "the host still answers on port 22");
    }

    /** A stack of the consumer project aimed at the host; the address goes through AddressLookup's file. */
    async function consumerStack(host: TestHost, extra: Record<string, string> = {}): Promise<TestStack> {
        const s = await TestStack.create(projectDir);
        stacks.push(s);
        const addressFile = path.join(s.stateDir, "address");
        fs.writeFileSync(addressFile, `${host.address}\n`);
        await s.setConfig("addressFile", addressFile);
        await s.setConfig("consolePrefix", JSON.stringify(host.consolePrefix));
        await s.setConfig("source", host.peerAddress);
        await s.setConfig("loginKey", fs.readFileSync((await ensureClientKeys()).main, "utf8"), true);
        for (const [k, v] of Object.entries(extra)) await s.setConfig(k, v);
        return s;
    }

    const policyPack = () => path.join(projectDir, "node_modules", repoPackage.name, "dist", "policies");

    it("[consumer] the installed package holds the compiled library, its declarations, the host scripts and the built policy pack, and no tests", async () => {
        const installed = path.join(projectDir, "node_modules", repoPackage.name);
        for (const f of ["dist/components/index.js", "dist/components/index.d.ts", "dist/components/core/compose.js",
            "dist/components/host/lib.sh", "dist/components/sshd-config/probe.sh", "dist/policies/index.js", "dist/policies/package.json", "README.md"]) {
            assert.ok(fs.existsSync(path.join(installed, f)), `${f} is not in the installed package`);
        }
        // Every host script of the source tree, in the same folder under dist/components.
        const sources = (await runOk(["find", "components", "-name", "*.sh"], { cwd: repo })).stdout.trim().split("\n").sort();
        const shipped = (await runOk(["find", "dist/components", "-name", "*.sh"], { cwd: installed })).stdout.trim().split("\n")
            .map((f) => f.replace(/^dist\//, "")).sort();
        assert.deepEqual(shipped, sources);
        for (const gone of ["test", "bench", "engine", "scripts", "index.ts", "tsconfig.json", "components", "policies"]) {
            assert.equal(fs.existsSync(path.join(installed, gone)), false, `${gone} must not be in the package`);
        }
        const policyYaml = fs.readFileSync(path.join(policyPack(), "PulumiPolicy.yaml"), "utf8");
        assert.doesNotMatch(policyYaml, /typescript:\s*true/, "the built policy pack is JavaScript");
        assert.equal((JSON.parse(fs.readFileSync(path.join(policyPack(), "package.json"), "utf8")) as { main: string }).main, "index.js");
        // The consumer's program type-checks against the shipped declarations, with the package's
        // `exports` honoured (node16 resolution) as well as through `types` (classic resolution).
        const tsc = path.join(projectDir, "node_modules", ".bin", "tsc");
        for (const resolution of [[], ["--module", "node16", "--moduleResolution", "node16"]]) {
            const r = await run([tsc, "--noEmit", "-p", projectDir, ...resolution], { cwd: projectDir, timeoutMs: 120_000 });
            assert.equal(r.code, 0, `tsc ${resolution.join(" ")}:\n${r.stdout}${r.stderr}`);
        }
    });

    it("[consumer] the package's sshremedy command is installed: --help, and diagnose names S2 on a broken host through its console", async () => {
        const bin = path.join(projectDir, "node_modules", ".bin", "sshremedy");
        const help = await run([bin, "--help"], { cwd: projectDir });
        assert.equal(help.code, 0, help.stderr);
        assert.match(help.stdout, /diagnose/);
        const host = await newHost();
        (await injectFault(host, "S2")).release();
        const r = await run([bin, "diagnose", "--json", "--address", host.address, "--user", "alice", "--key", (await ensureClientKeys()).main,
            "--console", JSON.stringify(host.consolePrefix)], { cwd: projectDir, env: { ...process.env, NO_COLOR: "1" } });
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const d = JSON.parse(r.stdout) as { causes: { id: string; blocking: boolean }[] };
        assert.equal(d.causes.filter((c) => c.blocking)[0]?.id, "S2", r.stdout);
    });

    it("[consumer] S2 (DenyUsers alice): the symptom, a real pulumi up of the consumer project, then the login works", async () => {
        const host = await newHost();
        const fault = await injectFault(host, "S2");
        fault.release();
        const before = await sshLogin({ address: host.address, ...fault.login });
        assert.equal(before.ok, false, "the fault did not break the login");
        assert.match(before.symptom, fault.symptom);

        const stack = await consumerStack(host);
        const up = await timed(timings, "pulumi up", () => stack.up());
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        const after = await sshLogin({ address: host.address, ...(await faultLogin("S2")) });
        assert.ok(after.ok, `login still fails: ${after.symptom}`);

        const out = await stack.outputs();
        assert.equal(out.address, host.address);
        assert.ok((out.drift as string[]).length > 0, "the run saw nothing wrong");
        assert.ok((out.changed as string[]).includes("sshd-config"), `sshd-config not changed: ${JSON.stringify(out.changed)}`);
        assert.equal(typeof out.verifiedAt, "string");
        assert.equal((await host.console(`test -s ${out.snapshot as string}/manifest`)).code, 0, `no snapshot at ${out.snapshot}`);
    });

    it("[consumer] the packaged policy pack judges a preview of a switched-off host (sshremedy:offlinePreview)", async () => {
        const host = await newHost();
        const stack = await consumerStack(host, { "sshremedy:offlinePreview": "true" });
        await switchOff(host);
        const r = await timed(timings, "preview --policy-pack", () => stack.pulumi(["preview", "--policy-pack", policyPack()]));
        const out = `${r.stdout}\n${r.stderr}`;
        assert.equal(r.code, 0, out);
        assert.ok(out.includes(`sshremedy@v${repoPackage.version} (local: ${policyPack()})`), `the packaged pack is not named:\n${out}`);
        assert.doesNotMatch(out, /\[mandatory\]/, out);
    });

    it("[consumer] the packaged policy pack stops a declaration that denies the login user (mandatory)", async () => {
        const host = await newHost();
        const stack = await consumerStack(host, {
            "sshremedy:offlinePreview": "true",
            sshd: JSON.stringify({ settings: { denyUsers: ["alice"] } }),
        });
        await switchOff(host);
        const r = await stack.pulumi(["preview", "--policy-pack", policyPack()]);
        const out = `${r.stdout}\n${r.stderr}`;
        assert.notEqual(r.code, 0, `a mandatory violation must fail the preview:\n${out}`);
        assert.match(out, /sshremedy-sshd-disallow-excluded-login-user/, out);
        assert.match(out, /mandatory/, out);
    });
});
