import { strict as assert } from "assert";
import { requireSnapshotBeforeChange as policy, sshPathWritten } from "../../../policies/require-snapshot-before-change";
import { access, ACCESS, DYNAMIC, sshd, SSHD, violations } from "./run";

const hostCommand = (create: string) => ({ target: { kind: "console", prefix: ["true"] }, create });

describe("policy sshremedy-require-snapshot-before-change", () => {
    it("accepts the compliant declarations and HostCommands that only read /etc/ssh", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
        assert.deepEqual(violations(policy, DYNAMIC, hostCommand("set -eu\ncat /etc/ssh/sshd_config\ncp /etc/ssh/sshd_config /root/backup")), []);
        assert.deepEqual(violations(policy, DYNAMIC, { phase: "sed -i s/a/b/ /etc/ssh/sshd_config" }), [], "the pipeline's own phases snapshot first");
    });

    it("reports snapshotsKept below 1", () => {
        assert.deepEqual(violations(policy, SSHD, { ...sshd, snapshotsKept: 0 }), [
            "web-1: snapshotsKept is 0, so the change has no snapshot for the dead-man revert to restore; keep at least 1 (the default is 5).",
        ]);
    });

    it("reports a raw HostCommand that writes under /etc/ssh", () => {
        assert.deepEqual(violations(policy, DYNAMIC, hostCommand("set -eu\nsed -i 's/^PermitRootLogin.*/PermitRootLogin no/' /etc/ssh/sshd_config")), [
            "web-1: this HostCommand's create script writes /etc/ssh/sshd_config with no snapshot and no dead-man revert before it; "
            + "declare the change with SshdConfig or SshAccess, which snapshot first and verify a login after.",
        ]);
    });

    it("recognises redirections and the destination of cp/mv", () => {
        assert.equal(sshPathWritten("echo 'PasswordAuthentication no' >> /etc/ssh/sshd_config.d/x.conf"), "/etc/ssh/sshd_config.d/x.conf");
        assert.equal(sshPathWritten("cp /tmp/new /etc/ssh/sshd_config && systemctl restart ssh"), "/etc/ssh/sshd_config");
        assert.equal(sshPathWritten("printf x | tee -a /etc/ssh/sshd_config"), "/etc/ssh/sshd_config");
        assert.equal(sshPathWritten("grep -q x /etc/ssh/sshd_config || echo no"), undefined);
    });
});
