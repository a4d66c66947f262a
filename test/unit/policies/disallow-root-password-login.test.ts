import { strict as assert } from "assert";
import { disallowRootPasswordLogin as policy } from "../../../policies/disallow-root-password-login";
import { access, ACCESS, accessWith, sshd, SSHD, sshdWith, violations } from "./run";

describe("policy sshremedy-sshd-disallow-root-password-login", () => {
    it("accepts the compliant declarations, root with a key, and alice with a password", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({}, { user: "root" })), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({}, { method: "password" })), []);
    });

    it("reports a root login by password", () => {
        assert.deepEqual(violations(policy, ACCESS, accessWith({}, { user: "root", method: "password" })), [
            "web-1: login is root with a password, which needs root password logins on (PermitRootLogin yes); "
            + "log root in with a key, or log in as an unprivileged user and use sudo.",
        ]);
    });
});
