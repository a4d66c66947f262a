import { strict as assert } from "assert";
import { injectFault } from "../harness/faults";
import { ensureClientKeys, Flavour, TestHost } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { tencentStackFor } from "../harness/stacks";
import { TestStack } from "../harness/pulumi";
import { sshLogin } from "../harness/ssh";
import { startEmulator, type TencentEmulator } from "../emulator";

/**
 * The worst case of the guide as one `pulumi up`: sshd cannot start and the TAT agent is offline,
 * so neither SSH nor TAT reaches the instance. With `tencent.rescue.allowed`, the run takes the
 * CBS snapshot, enters the instance's rescue mode, repairs the mounted system disk from a chroot,
 * exits rescue mode and proves the login; the emulator's rescue mode is a real rescue system at
 * the instance's address with the instance's disk as /dev/vdb.
 */
describe("Tencent Cloud rescue mode, through index.ts", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    let emu: TencentEmulator | undefined;
    const stacks: TestStack[] = [];
    afterEach(async () => {
        for (const s of stacks.splice(0)) await s.dispose();
        const e = emu;
        emu = undefined;
        if (e) {
            await e.close();
            assert.deepEqual(e.internalErrors.map((x) => x.message), [], "the emulator itself failed");
        }
    });

    async function tencentStack(host: TestHost, instanceId: string, tencent: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<TestStack> {
        const s = await tencentStackFor(emu!, host, instanceId, tencent, extra);
        stacks.push(s);
        return s;
    }

    const login = async (host: TestHost) => sshLogin({ address: host.address, user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 });
    const calls = (action: string) => emu!.calls.filter((c) => c.action === action && !c.error);
    const state = async (id: string) => {
        const r = await emu!.client("cvm").request("DescribeInstancesStatus", { InstanceIds: [id] }) as { InstanceStatusSet: { InstanceState: string }[] };
        return r.InstanceStatusSet[0].InstanceState;
    };
    /**
     * The system disk as files: every path under the trees a repair may touch, with its type,
     * owner and mode, and for all but directories its size, time (whole seconds: the rescue image
     * keeps no more) and content hash. A directory's time is left out: the instance's boot writes
     * into /etc; what a directory holds is in the listing itself.
     */
    const diskManifest = (host: TestHost) => host.consoleOk(
        "find /etc /usr /root /home /var/lib/dpkg /var/lib/sshremedy /var/cache/apt -xdev 2>/dev/null "
        + "\\( -type d -printf '%p %y %U:%G %m\\n' \\) -o -printf '%p %y %U:%G %m %s %TY%Tm%Td%TH%TM%TS\\n' | sed 's/\\.[0-9]*$//' | sort; "
        + "find /etc /usr/lib /root /home /var/lib/dpkg /var/lib/sshremedy -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum");

    // The library the guide means: one many programs load (not sshd's alone), gone from the disk.
    const sharedLibrary = "libcrypto.so.3";

    it("[rescue] sshd cannot start (S12, libcrypto gone; its unit disabled too) and TAT is offline: one pulumi up repairs the disk from rescue mode after a NORMAL CBS snapshot, and the data on the disk is kept", async () => {
        emu = await startEmulator({ latency: { snapshotMs: 1_000, stopMs: 100, startMs: 100, agentStartMs: 200 } });
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host, { agentOnline: false });
        await host.consoleOk("echo written-before-the-run > /root/customer-data; sync");
        // sshd's unit disabled too (before the library goes: systemctl needs it): without the
        // unit's enablement repaired on the disk, sshd would not start at the boot after rescue mode.
        await host.consoleOk("systemctl disable ssh.service 2>&1; test \"$(systemctl is-enabled ssh.service)\" = disabled");
        const fault = await injectFault(host, "S12", { library: sharedLibrary });
        assert.equal((await login(host)).ok, false, "the login still works with the library gone");
        assert.match((await host.console("/usr/sbin/sshd -t")).stderr, fault.daemonMessage!);

        const s = await tencentStack(host, instanceId, { rescue: { allowed: true } });
        const up = await s.up();
        const said = up.stdout + up.stderr;
        assert.equal(up.code, 0, `pulumi up failed:\n${said}`);
        assert.ok((await login(host)).ok, "the login still fails after the repair");
        assert.equal(await state(instanceId), "RUNNING");

        // The order: the snapshot was NORMAL before the instance was stopped for rescue mode.
        const [enter] = calls("EnterRescueMode");
        assert.ok(enter, "rescue mode was not used");
        const result = ((await s.outputs()).results as Record<string, {
            diskSnapshot?: string; rescue?: { changed: string[]; snapshot: string; downtimeSec: number; drift: string[] };
        }>)[host.name];
        assert.equal(calls("CreateSnapshot").length, 1);
        const snap = emu.snapshot(result.diskSnapshot ?? "")!;
        assert.ok(snap, "no CBS snapshot was taken");
        assert.ok(enter.at >= snap.readyMs, `EnterRescueMode came ${snap.readyMs - enter.at} ms before the snapshot was NORMAL`);
        assert.equal(calls("ExitRescueMode").length, 1);
        // Nothing went through TAT or a disk rollback: the disk was repaired in place.
        assert.equal(calls("RunCommand").length, 0);
        assert.equal(emu.calls.filter((c) => c.action === "ApplySnapshot").length, 0);
        // The data written before the run is still there (a disk rollback would have kept it too, but not what follows).
        // The instance booted again: its host object is the emulator's new one.
        const back = emu.host(instanceId);
        assert.equal((await back.consoleOk("cat /root/customer-data")).trim(), "written-before-the-run");
        // The library is back, as its package ships it; the snapshot of what changed is on the disk.
        await back.consoleOk("/usr/sbin/sshd -t");
        assert.ok(result.rescue, "no rescue report in the outputs");
        assert.ok(result.rescue.changed.includes("sshd-runtime"), `changed: ${result.rescue.changed}`);
        assert.match(result.rescue.drift.join("\n"), /libcrypto\.so\.3: missing \(shared library libcrypto\.so\.3\)/);
        assert.match(result.rescue.drift.join("\n"), /ssh\.service is disabled .*systemctl enable ssh\.service/);
        assert.equal((await back.consoleOk("systemctl is-enabled ssh.service")).trim(), "enabled");
        assert.match(result.rescue.snapshot, /^\/var\/lib\/sshremedy\/snapshots\/rescue-/);
        await back.consoleOk(`test -f ${result.rescue.snapshot}/manifest`);
        assert.ok(result.rescue.downtimeSec > 0);
        assert.match(said, /entering rescue mode/);
        assert.match(said, /selinux-mode is not repaired from rescue mode/);
        assert.match(said, /the firewall the disk boots with: none/);

        // The session's root password went only to EnterRescueMode: not in the output, not in the state.
        const password = String(enter.params.Password);
        assert.ok(password.length >= 12);
        const exported = await s.pulumi(["stack", "export", "--show-secrets"]);
        assert.equal(exported.code, 0);
        assert.ok(!exported.stdout.includes(password), "the rescue password is in the state");
        assert.ok(!said.includes(password), "the rescue password was printed");

        // Converged: the login works, so a second run (TAT still offline) does not stop the instance again.
        const again = await s.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        assert.equal(again.code, 0, `the second run changed something:\n${again.stdout}\n${again.stderr}`);
        assert.equal(calls("EnterRescueMode").length, 1, "the second run used rescue mode again");
        assert.match(again.stdout + again.stderr, /declared login works, so the instance is not stopped/);
    });

    it("[rescue] an instance refused only by its security group is not stopped: the group admits the login, which then works, and rescue mode is not entered", async () => {
        emu = await startEmulator({ latency: { snapshotMs: 500, stopMs: 100, startMs: 100, agentStartMs: 200 } });
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host, {
            agentOnline: false,
            ingress: [{ Protocol: "ALL", Port: "ALL", CidrBlock: "0.0.0.0/0", Action: "DROP", PolicyDescription: "deny all" }],
        });
        assert.equal((await login(host)).ok, false, "the security group does not drop the login");
        const s = await tencentStack(host, instanceId, { rescue: { allowed: true } });
        const up = await s.up();
        const said = up.stdout + up.stderr;
        assert.equal(up.code, 0, `pulumi up failed:\n${said}`);
        assert.match(said, /rescue mode is not needed, nothing was stopped/);
        assert.equal(emu.calls.filter((c) => c.action === "EnterRescueMode" || c.action === "StopInstances").length, 0, "the instance was stopped");
        assert.equal(await state(instanceId), "RUNNING");
        assert.ok((await login(host)).ok);
        const again = await s.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        assert.equal(again.code, 0, `the second run changed something:\n${again.stdout}\n${again.stderr}`);
    });

    it("[rescue] the firewall the instance boots with drops the login (nftables.conf, S7) and sshd cannot start (S12): both repaired on the disk, live rule and persisted file, from rescue mode", async () => {
        emu = await startEmulator({ latency: { snapshotMs: 500, stopMs: 100, startMs: 100, agentStartMs: 200 } });
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host, { agentOnline: false });
        // The reject is persisted where the boot loads it (nftables.service enabled): rebooting
        // the instance alone does not clear it.
        await host.consoleOk(`set -eu
cat >> /etc/nftables.conf <<'NFT'
table inet guard {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr ${host.peerAddress} tcp dport 22 reject with tcp reset
  }
}
NFT
mkdir -p /etc/systemd/system/sysinit.target.wants
ln -sf /lib/systemd/system/nftables.service /etc/systemd/system/sysinit.target.wants/nftables.service
nft -f /etc/nftables.conf`);
        (await injectFault(host, "S12")).release();
        assert.equal((await login(host)).ok, false);
        const s = await tencentStack(host, instanceId, { rescue: { allowed: true } });
        const up = await s.up();
        const said = up.stdout + up.stderr;
        assert.equal(up.code, 0, `pulumi up failed:\n${said}`);
        assert.match(said, /the firewall the disk boots with: nftables \/etc\/nftables\.conf/);
        assert.equal(calls("EnterRescueMode").length, 1);
        const result = ((await s.outputs()).results as Record<string, { rescue?: { changed: string[] } }>)[host.name];
        assert.deepEqual([...(result.rescue?.changed ?? [])].sort(), ["firewall-allowlist", "sshd-runtime"]);
        // The booted instance loaded the repaired file: the login passes its firewall.
        assert.ok((await login(host)).ok, "the login still fails after the repair");
        const back = emu.host(instanceId);
        assert.match(await back.consoleOk("cat /etc/nftables.conf /etc/nftables.d/sshremedy.nft"), /include "\/etc\/nftables\.d\/sshremedy\.nft"/);
    });

    for (const flavour of ["sysv", "rhel", "socket"] as Flavour[]) {
        it(`[rescue] (${flavour}) sshd cannot load a library (S12) and TAT is offline: repaired from rescue mode, the login works`, async () => {
            emu = await startEmulator({ latency: { snapshotMs: 500, stopMs: 100, startMs: 100, agentStartMs: 200 } });
            const host = await newHost({ flavour });
            const { instanceId } = await emu.addInstance(host, { agentOnline: false });
            (await injectFault(host, "S12")).release();
            assert.equal((await login(host)).ok, false, "the login still works with the library gone");
            const s = await tencentStack(host, instanceId, { rescue: { allowed: true } });
            const up = await s.up();
            assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
            assert.ok((await login(host)).ok, "the login still fails after the repair");
            assert.equal(calls("EnterRescueMode").length, 1);
            const result = ((await s.outputs()).results as Record<string, { rescue?: { changed: string[] } }>)[host.name];
            assert.ok(result.rescue?.changed.includes("sshd-runtime"), JSON.stringify(result.rescue));
        });
    }

    it("[rescue-fail] a repair that does not validate on the disk (sshd still cannot load) leaves the disk as it was and the instance running", async () => {
        emu = await startEmulator({ latency: { snapshotMs: 500, stopMs: 100, startMs: 100, agentStartMs: 200 } });
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host, { agentOnline: false });
        // Two faults; the declaration lets sshremedy repair only sshd_config (runtime: false), so
        // the disk's sshd still cannot load once DenyUsers is gone: the repair does not validate.
        // The library is sshd's alone here: without libcrypto the instance would not boot at all
        // (systemd loads it too), and the test shows the instance running again on its old disk.
        (await injectFault(host, "S2")).release();
        (await injectFault(host, "S12")).release();
        const before = await diskManifest(host);

        const s = await tencentStack(host, instanceId, { rescue: { allowed: true } }, { runtime: false });
        const up = await s.up();
        const said = up.stdout + up.stderr;
        assert.notEqual(up.code, 0, "the run claimed success");
        assert.match(said, /rejects the staged config|does not validate/);
        assert.match(said, /error while loading shared libraries: libwrap\.so\.0/);
        assert.match(said, /the disk's files were put back as they were/);
        assert.match(said, /out of rescue mode/);
        assert.equal(calls("EnterRescueMode").length, 1);
        assert.equal(calls("ExitRescueMode").length, 1);
        assert.equal(await state(instanceId), "RUNNING");
        // Byte for byte: the sshd_config the attempt changed is back, and nothing of the attempt is left.
        const back = emu.host(instanceId);
        const after = await diskManifest(back);
        assert.equal(after, before, "the disk differs from before the run");
        assert.match(await back.consoleOk("cat /etc/ssh/sshd_config"), /^DenyUsers alice$/m);
        assert.equal((await back.consoleOk("systemctl is-system-running || true")).trim() !== "", true);
    });

    it("[rescue-doubt] the repair validates on the disk but the login still fails after the boot: the files go back through rescue mode again, and the run says so", async () => {
        emu = await startEmulator({ latency: { snapshotMs: 500, stopMs: 100, startMs: 100, agentStartMs: 200 } });
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host, { agentOnline: false });
        (await injectFault(host, "S2")).release();
        (await injectFault(host, "S12")).release();
        // Something on the instance breaks sshd again at every boot (a configuration agent with a
        // stale policy): the disk validates in rescue mode, the booted instance does not admit the login.
        await host.consoleOk(`cat > /etc/systemd/system/stale-policy.service <<'UNIT'
[Unit]
DefaultDependencies=no
Before=ssh.service sysinit.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'rm -f /usr/lib/x86_64-linux-gnu/libwrap.so.0*'
UNIT
mkdir -p /etc/systemd/system/sysinit.target.wants
ln -sf ../stale-policy.service /etc/systemd/system/sysinit.target.wants/stale-policy.service`);
        const configBefore = await host.consoleOk("sha256sum /etc/ssh/sshd_config");

        const s = await tencentStack(host, instanceId, { rescue: { allowed: true, loginWaitSec: 15 } });
        const up = await s.up();
        const said = up.stdout + up.stderr;
        assert.notEqual(up.code, 0, "the run claimed success");
        assert.match(said, /repaired on the disk: (firewall-allowlist, )?sshd-runtime, sshd-config/);
        assert.match(said, /the login as alice@\S+ still fails/);
        assert.match(said, /the files were put back from \/var\/lib\/sshremedy\/snapshots\/rescue-\S+ through rescue mode again/);
        assert.equal(calls("EnterRescueMode").length, 2, "the files did not go back through rescue mode");
        assert.equal(calls("ExitRescueMode").length, 2);
        assert.equal(await state(instanceId), "RUNNING");
        const back = emu.host(instanceId);
        assert.equal(await back.consoleOk("sha256sum /etc/ssh/sshd_config"), configBefore, "sshd_config was not put back");
    });

    it("[rescue-off] without tencent.rescue.allowed, an unreachable instance stops the run with an error naming rescue mode and the console; the instance is not stopped", async () => {
        emu = await startEmulator();
        const host = await newHost();
        const { instanceId } = await emu.addInstance(host, { agentOnline: false });
        (await injectFault(host, "S12", { library: sharedLibrary })).release();
        const s = await tencentStack(host, instanceId, {});
        const up = await s.up();
        const said = up.stdout + up.stderr;
        assert.notEqual(up.code, 0);
        assert.match(said, /agent is Offline/);
        assert.match(said, /VNC console/);
        assert.match(said, /Rescue mode is not allowed for this host: set tencent\.rescue\.allowed to true/);
        assert.equal(calls("EnterRescueMode").length + calls("StopInstances").length + calls("CreateSnapshot").length, 0);
        assert.equal(await state(instanceId), "RUNNING");
    });
});
