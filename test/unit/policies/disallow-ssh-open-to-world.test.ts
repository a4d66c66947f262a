import { strict as assert } from "assert";
import { disallowSshOpenToWorld as policy } from "../../../policies/disallow-ssh-open-to-world";
import { access, ACCESS, accessWith, violations } from "./run";

describe("policy sshremedy-disallow-ssh-open-to-world", () => {
    it("accepts the compliant declaration", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, ACCESS, { ...access, firewall: { allow: ["0.0.0.0/1"] } }), []);
    });

    it("reports 0.0.0.0/0 in the firewall allowlist", () => {
        assert.deepEqual(violations(policy, ACCESS, { ...access, firewall: { allow: ["198.18.0.1", "0.0.0.0/0"] } }), [
            "web-1: firewall.allow[1] '0.0.0.0/0' opens SSH to every IPv4 address; list the operators' addresses or networks (a bastion, the office) instead.",
        ]);
    });

    it("reports ::/0 in the login's sources", () => {
        assert.deepEqual(violations(policy, ACCESS, accessWith({}, { sources: ["::/0"] })), [
            "web-1: login.sources[0] '::/0' opens SSH to every IPv6 address; list the operators' addresses or networks (a bastion, the office) instead.",
        ]);
    });
});
