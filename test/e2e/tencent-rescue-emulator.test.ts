import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CommonClient } from "tencentcloud-sdk-nodejs-common";
import { allFlavours, ensureClientKeys, sleep, upperDir } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { sshLogin } from "../harness/ssh";
import { detachedMachine, startEmulator, TencentEmulator } from "../emulator";

/**
 * The emulator's rescue mode through the official SDK: EnterRescueMode powers the instance off and
 * boots a rescue system at its address with the system disk as /dev/vdb (not mounted);
 * ExitRescueMode writes the disk back and boots the instance from it.
 */

type Res = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function codeOf(p: Promise<unknown>): Promise<string> {
    try {
        await p;
    } catch (e) {
        return (e as { code?: string }).code ?? `no code: ${String(e)}`;
    }
    return "no error";
}

/** DescribeInstancesStatus until the instance is `target`; every state seen on the way, in order, without repeats. */
async function statesUntil(cvm: CommonClient, id: string, target: string, timeoutMs = 90_000): Promise<string[]> {
    const seen: string[] = [];
    for (const end = Date.now() + timeoutMs; Date.now() < end;) {
        const r: Res = await cvm.request("DescribeInstancesStatus", { InstanceIds: [id] });
        const s = r.InstanceStatusSet[0].InstanceState as string;
        if (seen[seen.length - 1] !== s) {
            seen.push(s);
        }
        if (s === target) {
            return seen;
        }
        await sleep(100);
    }
    throw new Error(`${id} never reached ${target}; seen ${seen.join(" → ")}`);
}

const rescuePassword = "Rescue-Pass1";

