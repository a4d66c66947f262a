/**
 * Benchmark (not a test): what a repair through rescue mode costs the instance. A test host whose
 * sshd cannot start (S12: libcrypto.so.3 gone) and whose TAT agent is offline is a Tencent Cloud
 * instance of the API emulator on loopback; one `pulumi up` with `tencent.rescue.allowed` takes the
 * CBS snapshot, enters rescue mode, repairs the disk, exits and proves the login. Records, per
 * repeat, the whole run and the time out of service split into its phases (as the run reports
 * them), and writes docs/rescue-downtime.json and .md. Needs root.
 *
 *   npm run bench:rescue [-- --repeats 3]
 */
import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { injectFault } from "../test/harness/faults";
import { createHost, destroyHost, ensureClientKeys } from "../test/harness/lab";
import { TestStack } from "../test/harness/pulumi";
import { tencentStackFor } from "../test/harness/stacks";
import { sshLogin } from "../test/harness/ssh";
import { startEmulator } from "../test/emulator";
import { machineBasics } from "./machine";

interface Repeat {
    readonly upSec: number;
    readonly downtimeSec: number;
    readonly phasesSec: { enter: number; repair: number; exit: number; login: number };
    readonly apiCalls: Record<string, number>;
}

const latency = { snapshotMs: 3_000, stopMs: 300, startMs: 300, agentStartMs: 1_000 };

async function once(): Promise<Repeat> {
    const emu = await startEmulator({ latency });
    const host = await createHost();
    let stack: TestStack | undefined;
    let instanceId = "";
    try {
        ({ instanceId } = await emu.addInstance(host, { agentOnline: false }));
        (await injectFault(host, "S12", { library: "libcrypto.so.3" })).release();
        stack = await tencentStackFor(emu, host, instanceId, { rescue: { allowed: true } });
        emu.resetCalls();
        const t = process.hrtime.bigint();
        const up = await stack.up();
        const upSec = Number(process.hrtime.bigint() - t) / 1e9;
        if (up.code !== 0) throw new Error(`pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        const login = await sshLogin({ address: host.address, user: "alice", keys: [(await ensureClientKeys()).main] });
        if (!login.ok) throw new Error(`the login still fails: ${login.symptom}`);
        const rescue = ((await stack.outputs()).results as Record<string, { rescue?: Omit<Repeat, "upSec" | "apiCalls"> }>)[host.name].rescue;
        if (!rescue) throw new Error("the run did not go through rescue mode");
        return { upSec: Math.round(upSec * 10) / 10, downtimeSec: rescue.downtimeSec, phasesSec: rescue.phasesSec, apiCalls: emu.callCounts() };
    } finally {
        await stack?.dispose();
        // The instance booted again: the emulator's host object is the one to destroy now.
        const now = instanceId ? emu.host(instanceId) : host;
        await emu.close();
        await destroyHost(now);
    }
}

async function main(): Promise<void> {
    const opts = new Command().option("--repeats <n>", "runs, each on a fresh host", "3").parse().opts<{ repeats: string }>();
    const repeats: Repeat[] = [];
    for (let i = 0; i < Number(opts.repeats); i++) {
        const r = await once();
        console.log(`repeat ${i + 1}: pulumi up ${r.upSec} s; out of service ${r.downtimeSec} s (enter ${r.phasesSec.enter}, disk ${r.phasesSec.repair}, `
            + `exit ${r.phasesSec.exit}, boot to login ${r.phasesSec.login})`);
        repeats.push(r);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const summary = {
        when: new Date().toISOString(),
        machine: machineBasics(),
        emulatorLatencyMs: latency,
        medianUpSec: median(repeats.map((r) => r.upSec)),
        medianDowntimeSec: median(repeats.map((r) => r.downtimeSec)),
        repeats,
    };
    const docs = path.join(__dirname, "..", "docs");
    fs.writeFileSync(path.join(docs, "rescue-downtime.json"), `${JSON.stringify(summary, null, 2)}\n`);
    const rows = repeats.map((r, i) => `| ${i + 1} | ${r.upSec} | ${r.downtimeSec} | ${r.phasesSec.enter} | ${r.phasesSec.repair} | ${r.phasesSec.exit} | ${r.phasesSec.login} |`);
    fs.writeFileSync(path.join(docs, "rescue-downtime.md"), [
        "# Rescue mode: time out of service, measured on the emulator",
        "",
        `${summary.machine.cores} cores (${summary.machine.cpu}), ${summary.machine.memoryGiB} GiB, Linux ${summary.machine.kernel}, Node ${summary.machine.node}; `
        + `${summary.when}. Emulator latencies (ms) on top of the real power-off, rescue boot and boot: ${JSON.stringify(latency)}.`,
        "",
        "S12 (libcrypto.so.3 gone) with the TAT agent offline, one `pulumi up` each, on a fresh host.",
        "",
        "| repeat | pulumi up (s) | out of service (s) | into rescue mode | on the disk | out of rescue mode | boot to login |",
        "|---|---|---|---|---|---|---|",
        ...rows,
        "",
        `Median: pulumi up ${summary.medianUpSec} s, out of service ${summary.medianDowntimeSec} s.`,
        "",
    ].join("\n"));
    console.log(`median: pulumi up ${summary.medianUpSec} s, out of service ${summary.medianDowntimeSec} s (docs/rescue-downtime.md)`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
