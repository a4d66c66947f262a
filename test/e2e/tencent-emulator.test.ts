import { strict as assert } from "assert";
import { CommonClient } from "tencentcloud-sdk-nodejs-common";
import { run } from "../harness/exec";
import { allFlavours, ensureClientKeys, Flavour, pidAlive, probeBanner, sleep, TestHost } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { sshLogin } from "../harness/ssh";
import { AddInstanceOptions, InstanceInfo, startEmulator, TencentEmulator } from "../emulator";

/**
 * The emulator with real test hosts behind its instances, spoken to by the official SDK: TAT runs
 * commands inside the host, CBS snapshots copy and restore the host's disk, StopInstances and
 * StartInstances power it off and on, and security groups filter real connections to it.
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

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    for (const end = Date.now() + timeoutMs; Date.now() < end;) {
        const v = await probe();
        if (v !== undefined) {
            return v;
        }
        await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}`);
}

describe("Tencent emulator on test hosts", function () {
    this.timeout(240_000);
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

    interface Setup {
        readonly host: TestHost;
        readonly inst: InstanceInfo;
        readonly emu: TencentEmulator;
        readonly cvm: CommonClient;
        readonly cbs: CommonClient;
        readonly tat: CommonClient;
        readonly vpc: CommonClient;
    }

    async function setup(opts: AddInstanceOptions = {}, flavour?: Flavour): Promise<Setup> {
        const host = await newHost({ flavour });
        emu = await startEmulator({
            latency: { snapshotMs: 1_000, taskDeliveryMs: 200, stopMs: 100, startMs: 100, rollbackMs: 300, agentStartMs: 200 },
        });
        const inst = await emu.addInstance(host, opts);
        return { host, inst, emu, cvm: emu.client("cvm"), cbs: emu.client("cbs"), tat: emu.client("tat"), vpc: emu.client("vpc") };
    }

    /** RunCommand, then DescribeInvocationTasks (HideOutput=false) until the task ends; every status seen. */
    async function runTask(s: Setup, content: string, extra: Res = {}): Promise<{ task: Res; statuses: string[]; output: string; invocationId: string }> {
        const r: Res = await s.tat.request("RunCommand", { Content: b64(content), InstanceIds: [s.inst.instanceId], ...extra });
        assert.match(r.CommandId, /^cmd-[0-9a-z]{8}$/);
        assert.match(r.InvocationId, /^inv-[0-9a-z]{8}$/);
        const statuses: string[] = [];
        const task = await waitFor("the task to end", async () => {
            const t: Res = await s.tat.request("DescribeInvocationTasks", { Filters: [{ Name: "invocation-id", Values: [r.InvocationId] }], HideOutput: false });
            assert.equal(t.TotalCount, 1);
            const one = t.InvocationTaskSet[0];
            if (statuses[statuses.length - 1] !== one.TaskStatus) {
                statuses.push(one.TaskStatus);
            }
            return ["PENDING", "RUNNING"].includes(one.TaskStatus) ? undefined : one;
        });
        assert.match(task.InvocationTaskId, /^invt-[0-9a-z]{8}$/);
        return { task, statuses, output: Buffer.from(task.TaskResult.Output, "base64").toString("utf8"), invocationId: r.InvocationId };
    }

    async function instanceState(s: Setup): Promise<string> {
        const r: Res = await s.cvm.request("DescribeInstancesStatus", { InstanceIds: [s.inst.instanceId] });
        return r.InstanceStatusSet[0].InstanceState;
    }

    async function untilState(s: Setup, state: string): Promise<string[]> {
        const seen: string[] = [];
        await waitFor(`instance ${state}`, async () => {
            const now = await instanceState(s);
            if (seen[seen.length - 1] !== now) {
                seen.push(now);
            }
            return now === state ? true : undefined;
        });
        return seen;
    }

    it("[tencent-tat] RunCommand runs inside the host as the named user in the working directory; Output only with HideOutput=false", async () => {
        const s = await setup();
        const { task, statuses, output, invocationId } = await runTask(s,
            "id -un; id -G; pwd; echo \"$HOME\"; hostname; echo to-stderr >&2; touch tat-was-here\n",
            { Username: "bob", WorkingDirectory: "/tmp", Timeout: 30 });
        assert.equal(statuses[0], "PENDING", `statuses: ${statuses.join(" → ")}`);
        assert.equal(task.TaskStatus, "SUCCESS");
        assert.equal(task.TaskResult.ExitCode, 0);
        assert.equal(task.TaskResult.Dropped, 0);
        // The user's uid and primary group only, as the agent runs it; stderr merged into Output.
        assert.deepEqual(output.split("\n"), ["bob", "1002", "/tmp", "/home/bob", s.host.name, "to-stderr", ""]);
        assert.equal((await s.host.consoleOk("stat -c %U /tmp/tat-was-here")).trim(), "bob");
        assert.equal((await s.host.console("ls /tmp/*.sh 2>/dev/null")).stdout, "", "the script file is removed afterwards");
        // HideOutput defaults to true: no Output then.
        const hidden: Res = await s.tat.request("DescribeInvocationTasks", { Filters: [{ Name: "invocation-id", Values: [invocationId] }] });
        assert.equal(hidden.InvocationTaskSet[0].TaskResult.Output, "");
        const inv: Res = await s.tat.request("DescribeInvocations", { InvocationIds: [invocationId] });
        assert.equal(inv.InvocationSet[0].InvocationStatus, "SUCCESS");
        // Defaults: root in /root.
        const asRoot = await runTask(s, "id -un; pwd");
        assert.equal(asRoot.output, "root\n/root\n");
        assert.deepEqual(s.emu.callCounts()["tat.RunCommand"], 2);
    });

    it("[tencent-tat] Output is base64 of at most 24 KB, the rest counted in Dropped", async () => {
        const s = await setup();
        const { task, output } = await runTask(s, "head -c 30000 /dev/zero | tr '\\0' x");
        assert.equal(task.TaskStatus, "SUCCESS");
        assert.equal(Buffer.from(task.TaskResult.Output, "base64").length, 24 * 1024);
        assert.equal(output, "x".repeat(24 * 1024));
        assert.equal(task.TaskResult.Dropped, 30000 - 24 * 1024);
    });

    it("[tencent-tat] a non-zero exit is FAILED with its ExitCode; a missing user or directory is START_FAILED", async () => {
        const s = await setup();
        const failed = await runTask(s, "echo partial; exit 3");
        assert.equal(failed.task.TaskStatus, "FAILED");
        assert.equal(failed.task.TaskResult.ExitCode, 3);
        assert.equal(failed.output, "partial\n");
        const noUser = await runTask(s, "true", { Username: "nosuchuser" });
        assert.equal(noUser.task.TaskStatus, "START_FAILED");
        assert.match(noUser.task.ErrorInfo, /UserNotExists/);
        const noDir = await runTask(s, "true", { WorkingDirectory: "/no/such/dir" });
        assert.equal(noDir.task.TaskStatus, "START_FAILED");
        assert.match(noDir.task.ErrorInfo, /DirectoryNotExists/);
    });

    it("[tencent-tat] a task over its Timeout is TIMEOUT with ExitCode -1, and its processes are killed", async () => {
        const s = await setup();
        const started = Date.now();
        const { task, output } = await runTask(s, "echo started; sleep 301 & sleep 302; echo never", { Timeout: 2 });
        assert.equal(task.TaskStatus, "TIMEOUT");
        assert.equal(task.TaskResult.ExitCode, -1);
        assert.equal(output, "started\n");
        assert.ok(Date.now() - started < 15_000, "the timeout was not applied");
        const left = await s.host.console("pgrep -f 'sleep 30[12]' || true");
        assert.equal(left.stdout.trim(), "", "the task's processes survived its timeout");
    });

    it("[tencent-tat] an agent offline is Offline and refuses RunCommand with ResourceUnavailable.AgentStatusNotOnline", async () => {
        const s = await setup({ agentOnline: false });
        const status = async () => ((await s.tat.request("DescribeAutomationAgentStatus", { InstanceIds: [s.inst.instanceId] })) as Res).AutomationAgentSet[0];
        assert.equal((await status()).AgentStatus, "Offline");
        assert.equal(await codeOf(s.tat.request("RunCommand", { Content: b64("true"), InstanceIds: [s.inst.instanceId] })), "ResourceUnavailable.AgentStatusNotOnline");
        s.emu.setAgentOnline(s.inst.instanceId, true);
        const online = await status();
        assert.equal(online.AgentStatus, "Online");
        assert.match(online.LastHeartbeatTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.equal((await runTask(s, "echo up")).output, "up\n");
    });

    for (const flavour of allFlavours) {
        it(`[tencent-cvm] (${flavour}) StopInstances powers the host off and StartInstances boots it again; TAT and VNC wait for RUNNING`, async () => {
            const s = await setup({}, flavour);
            const initBefore = s.host.initPid;
            await s.cvm.request("StopInstances", { InstanceIds: [s.inst.instanceId] });
            const stopping = await untilState(s, "STOPPED");
            assert.equal(stopping[0], "STOPPING", `states: ${stopping.join(" → ")}`);
            assert.equal(pidAlive(initBefore), false, "the host's init still runs");
            assert.equal(await probeBanner(s.host.address, 22), false, "sshd still answers");
            assert.equal(await codeOf(s.cvm.request("DescribeInstanceVncUrl", { InstanceId: s.inst.instanceId })), "UnsupportedOperation.InstanceStateStopped");
            assert.equal(await codeOf(s.tat.request("RunCommand", { Content: b64("true"), InstanceIds: [s.inst.instanceId] })), "ResourceUnavailable.InstanceStateNotRunning");
            const agent: Res = await s.tat.request("DescribeAutomationAgentStatus", { InstanceIds: [s.inst.instanceId] });
            assert.equal(agent.AutomationAgentSet[0].AgentStatus, "Offline");
            await s.cvm.request("StartInstances", { InstanceIds: [s.inst.instanceId] });
            const starting = await untilState(s, "RUNNING");
            assert.equal(starting[0], "STARTING", `states: ${starting.join(" → ")}`);
            const booted = s.emu.host(s.inst.instanceId);
            assert.notEqual(booted.initPid, initBefore);
            await booted.waitForSsh(30_000);
            const keys = await ensureClientKeys();
            assert.equal((await sshLogin({ address: booted.address, user: "alice", keys: [keys.main] })).ok, true);
            await waitFor("the agent online after boot", async () => {
                const a: Res = await s.tat.request("DescribeAutomationAgentStatus", { InstanceIds: [s.inst.instanceId] });
                return a.AutomationAgentSet[0].AgentStatus === "Online" ? true : undefined;
        });
        assert.equal((await runTask(s, "cat /etc/hostname")).output, `${s.host.name}\n`);
        assert.match(((await s.cvm.request("DescribeInstanceVncUrl", { InstanceId: s.inst.instanceId })) as Res).InstanceVncUrl, /^wss:/);
        });
    }

    it("[tencent-cbs] a snapshot is a real copy of the host's disk, and ApplySnapshot restores it with the instance stopped", async () => {
        const s = await setup();
        // Owner, mode, an xattr, and a whiteout (a file of the Debian root deleted) in the snapshot.
        await s.host.consoleOk([
            "echo before > /root/marker && chown bob:bob /root/marker && chmod 640 /root/marker",
            "python3 -c \"import os; os.setxattr('/root/marker', 'user.sshremedy', b'kept')\"",
            "rm /etc/motd",
        ].join(" && "));
        const { SnapshotId } = await s.cbs.request("CreateSnapshot", { DiskId: s.inst.diskId, SnapshotName: "before-repair" }) as Res;
        await s.host.consoleOk("echo after > /root/marker && chmod 600 /root/marker && echo new > /etc/motd && echo extra > /root/extra");
        await waitFor("the snapshot NORMAL", async () => {
            const r: Res = await s.cbs.request("DescribeSnapshots", { SnapshotIds: [SnapshotId] });
            return r.SnapshotSet[0].SnapshotState === "NORMAL" ? true : undefined;
        });
        assert.equal(await codeOf(s.cbs.request("ApplySnapshot", { SnapshotId, DiskId: s.inst.diskId })), "UnsupportedOperation.InstanceNotStopped");
        await s.cvm.request("StopInstances", { InstanceIds: [s.inst.instanceId] });
        await untilState(s, "STOPPED");
        await s.cbs.request("ApplySnapshot", { SnapshotId, DiskId: s.inst.diskId });
        const states: string[] = [];
        await waitFor("the rollback to end", async () => {
            const r: Res = await s.cbs.request("DescribeSnapshots", { SnapshotIds: [SnapshotId] });
            states.push(r.SnapshotSet[0].SnapshotState);
            return r.SnapshotSet[0].SnapshotState === "NORMAL" ? true : undefined;
        });
        assert.equal(states[0], "ROLLBACKING");
        assert.equal(await codeOf(s.cvm.request("StartInstances", { InstanceIds: [s.inst.instanceId] })), "no error");
        await untilState(s, "RUNNING");
        const host = s.emu.host(s.inst.instanceId);
        await host.waitForSsh(30_000);
        const seen = await host.consoleOk([
            "cat /root/marker",
            "stat -c '%U %a' /root/marker",
            "python3 -c \"import os; print(os.getxattr('/root/marker', 'user.sshremedy').decode())\"",
            "test -e /etc/motd && echo motd-present || echo motd-absent",
            "test -e /root/extra && echo extra-present || echo extra-absent",
        ].join("; "));
        assert.deepEqual(seen.trim().split("\n"), ["before", "bob 640", "kept", "motd-absent", "extra-absent"]);
    });

    it("[tencent-vpc] security groups are enforced on the host's link: a DROP blocks port 22, an ACCEPT ahead of it admits", async () => {
        const s = await setup();
        const banner = () => probeBanner(s.host.address, 22, 1_500);
        const describe = async () => ((await s.vpc.request("DescribeSecurityGroupPolicies", { SecurityGroupId: s.inst.securityGroupId })) as Res).SecurityGroupPolicySet;
        assert.equal(await banner(), true, "the default ACCEPT TCP 22 admits");
        const client = `${s.host.peerAddress}/32`;
        await s.vpc.request("CreateSecurityGroupPolicies", {
            SecurityGroupId: s.inst.securityGroupId,
            SecurityGroupPolicySet: { Version: (await describe()).Version, Ingress: [{ PolicyIndex: 0, Protocol: "TCP", Port: "22", CidrBlock: client, Action: "DROP" }] },
        });
        assert.equal(await banner(), false, "a DROP first blocks the connection");
        await s.vpc.request("CreateSecurityGroupPolicies", {
            SecurityGroupId: s.inst.securityGroupId,
            SecurityGroupPolicySet: { Ingress: [{ PolicyIndex: 0, Protocol: "TCP", Port: "22", CidrBlock: client, Action: "ACCEPT" }] },
        });
        assert.equal(await banner(), true, "an ACCEPT ahead of the DROP admits");
        // With no policy left, nothing is admitted (Tencent's ingress default).
        const count = (await describe()).Ingress.length;
        await s.vpc.request("DeleteSecurityGroupPolicies", {
            SecurityGroupId: s.inst.securityGroupId, SecurityGroupPolicySet: { Ingress: Array.from({ length: count }, (_, i) => ({ PolicyIndex: i })) },
        });
        assert.equal((await describe()).Ingress.length, 0);
        assert.equal(await banner(), false, "no policy: dropped");
        // The host can neither see nor change it: the table is in the machine's namespace only.
        const inHost = await s.host.console("nft list tables 2>&1");
        assert.ok(!inHost.stdout.includes(s.emu.firewallTable), inHost.stdout);
        assert.equal((await run(["nft", "list", "table", "inet", s.emu.firewallTable])).code, 0);
        const table = s.emu.firewallTable;
        await s.emu.close();
        emu = undefined;
        assert.notEqual((await run(["nft", "list", "table", "inet", table])).code, 0, "close() leaves the table behind");
        assert.equal(await banner(), true, "without the emulator nothing filters");
    });
});
