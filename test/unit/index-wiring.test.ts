import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";

/** Wiring only, with Pulumi's mocks: which resources index.ts declares from stack config. */
describe("index.ts wiring (Pulumi mocks)", () => {
    const created: { type: string; name: string; inputs: Record<string, unknown> }[] = [];

    before(() => {
        pulumi.runtime.setMocks({
            newResource: (args) => {
                created.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: { ...args.inputs, stdout: "changed=no\n" } };
            },
            call: () => ({}),
        }, "sshremedy", "unit", true);
        pulumi.runtime.setAllConfig({
            "sshremedy:hosts": JSON.stringify([
                { name: "web-1", console: ["nsenter", "-t", "42", "-a"] },
                { name: "web-2", ssh: { host: "198.18.0.6", user: "root" } },
            ]),
            "sshremedy:privateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nunit\n-----END OPENSSH PRIVATE KEY-----",
        }, ["sshremedy:privateKey"]);
    });

    it("declares one sshd_config repair per host, on the declared carrier", async () => {
        const program = await import("../../index");
        const results = await new Promise<Record<string, string>>((resolve) =>
            pulumi.all(program.results).apply((r) => resolve(r as Record<string, string>)));
        assert.deepEqual(Object.keys(results).sort(), ["web-1", "web-2"]);
        const names = created.filter((c) => c.type === "pulumi-nodejs:dynamic:Resource").map((c) => c.name).sort();
        assert.deepEqual(names, ["web-1-sshd-config", "web-2-sshd-config"]);
        const web1 = created.find((c) => c.name === "web-1-sshd-config")!;
        assert.deepEqual(web1.inputs.target, { kind: "console", prefix: ["nsenter", "-t", "42", "-a"] });
        const web2 = created.find((c) => c.name === "web-2-sshd-config")!;
        // The target carries the private key, so the whole target travels as a secret.
        const wrapped = web2.inputs.target as Record<string, unknown>;
        assert.equal(wrapped[pulumi.runtime.specialSigKey], pulumi.runtime.specialSecretSig);
        const target = wrapped.value as Record<string, unknown>;
        assert.equal(target.kind, "ssh");
        assert.equal(target.host, "198.18.0.6");
        assert.match(String(web2.inputs.create), /sshd -t -f "\$vendor"/);
    });
});
