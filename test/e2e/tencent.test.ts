import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { injectFault } from "../harness/faults";
import { ensureClientKeys, TestHost } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { project, tencentStackFor } from "../harness/stacks";
import { TestStack } from "../harness/pulumi";
import { sshLogin } from "../harness/ssh";
import { startEmulator, type TencentEmulator } from "../emulator";

/**
 * Tencent Cloud through index.ts, each test a real `pulumi up` against the emulator on loopback
 * (the official SDK, signed requests) and a real `ssh` afterwards. The instances are test hosts:
 * TAT runs inside them, a CBS snapshot is a copy of their disk, the security group is enforced on
 * their link.
 */
describe("Tencent Cloud: TAT, CBS snapshots and the security group, through index.ts", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    let emu: TencentEmulator | undefined;
    const stacks: TestStack[] = [];
    afterEach(async () => {
        for (const s of stacks.splice(0)) await s.dispose();
        await emu?.close();
        emu = undefined;
    });

    /** A stack declaring the instance the smallest way: its id, the login; the address is looked up. */
    async function tencentStack(host: TestHost, instanceId: string, extra: Record<string, unknown> = {}): Promise<TestStack> {
        const s = await tencentStackFor(emu!, host, instanceId, extra);
        stacks.push(s);
        return s;
    }

    const login = async (host: TestHost) => sshLogin({ address: host.address, user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 });
    /** What a RunCommand carried: its Content, and the phase inside it (sent base64 in a here-document). */
    const decoded = (c: { params: Record<string, unknown> }) => {
        const content = Buffer.from(String(c.params.Content ?? ""), "base64").toString("utf8");
        const phase = /<<'SSHREMEDY_PHASE_END'\n([\s\S]*?)\nSSHREMEDY_PHASE_END/.exec(content)?.[1];
        return phase ? `${content}\n${Buffer.from(phase.replace(/\n/g, ""), "base64").toString("utf8")}` : content;
    };
    /** RunCommand calls that carried a phase changing the host (the apply phase arms the dead-man first). */
    const changeCalls = () => emu!.calls.filter((c) => c.action === "RunCommand" && /host\/(deadman-arm|snapshot)\b/.test(decoded(c)));
    const results = async (s: TestStack, host: TestHost) =>
        ((await s.outputs()).results as Record<string, { diskSnapshot?: string; drift: string[]; changed: string[] }>)[host.name];

    it("[tat] SSH fully dead (S6 + S7 + S15) is repaired over TAT, after a CBS snapshot that was NORMAL before the first change reached the host", async () => {
        emu = await startEmulator();
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host);
        for (const id of ["S6", "S7", "S15"] as const) (await injectFault(host, id)).release();
        assert.equal((await login(host)).ok, false, "SSH still admits the login");

        const s = await tencentStack(host, instanceId);
        const up = await s.up();
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        assert.ok((await login(host)).ok, "the login still fails after the repair");

        const snapshotId = (await results(s, host)).diskSnapshot;
        assert.match(snapshotId ?? "", /^snap-/);
        const snap = emu.snapshot(snapshotId!)!;
        const firstChange = changeCalls()[0];
        assert.ok(firstChange, "no phase that changes the host went over TAT");
        assert.ok(firstChange.at >= snap.readyMs, `a change reached the host ${snap.readyMs - firstChange.at} ms before the snapshot was NORMAL`);
        // The copy holds the host as it was before the repair: hosts.deny still refuses sshd.
        assert.match(fs.readFileSync(path.join(snap.dir, "etc/hosts.deny"), "utf8"), /^sshd: ALL$/m);
        assert.deepEqual(snap.tags.map((t) => `${t.Key}=${t.Value}`).sort(), ["host=" + host.name, "managed-by=sshremedy", `stack=${s.stack}`].sort());
        assert.ok(snap.deadlineMs !== null && snap.deadlineMs - snap.createdMs >= 7 * 86_400_000 - 120_000, "no 7-day retention");
        // Nothing went over SSH: every step reached the host through TAT.
        assert.ok(emu.calls.filter((c) => c.action === "RunCommand").length >= 4);

        const snapshotsBefore = emu.calls.filter((c) => c.action === "CreateSnapshot").length;
        const again = await s.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        assert.equal(again.code, 0, `a converged instance still changed:\n${again.stdout}`);
        assert.equal(emu.calls.filter((c) => c.action === "CreateSnapshot").length, snapshotsBefore, "a converged instance was snapshotted");
    });

    it("[cbs-wait] the apply waits for a slow snapshot: nothing changes on the host until it is NORMAL", async () => {
        emu = await startEmulator({ latency: { snapshotMs: 8_000 } });
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host);
        (await injectFault(host, "S2")).release();
        const s = await tencentStack(host, instanceId);
        const up = await s.up();
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        const snap = emu.snapshot((await results(s, host)).diskSnapshot!)!;
        assert.ok(snap.readyMs - snap.createdMs >= 8_000);
        const polls = emu.calls.filter((c) => c.action === "DescribeSnapshots" && c.at <= snap.readyMs);
        assert.ok(polls.length >= 1, "the snapshot's progress was not followed");
        assert.ok(changeCalls()[0].at >= snap.readyMs, "the apply did not wait for the snapshot");
        assert.match(up.stdout + up.stderr, /snapshot snap-\S+ of disk-\S+: NORMAL 100%/);
        assert.ok((await login(host)).ok);
    });

    it("[cbs-error] snapshot quota exceeded: the run stops with the API's code and a hint, and nothing is sent to change the host", async () => {
        emu = await startEmulator({ snapshotQuota: 0 });
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host);
        (await injectFault(host, "S2")).release();
        // The host's own files, and whether a phase of a change left its traces (the transport's
        // library and run folders are written by the read-only probe too: they do not count).
        const state = "sha256sum /etc/ssh/sshd_config /etc/hosts.allow; ls /var/lib/sshremedy/snapshots /run/sshremedy 2>&1 || true";
        const before = await host.consoleOk(state);
        const s = await tencentStack(host, instanceId);
        const up = await s.up();
        assert.notEqual(up.code, 0, "the run went ahead without its snapshot");
        assert.match(up.stdout + up.stderr, /InsufficientSnapshotQuota/);
        assert.match(up.stdout + up.stderr, /nothing was sent to the host/);
        assert.match(up.stdout + up.stderr, /quota/i);
        assert.deepEqual(changeCalls(), [], "a phase that changes the host was sent");
        assert.equal(await host.consoleOk(state), before, "the host changed");
    });

    it("[tat-offline] the TAT agent is offline: the error names the VNC console and rescue mode, nothing changes", async () => {
        emu = await startEmulator();
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host, { agentOnline: false });
        (await injectFault(host, "S2")).release();
        const before = await host.consoleOk("sha256sum /etc/ssh/sshd_config; ls -a /var/lib 2>/dev/null");
        const s = await tencentStack(host, instanceId);
        const up = await s.up();
        assert.notEqual(up.code, 0);
        const said = up.stdout + up.stderr;
        assert.match(said, /agent is Offline/);
        assert.match(said, /VNC/);
        assert.match(said, /DescribeInstanceVncUrl/);
        assert.match(said, /rescue mode|EnterRescueMode/i);
        assert.equal(emu.calls.filter((c) => c.action === "RunCommand" && !c.error).length, 0);
        assert.equal(emu.calls.filter((c) => c.action === "CreateSnapshot").length, 0);
        assert.equal(await host.consoleOk("sha256sum /etc/ssh/sshd_config; ls -a /var/lib 2>/dev/null"), before);
    });

    it("[sg] the security group drops the login: the run admits its source ahead of the DROP, a second run changes nothing, destroy removes only its rule", async () => {
        emu = await startEmulator();
        const host = await newHost();
        const { instanceId, securityGroupId } = await emu.addInstance(host, {
            ingress: [
                { Protocol: "TCP", Port: "80", CidrBlock: "0.0.0.0/0", Action: "ACCEPT", PolicyDescription: "web" },
                { Protocol: "ALL", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "DROP", PolicyDescription: "deny the rest" },
            ],
        });
        const groupBefore = emu.securityGroup(securityGroupId);
        assert.equal((await login(host)).ok, false, "the group does not drop the login");

        const s = await tencentStack(host, instanceId);
        const up = await s.up();
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        assert.ok((await login(host)).ok, "the login still fails");
        const group = emu.securityGroup(securityGroupId);
        assert.deepEqual(group.Ingress.map((p) => [p.PolicyDescription, p.Action]),
            [["web", "ACCEPT"], [`sshremedy:${s.stack}/${host.name}`, "ACCEPT"], ["deny the rest", "DROP"]]);
        assert.equal(group.Ingress[1].CidrBlock, host.peerAddress);
        assert.equal(group.Ingress[1].Port, "22");

        const again = await s.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        assert.equal(again.code, 0, `the second run changed something:\n${again.stdout}`);
        assert.equal(emu.securityGroup(securityGroupId).version, group.version);

        const down = await s.pulumi(["destroy", "--yes", "--skip-preview"]);
        assert.equal(down.code, 0, down.stdout + down.stderr);
        assert.deepEqual(emu.securityGroup(securityGroupId).Ingress.map((p) => p.PolicyDescription), groupBefore.Ingress.map((p) => p.PolicyDescription));
    });

    it("[sg-version] a colleague's change between the run's read and its write: the run reads again, nobody's rule is lost", async () => {
        emu = await startEmulator({ latency: { apiMs: 200 } });
        const host = await newHost();
        const { instanceId, securityGroupId } = await emu.addInstance(host, {
            ingress: [{ Protocol: "ALL", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "DROP", PolicyDescription: "deny all" }],
        });
        const s = await tencentStack(host, instanceId);
        let interfered = false;
        const colleague = (async () => {
            while (!emu!.calls.some((c) => c.action === "DescribeSecurityGroupPolicies")) await new Promise((r) => setTimeout(r, 5));
            await emu!.changeSecurityGroup(securityGroupId, "Ingress", {
                add: [{ Protocol: "TCP", Port: "443", CidrBlock: "10.0.0.0/8", Action: "ACCEPT", PolicyDescription: "colleague" }], index: 0,
            });
            interfered = true;
        })();
        const up = await s.up();
        await colleague;
        assert.ok(interfered);
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        assert.deepEqual(emu.calls.filter((c) => c.action === "CreateSecurityGroupPolicies").map((c) => c.error ?? "ok"),
            ["UnsupportedOperation.VersionMismatch", "ok"]);
        assert.deepEqual(emu.securityGroup(securityGroupId).Ingress.map((p) => p.PolicyDescription),
            ["colleague", `sshremedy:${s.stack}/${host.name}`, "deny all"]);
        assert.ok((await login(host)).ok);
    });

    it("[tencent-secrets] the secret key never appears in the run's output, the outputs or the state", async () => {
        emu = await startEmulator();
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host);
        (await injectFault(host, "S2")).release();
        const s = await tencentStack(host, instanceId);
        const up = await s.up();
        assert.equal(up.code, 0, up.stdout + up.stderr);
        const key = emu.credential.secretKey;
        assert.ok(!(up.stdout + up.stderr).includes(key), "the key is in pulumi up's output");
        const out = await s.pulumi(["stack", "output", "--json"]);
        assert.ok(!out.stdout.includes(key), "the key is in the outputs");
        const exported = await s.pulumi(["stack", "export"]);
        assert.ok(!exported.stdout.includes(key), "the key is in the exported state");
        assert.ok(!s.stateText().includes(key), "the key is in the state files");
        // It is there, encrypted: the steps carry it as a secret.
        assert.match(exported.stdout, /"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"[\s\S]*ciphertext/);
    });
});

