/**
 * The main job on an embedded default: sandbox hosts with broken SSH, the failing logins shown
 * with a real ssh client, a real `pulumi up` of this project's stack program, the logins shown
 * working again, then everything removed. Needs root (network namespaces, overlays, nspawn).
 */
import * as fs from "fs";
import * as path from "path";
import { FaultId, faultLogin, injectFault } from "../test/harness/faults";
import { createHost, destroyHost, ensureClientKeys, TestHost } from "../test/harness/lab";
import { TestStack } from "../test/harness/pulumi";
import { sshLogin } from "../test/harness/ssh";
import { startEmulator, type TencentEmulator } from "../test/emulator";

const faults: { id: FaultId; what: string }[] = [
    { id: "S1", what: "AllowUsers excludes alice" },
    { id: "S6", what: "hosts.deny refuses sshd to everyone" },
    { id: "S7", what: "an iptables rule rejects the operator's address" },
    { id: "S12", what: "a shared library of sshd was deleted" },
    { id: "S15", what: "a bad option pasted into sshd_config" },
];

async function showLogins(hosts: TestHost[], label: string): Promise<boolean> {
    let all = true;
    for (const [i, h] of hosts.entries()) {
        const r = await sshLogin({ address: h.address, ...(await faultLogin(faults[i].id)) });
        all &&= r.ok;
        const said = r.ok ? "login ok" : `FAILED: ${r.symptom.split("\n").filter((l) => !l.startsWith("[exit")).join(" | ") || r.symptom}`;
        console.log(`  ${label} ${h.name} (${h.address}) [${faults[i].id}] ${said}`);
    }
    return all;
}

async function main(): Promise<number> {
    if (process.getuid?.() !== 0) {
        console.error("demo: needs root (it creates network namespaces and boots sandbox hosts)");
        return 2;
    }
    console.log(`== booting ${faults.length} sandbox hosts and breaking their SSH, and one emulated Tencent Cloud instance`);
    const hosts = await Promise.all(faults.map(() => createHost()));
    // The Tencent Cloud instance: a sandbox host behind the API emulator on loopback (the official
    // SDK, signed requests); its SSH is dead for everyone, so TAT is the only way in.
    let emu: TencentEmulator | undefined;
    let cvm: TestHost | undefined;
    let stack: TestStack | undefined;
    try {
        emu = await startEmulator();
        cvm = await createHost();
        const instance = await emu.addInstance(cvm);
        for (const [i, h] of hosts.entries()) {
            const f = await injectFault(h, faults[i].id);
            f.release();
            console.log(`  ${h.name}: ${faults[i].id} ${faults[i].what}`);
        }
        for (const id of ["S6", "S7", "S15"] as const) (await injectFault(cvm, id)).release();
        console.log(`  ${cvm.name}: Tencent Cloud ${instance.instanceId} (${instance.region}): S6 + S7 + S15, SSH dead; reached only through TAT`);
        console.log("== before");
        await showLogins(hosts, "before");
        const cvmLogin = async () => sshLogin({ address: cvm!.address, user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 });
        const beforeCvm = await cvmLogin();
        console.log(`  before ${cvm.name} (${cvm.address}) [tat] ${beforeCvm.ok ? "login ok" : `FAILED: ${beforeCvm.symptom.split("\n")[0]}`}`);

        console.log("== pulumi up (this project's index.ts; five hosts reached through their console, the instance through TAT only)");
        stack = await TestStack.create(path.resolve(__dirname, ".."), "demo");
        await stack.setConfig("sshremedy:hosts", JSON.stringify([...hosts.map((h) => ({
            name: h.name,
            console: h.consolePrefix,
            login: { address: h.address, user: "alice", sources: [h.peerAddress] },
        })), { name: cvm.name, tencent: { instanceId: instance.instanceId }, login: { user: "alice", sources: [cvm.peerAddress] } }]));
        await stack.setConfig("sshremedy:loginKey", fs.readFileSync((await ensureClientKeys()).main, "utf8"), true);
        await stack.setConfig("sshremedy:tencentEndpoint", JSON.stringify(emu.endpoint));
        await stack.setConfig("tencentcloud:secretId", emu.credential.secretId, true);
        await stack.setConfig("tencentcloud:secretKey", emu.credential.secretKey, true);
        await stack.setConfig("tencentcloud:region", emu.region);
        const up = await stack.up();
        process.stdout.write(up.stdout);
        if (up.code !== 0) {
            process.stderr.write(up.stderr);
            return 1;
        }
        console.log("== after");
        let ok = await showLogins(hosts, "after");
        const afterCvm = await cvmLogin();
        ok &&= afterCvm.ok;
        const snap = ((await stack.outputs()).results as Record<string, { diskSnapshot?: string }>)[cvm.name].diskSnapshot;
        console.log(`  after ${cvm.name} (${cvm.address}) [tat] ${afterCvm.ok ? "login ok" : `FAILED: ${afterCvm.symptom}`}; `
            + `CBS snapshot ${snap ?? "none"} taken first; ${emu.calls.length} Tencent Cloud API calls`);
        console.log(ok ? "== every sandbox host is reachable again" : "== some hosts are still unreachable");
        return ok ? 0 : 1;
    } finally {
        console.log("== cleaning up");
        await stack?.dispose();
        await emu?.close();
        await Promise.all([...hosts, ...(cvm ? [cvm] : [])].map(destroyHost));
    }
}

main().then((code) => process.exit(code), (e) => {
    console.error(e);
    process.exit(1);
});