describe("Tencent emulator rescue mode", function () {
    this.timeout(180_000);
    let emu: TencentEmulator | undefined;
    // Registered before the hosts' own afterEach: the emulator closes first, then the hosts go.
    afterEach(async () => {
        const e = emu;
        emu = undefined;
        if (e) {
            await e.close();
            assert.deepEqual(e.internalErrors.map((x) => x.message), [], "the emulator itself failed");
        }
    });
    const newHost = hostsPerTest();

    for (const flavour of allFlavours) {
    it(`[tencent-rescue-emulator] (${flavour}) a rescue system boots at the instance's address with its disk as /dev/vdb, and the repair is kept on exit`, async () => {
        const host = await newHost({ flavour });
        emu = await startEmulator({ latency: { stopMs: 100, startMs: 100, agentStartMs: 200 } });
        const inst = await emu.addInstance(host);
        const cvm = emu.client("cvm");
        const tat = emu.client("tat");
        const id = inst.instanceId;
        const keys = await ensureClientKeys();
        await host.consoleOk("echo instance-marker > /root/marker; echo doomed > /root/to-delete; sync");

        const t0 = Date.now();
        const enter: Res = await cvm.request("EnterRescueMode", { InstanceId: id, Password: rescuePassword, StopType: "SOFT" });
        assert.deepEqual(Object.keys(enter), ["RequestId"]);
        const entering = await statesUntil(cvm, id, "RESCUE_MODE");
        assert.deepEqual(entering, ["ENTER_RESCUE_MODE", "RESCUE_MODE"]);
        const enterMs = Date.now() - t0;
        const d: Res = await cvm.request("DescribeInstances", { InstanceIds: [id] });
        assert.equal(d.InstanceSet[0].InstanceState, "RESCUE_MODE");
        assert.equal(d.InstanceSet[0].LatestOperation, "EnterRescueMode");
        assert.equal(d.InstanceSet[0].LatestOperationState, "SUCCESS");

        // Refused while in rescue mode; the TAT agent is offline.
        assert.equal(await codeOf(cvm.request("StartInstances", { InstanceIds: [id] })), "UnsupportedOperation.InstanceStateRescueMode");
        assert.equal(await codeOf(cvm.request("StopInstances", { InstanceIds: [id] })), "UnsupportedOperation.InstanceStateRescueMode");
        assert.equal(await codeOf(cvm.request("EnterRescueMode", { InstanceId: id, Password: rescuePassword })),
            "UnsupportedOperation.InstanceStateRescueMode");
        assert.equal(await codeOf(tat.request("RunCommand", { Content: Buffer.from("true").toString("base64"), InstanceIds: [id] })),
            "ResourceUnavailable.InstanceStateNotRunning");
        const agent: Res = await tat.request("DescribeAutomationAgentStatus", { InstanceIds: [id] });
        assert.equal(agent.AutomationAgentSet[0].AgentStatus, "Offline");

        // The rescue system, not the instance: its own name and marker, no authorised key, a root password.
        const keyLogin = await sshLogin({ address: inst.address, user: "root", keys: [keys.main] });
        assert.equal(keyLogin.ok, false, "the instance's authorised key must not open the rescue system");
        const look = await sshLogin({
            address: inst.address, user: "root", password: rescuePassword,
            command: "hostname; cat /etc/tencent-rescue-mode; test -b /dev/vdb && echo vdb-is-a-block-device; "
                + "grep -c '^/dev/vdb ' /proc/mounts; test -e /root/marker || echo no-instance-marker-here",
        });
        assert.equal(look.code === 0 || look.code === 1, true, look.symptom);
        const lines = look.stdout.trim().split("\n");
        assert.equal(lines[0], `${host.name}-rescue`);
        assert.match(lines[1], /rescue system of/);
        assert.equal(lines[2], "vdb-is-a-block-device");
        assert.equal(lines[3], "0", "/dev/vdb must not be mounted");
        assert.equal(lines[4], "no-instance-marker-here");
        const wrong = await sshLogin({ address: inst.address, user: "root", password: "Wrong-Pass1" });
        assert.equal(wrong.ok, false);

        // The repair: mount the disk, change it, unmount it.
        const repair = await sshLogin({
            address: inst.address, user: "root", password: rescuePassword,
            command: "set -e; mount /dev/vdb /mnt; cat /mnt/root/marker; echo repaired > /mnt/root/marker; "
                + "rm /mnt/root/to-delete; mkdir /mnt/root/new-dir; echo new > /mnt/root/new-dir/file; chmod 600 /mnt/root/new-dir/file; "
                + "umount /mnt; grep -c '^/dev/vdb ' /proc/mounts || true",
        });
        assert.equal(repair.code, 0, repair.symptom);
        assert.deepEqual(repair.stdout.trim().split("\n"), ["instance-marker", "0"]);

        const t1 = Date.now();
        const exit: Res = await cvm.request("ExitRescueMode", { InstanceId: id });
        assert.deepEqual(Object.keys(exit), ["RequestId"]);
        const exiting = await statesUntil(cvm, id, "RUNNING");
        assert.deepEqual(exiting, ["EXIT_RESCUE_MODE", "RUNNING"]);
        const exitMs = Date.now() - t1;

        // The instance again, booted from the repaired disk, with its own sshd and key.
        const back = emu.host(id);
        await back.waitForSsh(30_000);
        const own = await sshLogin({ address: inst.address, user: "root", keys: [keys.main], command: "hostname; cat /root/marker; "
            + "test -e /root/to-delete && echo still-there || echo deleted; cat /root/new-dir/file; stat -c %a /root/new-dir/file; "
            + "test -e /etc/tencent-rescue-mode && echo rescue-leaked || echo clean" });
        assert.equal(own.code, 0, own.symptom);
        assert.deepEqual(own.stdout.trim().split("\n"), [host.name, "repaired", "deleted", "new", "600", "clean"]);
        // Only what changed was written back: unchanged files of the image stay in the lower layer.
        // (.sshremedy-prep and ld.so.cache have sub-second times, which the image rounds to the second.)
        for (const f of ["usr/sbin/sshd", ".sshremedy-prep", "etc/ld.so.cache"]) {
            assert.equal(fs.existsSync(path.join(upperDir(back), f)), false, `${f} unchanged, but copied up`);
        }
        assert.equal(await codeOf(cvm.request("ExitRescueMode", { InstanceId: id })), "UnsupportedOperation.InstanceStateRunning");
        await emu.settle();
        const agentBack: Res = await tat.request("DescribeAutomationAgentStatus", { InstanceIds: [id] });
        assert.equal(agentBack.AutomationAgentSet[0].AgentStatus, "Online");
        console.log(`      enter rescue mode: ${enterMs} ms, exit: ${exitMs} ms`);
    });
    }

    it("[tencent-rescue-emulator] refusals: unknown or malformed instance, bad password, bad StopType, wrong state", async () => {
        const disk = fs.mkdtempSync(path.join(os.tmpdir(), "rescue-disk-"));
        try {
            emu = await startEmulator({ firewall: false, latency: { stopMs: 300, startMs: 300 } });
            const inst = await emu.addInstance(detachedMachine("198.51.100.20", disk));
            const cvm = emu.client("cvm");
            const id = inst.instanceId;
            const enter = (p: Res) => codeOf(cvm.request("EnterRescueMode", { InstanceId: id, Password: rescuePassword, ...p }));
            assert.equal(await enter({ InstanceId: "ins-zzzzzzzz" }), "InvalidInstanceId.NotFound");
            assert.equal(await enter({ InstanceId: "i-123" }), "InvalidInstanceId.Malformed");
            assert.equal(await codeOf(cvm.request("EnterRescueMode", { InstanceId: id })), "MissingParameter");
            for (const bad of ["Ab1-", "alllowercase1", "ALLUPPERCASE1", "12345678-", "/Abcdef1234", "Abcdefgh1\u00e9", "Abcdefgh1-".repeat(4)]) {
                assert.equal(await enter({ Password: bad }), "InvalidPassword", bad);
            }
            assert.equal(await enter({ StopType: "GENTLE" }), "InvalidParameterValue");
            assert.equal(await enter({ Username: "Not A User" }), "InvalidParameterValue");
            assert.equal(await enter({ Extra: 1 }), "UnknownParameter");
            assert.equal(await codeOf(cvm.request("ExitRescueMode", { InstanceId: id })), "UnsupportedOperation.InstanceStateRunning");
            assert.equal(await codeOf(cvm.request("ExitRescueMode", { InstanceId: "ins-zzzzzzzz" })), "InvalidInstanceId.NotFound");

            // From STOPPED too, and every password class mix of three is fine.
            await cvm.request("StopInstances", { InstanceIds: [id] });
            await statesUntil(cvm, id, "STOPPED");
            assert.equal(await codeOf(cvm.request("ExitRescueMode", { InstanceId: id })), "UnsupportedOperation.InstanceStateStopped");
            await cvm.request("EnterRescueMode", { InstanceId: id, Password: "lower-1234", StopType: "HARD" });
            assert.deepEqual(await statesUntil(cvm, id, "RESCUE_MODE"), ["ENTER_RESCUE_MODE", "RESCUE_MODE"]);
            await cvm.request("ExitRescueMode", { InstanceId: id });
            assert.equal(await codeOf(cvm.request("ExitRescueMode", { InstanceId: id })), "UnsupportedOperation.InstanceStateExitRescueMode");
            assert.deepEqual(await statesUntil(cvm, id, "RUNNING"), ["EXIT_RESCUE_MODE", "RUNNING"]);
        } finally {
            fs.rmSync(disk, { recursive: true, force: true });
        }
    });
});
