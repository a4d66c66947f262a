import { strict as assert } from "assert";
import { disallowWeakSelinuxMode as policy } from "../../../policies/disallow-weak-selinux-mode";
import { access, ACCESS, violations } from "./run";

describe("policy sshremedy-selinux-disallow-weak-mode", () => {
    it("accepts the compliant declaration (enforcing by default), enforcing, and an unmanaged SELinux", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, ACCESS, { ...access, selinux: { mode: "enforcing" } }), []);
        assert.deepEqual(violations(policy, ACCESS, { ...access, selinux: false }), []);
    });

    for (const mode of ["permissive", "disabled"]) {
        it(`reports SELinux ${mode}`, () => {
            assert.deepEqual(violations(policy, ACCESS, { ...access, selinux: { mode } }), [
                `web-1: selinux.mode is "${mode}", so SELinux no longer confines sshd and the sessions it starts; `
                + 'keep "enforcing" and let selinux.relabelUsers fix the labels of ~/.ssh.',
            ]);
        });
    }
});
