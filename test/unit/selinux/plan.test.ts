import { strict as assert } from "assert";
import { parseSelinuxProbe, planSelinux, selinuxModeConcern, SelinuxModeArgs } from "../../../components/selinux-mode/selinux-mode";

/** selinux-probe.sh on this machine's Debian test host: no SELinux in the kernel, the Debian config file. */
const testHost = `selinux=absent
config=present permissive
config_type=default
policy=absent
`;

/**
 * [S9] What the probe prints on an enforcing host where alice's ~/.ssh lost its labels (restored
 * from a tarball without them): written by hand, since this kernel has no SELinux to print it.
 */
const enforcingMislabeled = `selinux=enforcing
config=present enforcing
config_type=targeted
policy=present
ssh_dir=alice /home/alice/.ssh
mislabeled=alice /home/alice/.ssh
mislabeled=alice /home/alice/.ssh/authorized_keys
ssh_dir=bob /home/bob/.ssh
`;

const plan = (stdout: string, args: SelinuxModeArgs = {}) => planSelinux(parseSelinuxProbe(stdout), args);
const nothing = { pending: false, drift: [], paths: [], apply: [], restartSshd: false };

describe("selinux-mode plan", () => {
    it("[S9] no SELinux kernel: the default declaration changes nothing, not even the config file, since enforcing without a policy installed stops the next boot", () => {
        assert.deepEqual(plan(testHost), nothing);
        assert.deepEqual(plan(testHost, { mode: "permissive", relabelUsers: ["alice"] }), nothing);
        assert.deepEqual(plan("selinux=absent\nconfig=absent\nconfig_type=targeted\npolicy=absent\n", { mode: "disabled" }), nothing);
    });

    it("no SELinux kernel, a config file that differs: rewrites the file only, and never the run time", () => {
        const p = plan(testHost, { mode: "disabled" });
        assert.deepEqual(p.drift, ["/etc/selinux/config: - SELINUX=permissive", "/etc/selinux/config: + SELINUX=disabled"]);
        assert.deepEqual(p.paths, ["/etc/selinux/config"]);
        assert.deepEqual(p.apply[0].env, { SR_SELINUX_CONFIG: "/etc/selinux/config", SR_CONFIG_MODE: "disabled" });
        assert.equal(p.restartSshd, false);
    });

    it("config disabled → enforcing where a policy is installed: also /.autorelabel, so the first boot labels the files before enforcing", () => {
        const p = plan("selinux=absent\nconfig=present disabled\nconfig_type=targeted\npolicy=present\n");
        assert.deepEqual(p.drift, [
            "/etc/selinux/config: - SELINUX=disabled", "/etc/selinux/config: + SELINUX=enforcing",
            "/.autorelabel: + (the next boot relabels the file system before SELinux enforces)",
        ]);
        assert.deepEqual(p.paths, ["/etc/selinux/config", "/.autorelabel"]);
        assert.equal(p.apply[0].env?.SR_AUTORELABEL, "yes");
    });

    it("[S9] an enforcing host with a mislabeled ~/.ssh (hand-written probe output: only an SELinux kernel prints it): relabels the directory with restorecon -R, keeps SELinux enforcing", () => {
        const p = plan(enforcingMislabeled, { relabelUsers: ["alice", "bob"] });
        assert.deepEqual(p.drift, [
            "/home/alice/.ssh: SELinux label is not the policy's (restorecon -R -v /home/alice/.ssh)",
            "/home/alice/.ssh/authorized_keys: SELinux label is not the policy's (restorecon -R -v /home/alice/.ssh)",
        ]);
        assert.deepEqual(p.apply[0].env, { SR_SELINUX_CONFIG: "/etc/selinux/config", SR_RELABEL: "/home/alice/.ssh" });
        assert.deepEqual(p.paths, []);
    });

    it("[S9] the guide's fix, SELinux turned permissive at run time, is put back to enforcing (hand-written probe output: only an SELinux kernel prints it)", () => {
        const p = plan("selinux=permissive\nconfig=present permissive\nconfig_type=targeted\npolicy=present\n");
        assert.deepEqual(p.drift, [
            "SELinux at run time: permissive → enforcing (setenforce 1)",
            "/etc/selinux/config: - SELINUX=permissive", "/etc/selinux/config: + SELINUX=enforcing",
        ]);
        assert.equal(p.apply[0].env?.SR_RUNTIME, "enforcing");
    });

    it("declared disabled on an enforcing host (hand-written probe output): permissive now (as far as run time goes), disabled from the next boot; then converged", () => {
        const p = plan("selinux=enforcing\nconfig=present enforcing\nconfig_type=targeted\npolicy=present\n", { mode: "disabled" });
        assert.equal(p.apply[0].env?.SR_RUNTIME, "permissive");
        assert.equal(p.apply[0].env?.SR_CONFIG_MODE, "disabled");
        assert.deepEqual(plan("selinux=permissive\nconfig=present disabled\nconfig_type=targeted\npolicy=present\n", { mode: "disabled" }), nothing);
    });

    it("a declared user missing on a host where SELinux runs fails the plan with the fix", () => {
        assert.throws(() => plan("selinux=enforcing\nconfig=absent\nconfig_type=targeted\npolicy=present\nuser_missing=carol\n"),
            /relabelUsers names carol, not a user on the host\. Fix: create the user first/);
    });

    it("reads the config's value case-insensitively, as libselinux does", () => {
        assert.equal(parseSelinuxProbe("selinux=absent\nconfig=present Enforcing\n").configMode, "enforcing");
        assert.throws(() => parseSelinuxProbe("config=absent\n"), /printed no selinux= line/);
    });
});

describe("selinuxModeConcern", () => {
    it("defaults to enforcing and records a choice of disabled explicitly in its declaration, for policies", () => {
        assert.deepEqual(selinuxModeConcern().declaration,
            { mode: "enforcing", disablesSelinux: false, relabelUsers: [], configPath: "/etc/selinux/config" });
        const off = selinuxModeConcern({ mode: "disabled", relabelUsers: ["alice"] });
        assert.deepEqual(off.declaration,
            { mode: "disabled", disablesSelinux: true, relabelUsers: ["alice"], configPath: "/etc/selinux/config" });
        assert.deepEqual(off.probe, { script: "selinux-mode/probe", env: { SR_SELINUX_CONFIG: "/etc/selinux/config", SR_USERS: "alice" } });
    });

    it("refuses a mode, user or config path that is not one, naming the argument", () => {
        assert.throws(() => selinuxModeConcern({ mode: "off" as never }), /mode: must be "enforcing", "permissive" or "disabled": got "off"/);
        assert.throws(() => selinuxModeConcern({ relabelUsers: ["alice\nroot"] }), /relabelUsers\[0\]: '[^']*' is not a user name/);
        assert.throws(() => selinuxModeConcern({ configPath: "selinux/config" }), /configPath: must be an absolute path/);
    });
});
