import { strict as assert } from "assert";
import { composePhase } from "../../components/core/compose";
import { selinuxModeConcern } from "../../components/selinux-mode/selinux-mode";
import { hostsPerTest } from "../harness/per-test";
import { run } from "../harness/exec";
import { ensureClientKeys } from "../harness/lab";
import { probeAndPlan, runPhase } from "../harness/phases";
import { sshLogin } from "../harness/ssh";

/**
 * SelinuxMode's probe and apply scripts on real test hosts. This machine's kernel has no SELinux:
 * the hosts carry the real tools (policycoreutils, selinux-utils; getenforce prints Disabled), so
 * what runs here is detection, the no-change guarantee, and the config-file rewrite. Switching the
 * run-time mode (setenforce), reading labels (matchpathcon -V) and relabelling ~/.ssh (restorecon)
 * need an SELinux kernel: their plans are covered by test/unit/selinux with probe output written
 * as such a host prints it, and the last test here shows the tools refusing on this kernel.
 */



const redHatLike = `# This file controls the state of SELinux on the system.
SELINUX=enforcing
SELINUXTYPE=sr-test
`;

describe("SelinuxMode on real hosts of a kernel without SELinux", function () {
    this.timeout(60_000);
    const newHost = hostsPerTest();

    it("its scripts pass sh -n as sent", async () => {
        const concern = selinuxModeConcern({ relabelUsers: ["alice"] });
        const plan = concern.plan("selinux=enforcing\nconfig=present disabled\nconfig_type=t\npolicy=present\nssh_dir=alice /h/.ssh\nmislabeled=alice /h/.ssh\n");
        for (const phase of [composePhase([concern.probe]), composePhase(plan.apply)]) {
            const r = await run(["sh", "-n"], { input: phase });
            assert.equal(r.code, 0, r.stderr);
        }
    });

    it("[S9] no SELinux here: the probe says selinux=absent and the default (enforcing) plan changes nothing, not even Debian's config file with no policy installed", async () => {
        const host = await newHost();
        const before = await host.consoleOk("cat /etc/selinux/config; getenforce");
        const { plan, stdout } = await probeAndPlan(host, selinuxModeConcern({ relabelUsers: ["alice", "root"] }));
        assert.match(stdout, /^selinux=absent$/m);
        assert.match(stdout, /^config=present permissive$/m);
        assert.match(stdout, /^policy=absent$/m);
        assert.doesNotMatch(stdout, /mislabeled=|ssh_dir=/, "labels were read on a kernel that has none");
        assert.deepEqual(plan, { pending: false, drift: [], paths: [], apply: [], restartSshd: false });
        assert.match(before, /Disabled/);
        assert.equal(await host.consoleOk("cat /etc/selinux/config; getenforce"), before);

        const keys = await ensureClientKeys();
        const login = await sshLogin({ address: host.address, user: "alice", keys: [keys.main], connectTimeoutSec: 3 });
        assert.ok(login.ok, login.symptom);
    });

    it("no SELinux here, a config file (created for the test, reached through a link as on Red Hat) that says otherwise: only that file is rewritten, its other lines, owner, mode and link kept; then converged", async () => {
        const host = await newHost();
        await host.consoleOk(`set -eu
mkdir -p /etc/sr-selinux /etc/sysconfig
printf '%s' '${redHatLike}' > /etc/sr-selinux/config
chown 0:1002 /etc/sr-selinux/config && chmod 640 /etc/sr-selinux/config
ln -s ../sr-selinux/config /etc/sysconfig/selinux`);
        const concern = selinuxModeConcern({ mode: "permissive", configPath: "/etc/sysconfig/selinux" });
        const { plan } = await probeAndPlan(host, concern);
        assert.deepEqual([...plan.drift], ["/etc/sysconfig/selinux: - SELINUX=enforcing", "/etc/sysconfig/selinux: + SELINUX=permissive"]);
        assert.deepEqual([...plan.paths], ["/etc/sysconfig/selinux"]);
        assert.doesNotMatch(JSON.stringify(plan.apply), /SR_RUNTIME|SR_RELABEL":"\//);
        assert.match(await runPhase(host, plan.apply), /^config=permissive$/m);

        assert.equal(await host.consoleOk("cat /etc/sr-selinux/config"), redHatLike.replace("SELINUX=enforcing", "SELINUX=permissive"));
        assert.equal(await host.consoleOk("stat -c '%u:%g %a' /etc/sr-selinux/config; readlink /etc/sysconfig/selinux"), "0:1002 640\n../sr-selinux/config\n");
        assert.equal((await probeAndPlan(host, concern)).plan.pending, false);
    });

    it("disabled → enforcing in the config where a policy is installed (a stand-in file): the config and /.autorelabel; disabled itself is recorded in the declaration", async () => {
        const host = await newHost();
        await host.consoleOk(`set -eu
mkdir -p /etc/sr-selinux /etc/selinux/sr-test/policy
touch /etc/selinux/sr-test/policy/policy.33
printf '%s' '${redHatLike.replace("SELINUX=enforcing", "SELINUX=disabled")}' > /etc/sr-selinux/config
rm -f /.autorelabel`);
        const enforcing = selinuxModeConcern({ configPath: "/etc/sr-selinux/config" });
        const { plan } = await probeAndPlan(host, enforcing);
        assert.deepEqual([...plan.paths], ["/etc/sr-selinux/config", "/.autorelabel"]);
        const out = await runPhase(host, plan.apply);
        assert.match(out, /^autorelabel=\/\.autorelabel$/m);
        assert.match(await host.consoleOk("grep ^SELINUX= /etc/sr-selinux/config; ls /.autorelabel"), /^SELINUX=enforcing\n\/\.autorelabel\n$/);
        assert.equal((await probeAndPlan(host, enforcing)).plan.pending, false);

        const disabled = selinuxModeConcern({ mode: "disabled", configPath: "/etc/sr-selinux/config" });
        assert.equal((disabled.declaration as { disablesSelinux: boolean }).disablesSelinux, true);
        await runPhase(host, (await probeAndPlan(host, disabled)).plan.apply);
        assert.match(await host.consoleOk("grep ^SELINUX= /etc/sr-selinux/config"), /^SELINUX=disabled$/m);
    });

    it("[S9] what only an SELinux kernel can show: here setenforce and matchpathcon refuse, so the run-time switch and the ~/.ssh relabel are proven by unit fixtures only", async () => {
        const host = await newHost();
        const setenforce = await host.console("setenforce 1");
        assert.deepEqual([setenforce.code, setenforce.stderr], [1, "setenforce: SELinux is disabled\n"]);
        const matchpathcon = await host.console("matchpathcon -V /home/alice/.ssh");
        assert.equal(matchpathcon.code, 255);
        assert.match(matchpathcon.stderr, /Error while opening file contexts database/);
        const ls = await host.consoleOk("ls -Z /home/alice/.ssh/authorized_keys");
        assert.equal(ls, "? /home/alice/.ssh/authorized_keys\n", "ls -Z shows no label without SELinux");
    });
});
