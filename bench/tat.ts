/**
 * Benchmark (not a test): one repair carried by TAT through index.ts. A test host with SSH fully
 * dead (S6 + S7 + S15) is a Tencent Cloud instance of the API emulator on loopback; one `pulumi up`
 * snapshots its disk, repairs it over TAT and proves the login. Prints the wall time, the API calls
 * by action, and the emulator's latencies (they decide most of the time). Needs root.
 */
import { injectFault } from "../test/harness/faults";
import { createHost, destroyHost, ensureClientKeys } from "../test/harness/lab";
import { TestStack } from "../test/harness/pulumi";
import { tencentStackFor } from "../test/harness/stacks";
import { sshLogin } from "../test/harness/ssh";
import { startEmulator } from "../test/emulator";

async function main(): Promise<void> {
    const emu = await startEmulator();
    const host = await createHost();
    let stack: TestStack | undefined;
    try {
        const { instanceId } = await emu.addInstance(host);
        for (const id of ["S6", "S7", "S15"] as const) (await injectFault(host, id)).release();
        stack = await tencentStackFor(emu, host, instanceId);
        emu.resetCalls();
        const measure = async (label: string) => {
            const t = process.hrtime.bigint();
            const up = await stack!.up();
            const ms = Number(process.hrtime.bigint() - t) / 1e6;
            if (up.code !== 0) throw new Error(`pulumi up failed:\n${up.stdout}\n${up.stderr}`);
            const counts = emu.callCounts();
            const total = Object.values(counts).reduce((a, b) => a + b, 0);
            console.log(`${label}: ${(ms / 1000).toFixed(2)} s, ${total} API calls`);
            for (const [action, n] of Object.entries(counts).sort()) console.log(`  ${action.padEnd(36)} ${n}`);
            emu.resetCalls();
        };
        await measure("repair over TAT (S6 + S7 + S15), CBS snapshot first");
        const login = await sshLogin({ address: host.address, user: "alice", keys: [(await ensureClientKeys()).main] });
        if (!login.ok) throw new Error(`the login still fails: ${login.symptom}`);
        await measure("converged rerun");
        console.log(`emulator latencies (ms): ${JSON.stringify(emu.latency)}`);
    } finally {
        await stack?.dispose();
        await emu.close();
        await destroyHost(host);
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
