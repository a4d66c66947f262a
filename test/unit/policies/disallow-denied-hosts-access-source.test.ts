import { strict as assert } from "assert";
import { disallowDeniedHostsAccessSource as policy } from "../../../policies/disallow-denied-hosts-access-source";
import { access, ACCESS, SSHD, sshd, violations } from "./run";

const withHosts = (hostsAccess: unknown) => ({ ...access, hostsAccess });
const denyAll = { kind: "content", text: "# deny the rest\nsshd: ALL\n" };

describe("policy sshremedy-hosts-access-disallow-denied-source", () => {
    it("accepts the compliant declaration, a deny-all with the sources admitted first, and unmanaged files", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, ACCESS, withHosts({ deny: denyAll, allow: { kind: "entries", entries: ["sshd: 198.18.0.1 10.0.0.0/255.0.0.0"] } })), []);
        assert.deepEqual(violations(policy, ACCESS, withHosts(false)), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
    });

    it("reports a hosts.deny that denies the verifying source when hosts.allow does not admit it", () => {
        assert.deepEqual(violations(policy, ACCESS, withHosts({ deny: denyAll, allow: { kind: "content", text: "sshd: 10.0.0.0/255.0.0.0\n" } })), [
            "web-1: hostsAccess.deny rule 'sshd : ALL' denies sshd to login.sources[0] 198.18.0.1 and hostsAccess.allow does not admit it first; "
            + "add 'sshd: 198.18.0.1' to hostsAccess.allow or add 'EXCEPT 198.18.0.1' to the rule.",
        ]);
    });

    it("reports a hosts.allow rule with the deny option", () => {
        assert.deepEqual(violations(policy, ACCESS, withHosts({ allow: { kind: "content", text: "ALL: 10.0.0.0/255.0.0.0: deny\n" } })), [
            "web-1: hostsAccess.allow rule 'ALL : 10.0.0.0/255.0.0.0' denies sshd to login.sources[1] 10.0.0.0/8 and hostsAccess.allow does not admit it first; "
            + "add 'sshd: 10.0.0.0/255.0.0.0' to hostsAccess.allow or add 'EXCEPT 10.0.0.0/255.0.0.0' to the rule.",
        ]);
    });
});
