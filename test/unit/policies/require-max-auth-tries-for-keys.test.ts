import { strict as assert } from "assert";
import { requireMaxAuthTriesForKeys as policy } from "../../../policies/require-max-auth-tries-for-keys";
import { access, ACCESS, SSHD, sshd, sshdWith, violations } from "./run";

describe("policy sshremedy-sshd-require-max-auth-tries-for-keys", () => {
    it("accepts the compliant declarations (MaxAuthTries 6) and an undeclared MaxAuthTries", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ maxAuthTries: undefined })), []);
    });

    it("reports MaxAuthTries below the default 6 keys", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ maxAuthTries: 3 })), [
            "web-1: settings.maxAuthTries is 3, below the 6 keys an operator's agent may offer (policy config keysOffered), "
            + "so sshd answers \"Too many authentication failures\" before the right key; raise it to 6 or more.",
        ]);
    });

    it("takes the number of keys from config keysOffered, and judges Match blocks too", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ maxAuthTries: 3 }), { keysOffered: 3 }), []);
        const matched = sshdWith({ match: [{ criteria: { user: ["ops"] }, settings: { maxAuthTries: 2 } }] });
        assert.deepEqual(violations(policy, SSHD, matched, { keysOffered: 3 }), [
            "web-1: settings.match[0].settings.maxAuthTries is 2, below the 3 keys an operator's agent may offer (policy config keysOffered), "
            + "so sshd answers \"Too many authentication failures\" before the right key; raise it to 3 or more.",
        ]);
    });
});
