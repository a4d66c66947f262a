import { strict as assert } from "assert";
import { limitMaxAuthTries as policy } from "../../../policies/limit-max-auth-tries";
import { access, ACCESS, sshd, SSHD, sshdWith, violations } from "./run";

describe("policy sshremedy-sshd-limit-max-auth-tries", () => {
    it("accepts the compliant declarations (MaxAuthTries 6)", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
    });

    it("reports MaxAuthTries above the default 6", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ maxAuthTries: 20 })), [
            "web-1: settings.maxAuthTries is 20, above 6 (policy config maxAuthTries), which gives a password guesser 20 guesses per connection; lower it to 6 or less.",
        ]);
    });

    it("takes the threshold from config maxAuthTries", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ maxAuthTries: 20 }), { maxAuthTries: 20 }), []);
        assert.deepEqual(violations(policy, SSHD, sshd, { maxAuthTries: 4 }), [
            "web-1: settings.maxAuthTries is 6, above 4 (policy config maxAuthTries), which gives a password guesser 6 guesses per connection; lower it to 4 or less.",
        ]);
    });
});
