import { strict as assert } from "assert";
import { requireHostKeyForSshHostCommand } from "../../policies/require-host-key-for-ssh-host-command";

function violations(props: Record<string, unknown>, type = "pulumi-nodejs:dynamic/sshremedy:HostCommand"): string[] {
    const found: string[] = [];
    const validate = requireHostKeyForSshHostCommand.validateResource as (a: unknown, r: (m: string) => void) => void;
    validate({ type, name: "web-1-sshd-config", props, urn: "urn", opts: {}, getConfig: () => ({}) }, (m) => found.push(m));
    return found;
}

describe("policy sshremedy-host-command-require-host-key", () => {
    const pinned = { target: { kind: "ssh", host: "198.18.0.2", user: "root", hostKey: "ssh-ed25519 AAAA" }, create: "true" };

    it("accepts an ssh target with a pinned host key", () => {
        assert.deepEqual(violations(pinned), []);
    });

    it("accepts a console target", () => {
        assert.deepEqual(violations({ ...pinned, target: { kind: "console", prefix: ["nsenter"] } }), []);
    });

    it("reports an ssh target without hostKey, naming the host and the fix", () => {
        assert.deepEqual(violations({ ...pinned, target: { kind: "ssh", host: "198.18.0.2", user: "root" } }), [
            "web-1-sshd-config: ssh target 198.18.0.2 has no hostKey; set target.hostKey to the host's public key "
            + "(ssh-keyscan it over a trusted path) or use a console target.",
        ]);
    });

    it("ignores resources of other types", () => {
        assert.deepEqual(violations({ target: { kind: "ssh" } }, "command:remote:Command"), []);
    });
});
