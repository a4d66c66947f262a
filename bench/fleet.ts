/**
 * Benchmark (not a test): the main job through index.ts. Wall time of one `pulumi up` that
 * repairs one broken host, against one that repairs ten hosts each broken differently, and the
 * converged rerun of the fleet with its round trips per host (counted by a console prefix that
 * records each script it carries). Needs root (test hosts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FaultId, injectFault } from "../test/harness/faults";
import { createHosts, destroyHost, ensureClientKeys, TestHost } from "../test/harness/lab";
import { TestStack } from "../test/harness/pulumi";

const project = path.join(__dirname, "..");
const fleetFaults: FaultId[] = ["S1", "S2", "S3", "S4", "S6", "S7", "S11", "S12", "S14", "S15"];

async function repair(faults: FaultId[]): Promise<{ up: number; rerun: number; tripsPerHost: number[] }> {
    const hosts: TestHost[] = await createHosts(faults.length);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-fleet-"));
    let stack: TestStack | undefined;
    try {
        for (const [i, id] of faults.entries()) {
            (await injectFault(hosts[i], id)).release();
        }
        stack = await TestStack.create(project);
        await stack.setConfig("sshremedy:hosts", JSON.stringify(hosts.map((h) => ({
            name: h.name,
            console: ["sh", "-c", 'echo call >> "$0"; exec "$@"', path.join(dir, h.name), ...h.consolePrefix],
            login: { address: h.address, user: "alice", sources: [h.peerAddress] },
        }))));
        await stack.setConfig("sshremedy:loginKey", fs.readFileSync((await ensureClientKeys()).main, "utf8"), true);
        let t = process.hrtime.bigint();
        const up = await stack.up();
        const upMs = Number(process.hrtime.bigint() - t) / 1e6;
        if (up.code !== 0) {
            throw new Error(`pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        }
        const calls = (h: TestHost) => fs.readFileSync(path.join(dir, h.name), "utf8").split("\n").filter(Boolean).length;
        const before = hosts.map(calls);
        t = process.hrtime.bigint();
        const rerun = await stack.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        const rerunMs = Number(process.hrtime.bigint() - t) / 1e6;
        if (rerun.code !== 0) {
            throw new Error(`the converged rerun changed something:\n${rerun.stdout}`);
        }
        return { up: upMs, rerun: rerunMs, tripsPerHost: hosts.map((h, i) => calls(h) - before[i]) };
    } finally {
        await stack?.dispose();
        await Promise.all(hosts.map(destroyHost));
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function main(): Promise<void> {
    const one = await repair(["S1"]);
    const fleet = await repair(fleetFaults);
    console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.release()}, node ${process.version}`);
    console.log(`one broken host [S1], pulumi up:       ${(one.up / 1000).toFixed(2)} s`);
    console.log(`ten hosts, ten faults, pulumi up:      ${(fleet.up / 1000).toFixed(2)} s (${(fleet.up / one.up).toFixed(2)}x one host)`);
    console.log(`ten hosts converged, pulumi up again:  ${(fleet.rerun / 1000).toFixed(2)} s, round trips per host: ${fleet.tripsPerHost.join(", ")}`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
