import { strict as assert } from "assert";
import { disallowPlaintextCredentials as policy } from "../../../policies/disallow-plaintext-credentials";
import { markSecretPaths, secretPaths } from "../../../policies/secret-paths";
import { access, ACCESS, DYNAMIC, violations } from "./run";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n";
const secret = (value: unknown) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value });
/** A dynamic resource's props as the pack sees them, with the secret paths the engine marked. */
const verifyStep = (secrets: string[]) => markSecretPaths({ target: { kind: "console", prefix: ["true"] },
    login: { kind: "ssh", host: "198.18.0.2", user: "alice", privateKey: KEY }, phase: "true" }, secrets) as Record<string, unknown>;

describe("policy sshremedy-disallow-plaintext-credentials", () => {
    it("accepts a key inside a secret, and components' declarations (which carry only the method)", () => {
        assert.deepEqual(violations(policy, DYNAMIC, verifyStep(["login"])), []);
        assert.deepEqual(violations(policy, DYNAMIC, verifyStep(["login.privateKey"])), []);
        assert.deepEqual(violations(policy, ACCESS, markSecretPaths({ ...access }, []) as Record<string, unknown>), []);
    });

    it("reports a private key given as plain text", () => {
        assert.deepEqual(violations(policy, DYNAMIC, verifyStep([]), {}, "web-1-verify"), [
            "web-1-verify: login.privateKey holds a private key as plain text, stored unencrypted in the state; "
            + "pass it as a Pulumi secret (pulumi.secret(...) or config.requireSecret(...)).",
        ]);
    });

    it("reports a plain password and a PEM key inside a script", () => {
        const props = markSecretPaths({ target: { kind: "ssh", host: "h", user: "root", password: "hunter2" }, create: `cat > /root/k <<'EOF'\n${KEY}EOF` }, []);
        assert.deepEqual(violations(policy, DYNAMIC, props as Record<string, unknown>), [
            "web-1: target.password holds a password as plain text, stored unencrypted in the state; pass it as a Pulumi secret (pulumi.secret(...) or config.requireSecret(...)).",
            "web-1: create holds a private key as plain text, stored unencrypted in the state; pass it as a Pulumi secret (pulumi.secret(...) or config.requireSecret(...)).",
        ]);
    });

    it("says it cannot judge when nothing recorded the secret paths", () => {
        assert.throws(() => violations(policy, DYNAMIC, { target: { kind: "ssh", privateKey: KEY } }), /not applicable: .*which inputs are secrets/);
    });

    it("finds the secret markers the engine sends, at any depth", () => {
        assert.deepEqual(secretPaths({ target: secret({ privateKey: KEY }), login: { password: secret("x") }, list: [1, secret(2)] }),
            ["target", "login.password", "list[1]"]);
    });
});
