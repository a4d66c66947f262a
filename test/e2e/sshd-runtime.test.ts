import { strict as assert } from "assert";
import type { Concern, ConcernPlan } from "../../components/core/concern";
import { composePhase } from "../../components/core/compose";
import { sshdRuntimeConcern, SshdRuntimeArgs } from "../../components/sshd-runtime/sshd-runtime";
import { hostsPerTest } from "../harness/per-test";
import { run } from "../harness/exec";
import { injectFault } from "../harness/faults";
import { ensureClientKeys, Flavour, TestHost } from "../harness/lab";
import { probeAndPlan, runPhase } from "../harness/phases";
import { sshLogin } from "../harness/ssh";

/**
 * SshdRuntime's probe and apply scripts on real test hosts: break sshd the way the guide does,
 * probe, plan, apply, restart, then a fresh login works and a second probe finds nothing to do.
 */


/** Applies a plan as the pipeline would (without its snapshot and dead-man) and returns apply's output. */
async function repair(host: TestHost, plan: ConcernPlan): Promise<string> {
    const stdout = await runPhase(host, plan.apply);
    if (plan.restartSshd) {
        const restart = await host.restartSshd();
        assert.equal(restart.code, 0, `restart: ${restart.stderr}`);
    }
    await host.waitForSsh();
    return stdout;
}

async function aliceLogsIn(host: TestHost): Promise<void> {
    const keys = await ensureClientKeys();
    const login = await sshLogin({ address: host.address, user: "alice", keys: [keys.main], connectTimeoutSec: 3 });
    assert.ok(login.ok, `alice cannot log in: ${login.symptom}`);
}

async function converged(host: TestHost, concern: Concern): Promise<void> {
    const again = (await probeAndPlan(host, concern)).plan;
    assert.equal(again.pending, false, `still drifted: ${again.drift.join("; ")}`);
    assert.deepEqual([...again.drift], []);
}

const statOf = (host: TestHost, p: string) => host.consoleOk(`stat -c '%U:%G %a %F' ${p}; readlink ${p} || true`);

