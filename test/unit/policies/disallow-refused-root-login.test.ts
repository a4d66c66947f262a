import { strict as assert } from "assert";
import { disallowRefusedRootLogin as policy } from "../../../policies/disallow-refused-root-login";
import { access, ACCESS, accessWith, sshd, SSHD, sshdWith, violations } from "./run";

describe("policy sshremedy-sshd-disallow-refused-root-login", () => {
    it("accepts the compliant declarations, and root with a key under prohibit-password", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({}, { user: "root" })), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ permitRootLogin: "no" })), [], "not a root login");
    });

    it("reports PermitRootLogin no for a root login", () => {
        assert.deepEqual(violations(policy, ACCESS, accessWith({ permitRootLogin: "no" }, { user: "root" })), [
            "web-1: sshd.settings.permitRootLogin is \"no\" and login.user is root, so sshd refuses the login; "
            + "log in as another user, or set permitRootLogin to \"prohibit-password\" and use a key.",
        ]);
    });

    it("reports prohibit-password for a root password login", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ passwordAuthentication: true }, { user: "root", method: "password" })), [
            "web-1: settings.permitRootLogin is \"prohibit-password\" and verify.user is root with a password, which \"prohibit-password\" refuses; "
            + "log root in with a key (or as another user).",
        ]);
    });

    it("reports forced-commands-only for a root key login", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ permitRootLogin: "forced-commands-only" }, { user: "root" })), [
            "web-1: settings.permitRootLogin is \"forced-commands-only\" and verify.user is root: \"forced-commands-only\" gives the key no shell; "
            + "set permitRootLogin to \"prohibit-password\".",
        ]);
    });
});
