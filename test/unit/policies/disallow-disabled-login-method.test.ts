import { strict as assert } from "assert";
import { disallowDisabledLoginMethod as policy } from "../../../policies/disallow-disabled-login-method";
import { access, ACCESS, accessWith, sshd, SSHD, sshdWith, violations } from "./run";

describe("policy sshremedy-sshd-disallow-disabled-login-method", () => {
    it("accepts the compliant declarations, and a password login with password or keyboard-interactive on", () => {
        assert.deepEqual(violations(policy, ACCESS, access), []);
        assert.deepEqual(violations(policy, SSHD, sshd), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ passwordAuthentication: true }, { method: "password" })), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ kbdInteractiveAuthentication: true }, { method: "password" })), []);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ authenticationMethods: ["publickey,password", "publickey"] })), []);
    });

    it("reports password and keyboard-interactive off while the login uses a password", () => {
        assert.deepEqual(violations(policy, ACCESS, accessWith({}, { method: "password" })), [
            "web-1: login.method is password but sshd.settings.passwordAuthentication is false and kbdInteractiveAuthentication is not declared true, "
            + "so the password is never asked for; set passwordAuthentication to true or log in with a key.",
        ]);
        assert.deepEqual(violations(policy, SSHD, sshdWith({ kbdInteractiveAuthentication: false }, { method: "password" })), [
            "web-1: verify.method is password but settings.passwordAuthentication is false and kbdInteractiveAuthentication is false, "
            + "so the password is never asked for; set passwordAuthentication to true or log in with a key.",
        ]);
    });

    it("reports public keys off while the login uses a key", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ pubkeyAuthentication: false })), [
            "web-1: verify.method is key but settings.pubkeyAuthentication is false, so the key is never accepted; set pubkeyAuthentication to true or remove it.",
        ]);
    });

    it("reports AuthenticationMethods that the login's one method cannot complete", () => {
        assert.deepEqual(violations(policy, SSHD, sshdWith({ authenticationMethods: ["publickey,password"] })), [
            "web-1: verify.method is key but settings.authenticationMethods [\"publickey,password\"] has no list a key alone completes; "
            + "add \"publickey\" as a list of its own or remove authenticationMethods.",
        ]);
    });
});
