import { strict as assert } from "assert";
import { disallowFirewallExcludedSource as policy } from "../../../policies/disallow-firewall-excluded-source";
import { access, ACCESS, SSHD, sshd, violations } from "./run";

const withAllow = (allow: string[]) => ({ ...access, firewall: { allow } });

describe("policy sshremedy-firewall-disallow-excluded-source", () => {
    it("accepts the compliant declaration (allow defaults to the sources), an allowlist that holds them, and an unmanaged firewall", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, ACCESS, withAllow(["198.18.0.0/15", "10.0.0.0/8"])), []);
        assert.deepEqual(violations(policy, ACCESS, { ...access, firewall: false }), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
    });

    it("reports an empty allowlist", () => {
        assert.deepEqual(violations(policy, ACCESS, withAllow([])), [
            "web-1: firewall.allow is [], which admits nobody to port 22; list the login's sources (or omit allow to use login.sources), "
            + "or set firewall to false to leave the firewall alone.",
        ]);
    });

    it("reports an allowlist that leaves a login source out", () => {
        assert.deepEqual(violations(policy, ACCESS, withAllow(["198.18.0.1", "10.1.0.0/16"])), [
            "web-1: firewall.allow [\"198.18.0.1\",\"10.1.0.0/16\"] does not hold login.sources[1] 10.0.0.0/8, so its SSH connections are dropped; "
            + "add '10.0.0.0/8' (or a CIDR that holds it) to firewall.allow.",
        ]);
    });
});
