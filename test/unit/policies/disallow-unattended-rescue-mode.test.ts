import { strict as assert } from "assert";
import { disallowUnattendedRescueMode as policy } from "../../../policies/disallow-unattended-rescue-mode";
import { access, ACCESS, sshd, SSHD, violations } from "./run";

describe("policy sshremedy-tencent-disallow-unattended-rescue-mode [rescue]", () => {
    it("accepts declarations that do not allow rescue mode", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, ACCESS, { ...access, tencent: { rescue: { allowed: false } } }), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
    });

    it("reports an SshAccess that lets a run stop its instance for rescue mode", () => {
        assert.deepEqual(violations(policy, ACCESS, { ...access, tencent: { rescue: { allowed: true } } }), [
            "web-1: tencent.rescue.allowed lets a run stop the instance and repair its disk from rescue mode when neither SSH nor TAT "
            + "reaches it (minutes out of service, decided by the run); allow it for one run when needed, or accept it here.",
        ]);
        assert.equal(policy.enforcementLevel, "advisory");
    });
});