describe("SshdRuntime on real hosts: missing libraries, PAM modules, host keys, privsep directory", function () {
    this.timeout(120_000);
    const newHost = hostsPerTest();

    it("its scripts pass sh -n as sent", async () => {
        const concern = sshdRuntimeConcern({ sources: [{ path: "/a b", from: "/c'$(d)" }] });
        const plan = concern.plan("pkg_manager=dpkg\nhostkey=absent /k\n");
        for (const phase of [composePhase([concern.probe]), composePhase(plan.apply)]) {
            const r = await run(["sh", "-n"], { input: phase });
            assert.equal(r.code, 0, r.stderr);
        }
    });

    for (const flavour of ["systemd", "sysv"] as Flavour[]) {
        it(`[S12] ${flavour}: libwrap.so.0 removed, sshd cannot load; reinstalled offline from the apt cache with the package's owner, mode and link; login works`, async () => {
            const host = await newHost({ flavour });
            const concern = sshdRuntimeConcern();
            const fault = await injectFault(host, "S12");
            const broken = await sshLogin({ address: host.address, ...fault.login, connectTimeoutSec: 3 });
            assert.equal(broken.ok, false);
            // Debian's init script checks the config before it stops sshd, so on sysv the old
            // listener stays and each connection dies when it re-executes sshd: closed or reset, not refused.
            assert.match(broken.symptom, flavour === "systemd" ? fault.symptom : /Connection (closed|reset)/);
            const check = await host.console("/usr/sbin/sshd -t");
            assert.match(check.stderr, fault.daemonMessage!);
            if (flavour === "systemd") {
                assert.match(await host.sshdLog(), fault.daemonMessage!);
            }

            const plan = (await probeAndPlan(host, concern)).plan;
            assert.equal(plan.pending, true);
            assert.equal(plan.restartSshd, true);
            assert.match(plan.drift.join("\n"),
                /\/libwrap\.so\.0: missing \(shared library libwrap\.so\.0\); reinstall libwrap0:amd64 from \/var\/cache\/apt\/archives\/libwrap0_[^ ]+_amd64\.deb/);
            assert.ok(plan.paths.includes("/usr/lib/x86_64-linux-gnu/libwrap.so.0.7.6"), `paths miss the real file: ${plan.paths}`);
            const out = await repair(host, plan);
            assert.match(out, /^installed=\/var\/cache\/apt\/archives\/libwrap0_/m);

            await aliceLogsIn(host);
            await converged(host, concern);
            assert.equal(await statOf(host, "/usr/lib/x86_64-linux-gnu/libwrap.so.0"), "root:root 777 symbolic link\nlibwrap.so.0.7.6\n");
            assert.equal(await statOf(host, "/usr/lib/x86_64-linux-gnu/libwrap.so.0.7.6"), "root:root 644 regular file\n");
        });
    }

    it("[S13] pam_loginuid.so removed, the key is accepted but no session opens; reinstalled from libpam-modules' .deb, root:root 644; login works", async () => {
        const host = await newHost();
        const concern = sshdRuntimeConcern();
        const fault = await injectFault(host, "S13");
        const broken = await sshLogin({ address: host.address, ...fault.login, connectTimeoutSec: 3 });
        assert.equal(broken.ok, false);
        assert.match(broken.symptom, fault.symptom);
        assert.match(await host.sshdLog(), fault.daemonMessage!);

        const plan = (await probeAndPlan(host, concern)).plan;
        assert.deepEqual([...plan.drift], [
            `/lib/x86_64-linux-gnu/security/pam_loginuid.so: missing (PAM module pam_loginuid.so); reinstall libpam-modules:amd64 from ${
                (await host.consoleOk("ls /var/cache/apt/archives/libpam-modules_*_amd64.deb")).trim()}`,
        ]);
        assert.ok(plan.paths.includes("/lib/x86_64-linux-gnu/security/pam_loginuid.so"));
        await repair(host, plan);

        await aliceLogsIn(host);
        await converged(host, concern);
        assert.equal(await statOf(host, "/lib/x86_64-linux-gnu/security/pam_loginuid.so"), "root:root 644 regular file\n");
    });

    it("[S12] sysv: a declared source (a rescue copy) is used before the package manager: the link and its target are copied as they are", async () => {
        const host = await newHost({ flavour: "sysv" });
        await host.consoleOk(`set -eu
mkdir -p /mnt/rescue/lib
cp -a /usr/lib/x86_64-linux-gnu/libwrap.so.0 /usr/lib/x86_64-linux-gnu/libwrap.so.0.7.6 /mnt/rescue/lib/`);
        const args: SshdRuntimeArgs = { sources: [{ path: "/usr/lib/x86_64-linux-gnu/libwrap.so.0", from: "/mnt/rescue/lib/libwrap.so.0" }] };
        const concern = sshdRuntimeConcern(args);
        await injectFault(host, "S12");

        const plan = (await probeAndPlan(host, concern)).plan;
        assert.deepEqual([...plan.drift], [
            "/usr/lib/x86_64-linux-gnu/libwrap.so.0: missing (shared library libwrap.so.0); copy from /mnt/rescue/lib/libwrap.so.0",
        ]);
        const out = await repair(host, plan);
        assert.match(out, /^copied=\/usr\/lib\/x86_64-linux-gnu\/libwrap\.so\.0$/m);
        assert.doesNotMatch(out, /installed=/);

        await aliceLogsIn(host);
        await converged(host, concern);
        assert.equal(await statOf(host, "/usr/lib/x86_64-linux-gnu/libwrap.so.0"), "root:root 777 symbolic link\nlibwrap.so.0.7.6\n");
    });

    it("every host key and the privilege separation directory gone: ssh-keygen -A and the directory sshd names; login works", async () => {
        const host = await newHost({ flavour: "sysv" });
        const concern = sshdRuntimeConcern();
        await host.consoleOk("rm -f /etc/ssh/ssh_host_*; /etc/init.d/ssh stop >/dev/null; rm -rf /run/sshd");

        const plan = (await probeAndPlan(host, concern)).plan;
        assert.deepEqual([...plan.drift], [
            "/run/sshd: missing privilege separation directory",
            "no host key sshd can load (/etc/ssh/ssh_host_rsa_key, /etc/ssh/ssh_host_ecdsa_key, /etc/ssh/ssh_host_ed25519_key); generate with ssh-keygen -A",
        ]);
        assert.ok(plan.paths.includes("/etc/ssh/ssh_host_ed25519_key.pub"));
        const out = await repair(host, plan);
        assert.match(out, /^hostkeys=generated$/m);
        assert.match(out, /^privsep=\/run\/sshd$/m);

        await aliceLogsIn(host);
        await converged(host, concern);
        assert.equal(await statOf(host, "/etc/ssh/ssh_host_ed25519_key"), "root:root 600 regular file\n");
    });

    it("a missing PAM module that no package owns and no source provides fails the plan with the fix, before anything changes", async () => {
        const host = await newHost();
        await host.consoleOk("echo 'session optional pam_sr_custom.so' >> /etc/pam.d/sshd");
        const r = await host.console("/bin/sh -s", { input: composePhase([sshdRuntimeConcern().probe]) });
        assert.throws(() => sshdRuntimeConcern().plan(r.stdout),
            /pam_sr_custom\.so \(PAM module pam_sr_custom\.so\) is missing and no installed package owns it\. Fix: declare sources/);
    });
});
