import { strict as assert } from "assert";
import { disallowExcludedLoginUser as policy } from "../../../policies/disallow-excluded-login-user";
import { access, ACCESS, accessWith, sshd, SSHD, sshdWith, violations } from "./run";

describe("policy sshremedy-sshd-disallow-excluded-login-user", () => {
    it("accepts the compliant declarations, and lists that admit the user", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ allowUsers: ["bob", "al*", "x@10.0.0.0/8"], denyUsers: ["b?b"] })), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ allowGroups: ["wheel"] })), [], "groups unknown: AllowGroups not judged");
    });

    it("reports an AllowUsers that leaves the verifying user out", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ allowUsers: ["bob"] })), [
            "web-1: settings.allowUsers [\"bob\"] does not admit verify.user 'alice', so sshd refuses the login; add 'alice' to allowUsers or set allowUsers to null.",
        ]);
    });

    it("reports an AllowUsers pattern negated for the user (SshAccess: declared settings win over the ones it adds)", () => {
        assert.deepEqual(violations(policy, ACCESS, accessWith({ allowUsers: ["*", "!al?ce"] })), [
            "web-1: sshd.settings.allowUsers [\"*\",\"!al?ce\"] does not admit login.user 'alice', so sshd refuses the login; add 'alice' to allowUsers or set allowUsers to null.",
        ]);
    });

    it("reports a DenyUsers pattern that names the user", () => {
        assert.deepEqual(violations(policy, ACCESS, accessWith({ denyUsers: ["bob", "a*@10.0.0.0/8"] })), [
            "web-1: sshd.settings.denyUsers pattern 'a*@10.0.0.0/8' refuses login.user 'alice'; remove it from denyUsers.",
        ]);
    });

    it("reports DenyGroups * even when the user's groups are unknown", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ denyGroups: ["*"] })), [
            "web-1: settings.denyGroups pattern '*' refuses every user (each has a primary group), verify.user 'alice' too; remove it from denyGroups.",
        ]);
    });

    it("judges AllowGroups and DenyGroups with the groups given in config userGroups", () => {
        const config = { userGroups: { alice: ["alice", "ops"] } };
        assert.deepEqual(violations(policy, SSHD, sshdWith({ allowGroups: ["op?"] }), config), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ allowGroups: ["wheel"] }), config), [
            "web-1: settings.allowGroups [\"wheel\"] admits none of the groups [\"alice\",\"ops\"] of verify.user 'alice' (policy config userGroups); "
            + "add one of them to allowGroups or set allowGroups to null.",
        ]);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ denyGroups: ["o*"] }), config), [
            "web-1: settings.denyGroups pattern 'o*' refuses group 'ops' of verify.user 'alice'; remove it from denyGroups.",
        ]);
    });

    it("ignores other resource types", () => {
        assert.deepEqual(violations(policy, "pulumi-nodejs:dynamic/sshremedy:HostCommand", sshdWith({ allowUsers: ["bob"] })), []);
    });
});