describe("Tencent Cloud: the disk rolled back when restoring the files does not bring the login back", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    let emu: TencentEmulator | undefined;
    let stack: TestStack | undefined;
    afterEach(async () => {
        await stack?.dispose();
        stack = undefined;
        await emu?.close();
        emu = undefined;
    });

    it("[rollback-disk] onFailure rollback-disk: the verifying login fails, the files come back, the login still fails, so the instance is stopped, its disk rolled back to the snapshot and started", async () => {
        emu = await startEmulator();
        const host = await newHost();
        (await injectFault(host, "S2")).release();
        // The cloud drops every login and the declaration does not let the run open it: the
        // repair on the host cannot be verified, whatever it does.
        const { instanceId } = await emu.addInstance(host, {
            ingress: [{ Protocol: "ALL", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "DROP", PolicyDescription: "deny all" }],
        });
        stack = await TestStack.create(project);
        await stack.setConfig("sshremedy:hosts", JSON.stringify([{
            name: host.name,
            tencent: { instanceId, securityGroup: false, onFailure: "rollback-disk" },
            login: { user: "alice", sources: [host.peerAddress] },
        }]));
        await stack.setConfig("sshremedy:tencentEndpoint", JSON.stringify(emu.endpoint));
        await stack.setConfig("tencentcloud:secretId", emu.credential.secretId, true);
        await stack.setConfig("tencentcloud:secretKey", emu.credential.secretKey, true);
        await stack.setConfig("tencentcloud:region", emu.region);
        await stack.setConfig("sshremedy:loginKey", fs.readFileSync((await ensureClientKeys()).main, "utf8"), true);

        const up = await stack.up();
        assert.notEqual(up.code, 0, "a login the cloud drops was verified");
        const said = up.stdout + up.stderr;
        const snap = /rolled back to snapshot (snap-\S+) \(data written since then is lost\)/.exec(said);
        assert.ok(snap, `no rollback reported:\n${said}`);
        const actions = emu.calls.filter((c) => !c.error).map((c) => c.action);
        const at = (a: string) => actions.indexOf(a);
        assert.ok(at("StopInstances") >= 0 && at("StopInstances") < at("ApplySnapshot") && at("ApplySnapshot") < at("StartInstances"),
            `not stop, apply, start: ${actions.join(" ")}`);
        assert.equal(emu.calls.find((c) => c.action === "ApplySnapshot")!.params.SnapshotId, snap[1]);
        assert.equal(emu.instanceState(instanceId), "RUNNING");
        // The disk is the snapshot's: what the run wrote after it (its on-host snapshots) is gone.
        const booted = emu.host(instanceId);
        assert.equal((await booted.console("test -e /var/lib/sshremedy/snapshots")).code, 1, "the disk was not rolled back");
        assert.match(await booted.consoleOk("cat /etc/ssh/sshd_config"), /^DenyUsers alice$/m);
    });
});
