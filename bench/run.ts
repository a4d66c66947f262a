/**
 * Benchmarks (not tests): wall time of a real `pulumi up` of one SshdConfig from a broken host
 * to a verified login, the round trips it makes to the host, and the same for a converged rerun.
 * Round trips are counted by a console prefix that records each script it carries; the verifying
 * login is a separate fresh SSH connection and is reported apart. Needs root (test hosts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { injectFault } from "../test/harness/faults";
import { createHost, destroyHost, ensureClientKeys, TestHost } from "../test/harness/lab";
import { TestStack } from "../test/harness/pulumi";

const runs = Number(process.env.BENCH_RUNS ?? 3);
const project = path.join(__dirname, "..", "test", "e2e", "fixtures", "sshd");

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

async function once(): Promise<{ up: number; upTrips: number; rerun: number; rerunTrips: number }> {
    const host: TestHost = await createHost();
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-bench-")), "calls");
    let stack: TestStack | undefined;
    try {
        await injectFault(host, "S1");
        stack = await TestStack.create(project);
        await stack.setConfig("address", host.address);
        await stack.setConfig("consolePrefix", JSON.stringify(["sh", "-c", 'echo call >> "$0"; exec "$@"', log, ...host.consolePrefix]));
        await stack.setConfig("privateKey", fs.readFileSync((await ensureClientKeys()).main, "utf8"), true);
        await stack.setConfig("settings", JSON.stringify({ allowUsers: ["alice", "bob"] }));
        const trips = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0);

        let t = process.hrtime.bigint();
        const up = await stack.up();
        const upMs = Number(process.hrtime.bigint() - t) / 1e6;
        if (up.code !== 0) {
            throw new Error(`pulumi up failed: ${up.stdout}\n${up.stderr}`);
        }
        const upTrips = trips();
        t = process.hrtime.bigint();
        const rerun = await stack.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        const rerunMs = Number(process.hrtime.bigint() - t) / 1e6;
        if (rerun.code !== 0) {
            throw new Error(`converged rerun changed something: ${rerun.stdout}`);
        }
        return { up: upMs, upTrips, rerun: rerunMs, rerunTrips: trips() - upTrips };
    } finally {
        await stack?.dispose();
        await destroyHost(host);
        fs.rmSync(path.dirname(log), { recursive: true, force: true });
    }
}

async function main(): Promise<void> {
    const results = [];
    for (let i = 0; i < runs; i++) {
        results.push(await once());
    }
    const cpu = os.cpus()[0]?.model ?? "unknown cpu";
    console.log(`machine: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.release()}, node ${process.version}`);
    console.log(`runs: ${runs}`);
    console.log(`pulumi up, broken [S1] -> verified: median ${(median(results.map((r) => r.up)) / 1000).toFixed(2)} s `
        + `(each: ${results.map((r) => (r.up / 1000).toFixed(2)).join(", ")}), round trips to the host: ${results.map((r) => r.upTrips).join(", ")} + 1 verifying login`);
    console.log(`pulumi up, converged rerun:      median ${(median(results.map((r) => r.rerun)) / 1000).toFixed(2)} s, `
        + `round trips: ${results.map((r) => r.rerunTrips).join(", ")}`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
