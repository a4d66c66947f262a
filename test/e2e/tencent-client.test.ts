import { strict as assert } from "assert";
import { resetTencentCallCounts, tencentCallCounts } from "../../components/tencent/api";
import { createSnapshot, rollbackDisk, systemDiskOf, waitSnapshot } from "../../components/tencent/cbs";
import { admitLogin, removeOwn } from "../../components/tencent/security-group";
import type { TencentSettings } from "../../components/tencent/settings";
import { isTatUnreachableError, runTat, runTatLarge, tatLibraryDir } from "../../components/tencent/tat";
import { startEmulator, TencentEmulator } from "../emulator";
import { ensureClientKeys } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { sshLogin } from "../harness/ssh";

/**
 * The production Tencent Cloud client against the emulator, whose instances are real test hosts:
 * TAT runs scripts inside them, a snapshot is a real copy of the disk and a rollback puts it back
 * across a real power cycle, and security groups are enforced on the host's link.
 */
describe("Tencent client on real hosts (emulated API)", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    let emu: TencentEmulator;
    let settings: TencentSettings;

    // One emulator per test: a host's address is reused by a later test's host, and an instance
    // of the earlier test would still hold that address in the emulator's security-group table.
    beforeEach(async () => {
        emu = await startEmulator({ latency: { snapshotMs: 1500, rollbackMs: 500 } });
        settings = { secretId: emu.credential.secretId, secretKey: emu.credential.secretKey, region: emu.region, endpoint: emu.endpoint };
        resetTencentCallCounts();
    });
    afterEach(async () => {
        await emu?.close();
    });

    const runCommands = () => emu.calls.filter((c) => c.action === "RunCommand").length;

    it("[tat] runs a script on the host as root and returns its exit code and output", async () => {
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host);
        const r = await runTat(settings, {
            instanceId, timeoutSec: 30, pollMs: 200,
            script: "echo to-stdout; echo to-stderr >&2; id -un; pwd; hostname > /root/tat-was-here; exit 3\n",
        });
        assert.equal(r.code, 3, r.stderr);
        assert.equal(r.status, "FAILED");
        assert.match(r.invocationId, /^inv-/);
        // TAT gives stdout and stderr as one stream.
        assert.deepEqual(r.stdout.split("\n").filter((l) => l !== ""), ["to-stdout", "to-stderr", "root", "/root"]);
        assert.equal(r.stderr, "");
        // It ran inside the host, not here.
        assert.equal((await host.consoleOk("cat /root/tat-was-here")).trim(), (await host.consoleOk("hostname")).trim());
        const ok = await runTat(settings, { instanceId, timeoutSec: 30, pollMs: 200, script: "true" });
        assert.deepEqual([ok.code, ok.status], [0, "SUCCESS"]);
        // The agent was asked once, before the first command.
        assert.equal(emu.calls.filter((c) => c.action === "DescribeAutomationAgentStatus").length, 1);
        assert.ok(emu.calls.filter((c) => c.action === "DescribeInvocationTasks").every((c) => (c.params as { HideOutput?: boolean }).HideOutput === false));
    });

    it("[tat] says when TAT dropped output beyond 24 KB, and reports a command killed at its timeout", async () => {
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host);
        const big = await runTat(settings, { instanceId, timeoutSec: 30, pollMs: 200, script: "head -c 30000 /dev/zero | tr '\\0' x\n" });
        assert.equal(big.code, 0);
        assert.equal(big.stdout.length, 24 * 1024);
        assert.equal(big.dropped, 30000 - 24 * 1024);
        assert.match(big.stderr, new RegExp(`${30000 - 24 * 1024} bytes were dropped`));
        const slow = await runTat(settings, { instanceId, timeoutSec: 2, pollMs: 200, script: "echo started; sleep 30\n" });
        assert.equal(slow.code, null);
        assert.equal(slow.status, "TIMEOUT");
        assert.match(slow.stderr, /TAT task TIMEOUT: the command ran past its timeout/);
        assert.match(slow.stdout, /started/);
    });

    it("[tat] a script over 64 KB is installed on the host once, content-addressed, in chunks, then run by name", async () => {
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host);
        // 150 KB: the padding is shell comments, the work at the end needs the whole file.
        const padding = Array.from({ length: 3000 }, (_, i) => `# padding line ${i} ${"-".repeat(30)}`).join("\n");
        const script = `#!/bin/sh\nset -e\n${padding}\nwc -c < "$0"\necho lines=$(grep -c '^# padding' "$0")\n`;
        assert.ok(Buffer.byteLength(script) > 140_000);
        const first = await runTatLarge(settings, { instanceId, script, timeoutSec: 60, pollMs: 200 });
        assert.equal(first.code, 0, first.stderr || first.stdout);
        assert.equal(first.installed, true);
        assert.equal(first.chunks, Math.ceil(Buffer.byteLength(script) / (32 * 1024)));
        assert.deepEqual(first.stdout.trim().split("\n"), [String(Buffer.byteLength(script)), "lines=3000"]);
        // One probe, the chunks, one run.
        assert.equal(runCommands(), first.chunks + 2);
        assert.ok(emu.calls.filter((c) => c.action === "RunCommand")
            .every((c) => String((c.params as { Content: string }).Content).length <= 65_536));
        assert.equal((await host.consoleOk(`sha256sum ${tatLibraryDir}/${first.sha256}.sh`)).split(" ")[0], first.sha256);
        assert.equal((await host.consoleOk(`ls -A ${tatLibraryDir}`)).trim(), `${first.sha256}.sh`, "parts left behind");
        emu.resetCalls();
        const second = await runTatLarge(settings, { instanceId, script, timeoutSec: 60, pollMs: 200 });
        assert.deepEqual([second.code, second.installed, second.stdout], [0, false, first.stdout]);
        assert.equal(runCommands(), 1, "the script was sent again");
        // A changed script is a new name: installed beside the first.
        const changed = await runTatLarge(settings, { instanceId, script: `${script}echo changed\n`, timeoutSec: 60, pollMs: 200 });
        assert.equal(changed.installed, true);
        assert.match(changed.stdout, /changed/);
    });

    it("[tat-offline] an agent that stops answering is reported with the console and rescue mode as what is left", async () => {
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host);
        assert.equal((await runTat(settings, { instanceId, timeoutSec: 30, pollMs: 200, script: "true" })).code, 0);
        emu.setAgentOnline(instanceId, false);
        await assert.rejects(runTat(settings, { instanceId, timeoutSec: 30, pollMs: 200, script: "touch /root/never" }), (e: Error) => {
            assert.ok(isTatUnreachableError(e), String(e));
            assert.equal(e.agentStatus, "Offline");
            assert.match(e.message, /DescribeInstanceVncUrl .*valid once, for 15 s/);
            assert.match(e.message, /EnterRescueMode/);
            return true;
        });
        assert.equal((await host.console("test -e /root/never")).code, 1, "the command ran anyway");
    });

    it("[cbs-wait] a snapshot of the host's disk is created and waited for, and a rollback puts the disk back", async () => {
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host);
        const disk = await systemDiskOf(settings, instanceId);
        assert.equal(disk.state, "RUNNING");
        assert.deepEqual(disk.publicAddresses, [host.address]);
        await runTat(settings, { instanceId, timeoutSec: 30, pollMs: 200, script: "echo before > /root/marker\n" });
        const progress: number[] = [];
        const id = await createSnapshot(settings, { diskId: disk.diskId, name: "sshremedy-e2e", tags: { stack: "e2e", host: host.name } });
        const snap = await waitSnapshot(settings, id, (p) => progress.push(p), 60_000, { pollMs: 200 });
        assert.equal(snap.state, "NORMAL");
        assert.ok(progress.length >= 2 && progress.at(-1) === 100, progress.join(","));
        await runTat(settings, { instanceId, timeoutSec: 30, pollMs: 200, script: "echo after > /root/marker\n" });
        await rollbackDisk(settings, { instanceId, diskId: disk.diskId, snapshotId: id, pollMs: 500 });
        assert.equal(emu.instanceState(instanceId), "RUNNING");
        const r = await runTat(settings, { instanceId, timeoutSec: 30, pollMs: 200, agentWaitSec: 120, script: "cat /root/marker\n" });
        assert.equal(r.stdout, "before\n");
        assert.deepEqual(emu.calls.map((c) => c.action).filter((a) => ["StopInstances", "ApplySnapshot", "StartInstances"].includes(a)),
            ["StopInstances", "ApplySnapshot", "StartInstances"]);
        assert.ok(tencentCallCounts().total > 0);
    });

    it("[sg] the security group admits the login's source so a real ssh login works, and removeOwn closes it again", async () => {
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host, {
            ingress: [
                { Protocol: "TCP", Port: "80,443", CidrBlock: "0.0.0.0/0", Action: "ACCEPT", PolicyDescription: "web" },
                { Protocol: "ALL", CidrBlock: "0.0.0.0/0", Action: "DROP", PolicyDescription: "deny the rest" },
            ],
        });
        const keys = await ensureClientKeys();
        const login = () => sshLogin({ address: host.address, user: "alice", keys: [keys.main], connectTimeoutSec: 4 });
        assert.equal((await login()).ok, false, "the group let the login in before any change");
        const { securityGroupIds } = await systemDiskOf(settings, instanceId);
        const r = await admitLogin(settings, { securityGroupId: securityGroupIds[0], sources: [host.peerAddress], port: 22, owner: `e2e/${host.name}` });
        assert.deepEqual([r.changed, r.insertAt], [true, 1]);
        const ok = await login();
        assert.ok(ok.ok, ok.symptom);
        assert.deepEqual(await removeOwn(settings, { securityGroupId: securityGroupIds[0], owner: `e2e/${host.name}` }), { removed: 1 });
        assert.equal((await login()).ok, false, "the login still works after the rule was removed");
        assert.deepEqual(emu.securityGroup(securityGroupIds[0]).Ingress.map((p) => p.PolicyDescription), ["web", "deny the rest"]);
    });
});
