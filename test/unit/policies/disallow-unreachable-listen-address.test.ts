import { strict as assert } from "assert";
import { disallowUnreachableListenAddress as policy } from "../../../policies/disallow-unreachable-listen-address";
import { access, ACCESS, accessWith, sshd, SSHD, sshdWith, violations } from "./run";

describe("policy sshremedy-sshd-disallow-unreachable-listen-address", () => {
    it("accepts the compliant declarations and listen lists that hold the address or the wildcard on the login's port", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ addressFamily: "inet", listenAddress: ["198.18.0.2", "::1"] })), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ listenAddress: ["0.0.0.0:2222"] }, { port: 2222 })), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ addressFamily: "inet6" }, { host: "2001:db8::2" })), []);
    });

    it("reports AddressFamily inet6 with an IPv4 login address", () => {
        assert.deepEqual(violations(policy, ACCESS, accessWith({ addressFamily: "inet6" })), [
            "web-1: sshd.settings.addressFamily is \"inet6\" but login.address 198.18.0.2 is IPv4, so sshd never accepts the login; "
            + "set addressFamily to \"any\" (or \"inet\").",
        ]);
    });

    it("reports a ListenAddress list without the address, its family's wildcard or the login's port", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ listenAddress: ["10.9.9.9", "::", "198.18.0.2:2222"] })), [
            "web-1: settings.listenAddress [\"10.9.9.9\",\"::\",\"198.18.0.2:2222\"] holds neither 198.18.0.2 nor 0.0.0.0 on port 22, "
            + "so sshd does not listen where verify connects; add \"198.18.0.2\" or \"0.0.0.0\" to listenAddress.",
        ]);
    });
});
