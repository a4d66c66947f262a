/**
 * Benchmark (not a test): wall time of `pulumi preview` of a 200-host stack with and without
 * `--policy-pack policies`. Contacts no host and needs no root: the fixture
 * (test/e2e/fixtures/policy-bench) declares each host as a component with SshAccess's type token
 * and exactly SshAccess's inputs, plus three dynamic children shaped like the pipeline's, because a
 * real SshAccess probes its host during preview (200 hosts would measure the hosts, not the pack).
 * Runs alternate, so a warm cache favours neither. BENCH_HOSTS and BENCH_RUNS override 200 and 3.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TestStack } from "../test/harness/pulumi";

const hosts = Number(process.env.BENCH_HOSTS ?? 200);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const project = path.join(__dirname, "..", "test", "e2e", "fixtures", "policy-bench");
const policies = path.join(__dirname, "..", "policies");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(stack: TestStack, args: string[]): Promise<number> {
    const t = process.hrtime.bigint();
    const r = await stack.pulumi(["preview", ...args], { timeoutMs: 1_800_000 });
    if (r.code !== 0) throw new Error(`pulumi preview ${args.join(" ")} failed: ${r.stdout}\n${r.stderr}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
}

async function main(): Promise<void> {
    const stack = await TestStack.create(project);
    try {
        await stack.setConfig("hosts", String(hosts));
        await stack.setConfig("privateKey", "-----BEGIN OPENSSH PRIVATE KEY-----\nbench\n-----END OPENSSH PRIVATE KEY-----\n", true);
        const plain: number[] = [];
        const packed: number[] = [];
        for (let i = 0; i < runs; i++) {
            plain.push(await timed(stack, []));
            packed.push(await timed(stack, ["--policy-pack", policies]));
        }
        const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
        const range = (xs: number[]) => `(${s(Math.min(...xs))}–${s(Math.max(...xs))})`;
        const cpu = os.cpus()[0]?.model.trim() ?? "?";
        console.log(`${hosts} hosts (${hosts * 4} resources), ${runs} runs; ${os.cpus().length} cores, ${cpu}, `
            + `${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}`);
        console.log(`| pulumi preview | ${s(median(plain))} ${range(plain)} |`);
        console.log(`| pulumi preview --policy-pack policies | ${s(median(packed))} ${range(packed)} |`);
        console.log(`| overhead of the pack | ${s(median(packed) - median(plain))} (${((median(packed) / median(plain) - 1) * 100).toFixed(0)} %) |`);
    } finally {
        await stack.dispose();
        fs.rmSync(path.join(project, `Pulumi.${stack.stack}.yaml`), { force: true });
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
