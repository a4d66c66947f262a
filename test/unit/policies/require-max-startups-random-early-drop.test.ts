import { strict as assert } from "assert";
import { requireMaxStartupsRandomEarlyDrop as policy } from "../../../policies/require-max-startups-random-early-drop";
import { access, ACCESS, sshd, SSHD, sshdWith, violations } from "./run";

describe("policy sshremedy-sshd-require-max-startups-random-early-drop", () => {
    it("accepts the compliant declarations (10:30:100) and an undeclared MaxStartups", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ maxStartups: undefined })), []);
    });

    it("reports MaxStartups as a plain number", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ maxStartups: 10 })), [
            "web-1: settings.maxStartups is 10, which refuses every unauthenticated connection beyond that number, so a flood shuts operators out; "
            + "use \"start:rate:full\" such as \"10:30:100\" (random early drop).",
        ]);
    });
});
