import { strict as assert } from "assert";
import { disallowRootLoginYes as policy } from "../../../policies/disallow-root-login-yes";
import { access, ACCESS, accessWith, sshd, SSHD, sshdWith, violations } from "./run";

describe("policy sshremedy-sshd-disallow-root-login-yes", () => {
    it("accepts the compliant declarations", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
    });

    it("reports PermitRootLogin yes, globally and in a Match block", () => {
        assert.deepEqual(violations(policy, ACCESS, accessWith({ permitRootLogin: "yes" })), [
            "web-1: sshd.settings.permitRootLogin is \"yes\", which lets root log in with a password; use \"prohibit-password\" (keys only) or \"no\".",
        ]);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ match: [{ criteria: { address: ["10.0.0.0/8"] }, settings: { permitRootLogin: "yes" } }] })), [
            "web-1: settings.match[0].settings.permitRootLogin is \"yes\", which lets root log in with a password; use \"prohibit-password\" (keys only) or \"no\".",
        ]);
    });
});
