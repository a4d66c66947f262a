import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { SshAccess, SshAccessArgs } from "../../components/ssh-access";
import { acceptHostKeys, fingerprint } from "../../components/core/pipeline";

/** The value of an Output once the engine would have it. */
function settle<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Values that come from other resources: validated once they are known, before any script is sent. */
describe("declaration edge with inputs from other resources (Pulumi mocks)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-unit-"));
    const touched = path.join(dir, "touched");
    // A console that would leave a file behind if anything were ever sent through it.
    // A real key: SshAccess derives its public half (ssh-keygen -y) for the key gate.
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "id")]);
    const args: SshAccessArgs = {
        target: { kind: "console", prefix: ["sh", "-c", 'touch "$0"; exit 1', touched] },
        login: { address: "198.18.0.2", user: "alice", privateKey: fs.readFileSync(path.join(dir, "id"), "utf8"), sources: ["198.18.0.1"] },
    };

    // What the engine was told: each resource's inputs by name, and the errors logged against components.
    const inputs = new Map<string, Record<string, unknown>>();
    const logged: string[] = [];
    const logError = pulumi.log.error;
    before(() => {
        pulumi.runtime.setMocks({
            newResource: (a) => {
                inputs.set(a.name, a.inputs);
                return { id: `${a.name}-id`, state: a.inputs };
            },
            call: () => ({}),
        }, "sshremedy", "unit", true);
        (pulumi.log as { error: typeof pulumi.log.error }).error = async (msg: string) => {
            logged.push(msg);
        };
    });
    after(() => {
        (pulumi.log as { error: typeof pulumi.log.error }).error = logError;
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a known bad value fails at construction under the declaration path, even when others are still unknown", () => {
        assert.throws(() => new SshAccess("known", {
            ...args, declarationPath: "hosts[2]",
            login: { ...args.login, address: pulumi.output("198.18.0.2"), sources: [pulumi.output("198.18.0.1"), "10.0.0.1/8"] },
        }), (e: Error) => {
            assert.ok(pulumi.ResourceError.isInstance(e), `not a ResourceError: ${e}`);
            assert.match(e.message, /^hosts\[2\]\.login\.sources\[1\]: '10\.0\.0\.1\/8' is not an IP address or CIDR/);
            return true;
        });
        assert.equal(fs.existsSync(touched), false, "something was sent to the host");
    });

    for (const [what, login, message] of [
        ["an address", { address: pulumi.output("h; reboot") }, /login\.address: 'h; reboot' is not an IP address/],
        ["a source", { sources: pulumi.output(["198.18.0.1", "0.0.0.0/-1"]) }, /login\.sources\[1\]: /],
        ["a user", { user: pulumi.output("alice\nPermitRootLogin yes") }, /login\.user: /],
        ["a port", { port: pulumi.output(70000) }, /login\.port: 70000 is not a TCP port/],
    ] as const) {
        it(`${what} known only at deploy time is checked when it is known, and nothing is sent`, async () => {
            const name = `later-${what.length}`;
            const a = new SshAccess(name, { ...args, login: { ...args.login, ...login } });
            assert.deepEqual(await settle(a.drift), []);
            await new Promise((r) => setTimeout(r, 50));
            // Reported as the component's error, naming the argument; the host-key step (the
            // first that may run anything) carries the refusal, so no step after it runs.
            assert.equal(logged.length, 1, logged.join("\n"));
            assert.match(logged.pop()!, message);
            await new Promise((r) => setTimeout(r, 50));
            assert.match(String(inputs.get(`${name}-host-key`)?.refused), message);
            assert.equal(fs.existsSync(touched), false, "something was sent to the host");
        });
    }

    it("a private key ssh-keygen cannot read is refused naming login.privateKey, and nothing is sent", async () => {
        const a = new SshAccess("badkey", { ...args, login: { ...args.login, privateKey: pulumi.secret("not a key") } });
        assert.deepEqual(await settle(a.drift), []);
        await new Promise((r) => setTimeout(r, 50));
        assert.match(logged.pop() ?? "", /^login\.privateKey: ssh-keygen -y could not read it .*Fix: give an OpenSSH private key without a passphrase/);
        assert.equal(fs.existsSync(touched), false, "something was sent to the host");
    });

    it("a good address known only at deploy time reaches the host (the probe goes through the console)", async () => {
        const a = new SshAccess("good", { ...args, login: { ...args.login, address: pulumi.output("198.18.0.2") } });
        assert.deepEqual(await settle(a.drift), []);
        await new Promise((r) => setTimeout(r, 50));
        assert.match(logged.pop() ?? "", /^good: probing console sh -c .* failed: exit 1$/);
        assert.equal(fs.existsSync(touched), true, "the probe did not run once the address was known and valid");
        fs.rmSync(touched);
    });
});

describe("host keys accepted before a change [host-key-mismatch]", () => {
    const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
    const ed2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBgtPqSWR1N3eWJmQ1l1cDB5eTJ0Zk1LSnV3c0xQaGhz";
    const rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7";
    const base = { offered: [ed], pinned: null, rotated: false, where: "198.18.0.2:22" };

    it("records what the host offers on the first run", () => {
        assert.deepEqual(acceptHostKeys(base, undefined), [ed]);
    });
    it("refuses a host that no longer offers a recorded key, naming both fingerprints", () => {
        assert.throws(() => acceptHostKeys({ ...base, offered: [ed2] }, [ed]),
            new RegExp(`host key changed on 198\\.18\\.0\\.2:22: the key recorded by an earlier run \\(${fingerprint(ed).replace(/[+/]/g, "\\$&")}\\) is no longer offered; it offers ${fingerprint(ed2).replace(/[+/]/g, "\\$&")}`));
    });
    it("[gate-daemon] lets a host that offers no key at all through (its keys are generated and pinned by the verifying login)", () => {
        assert.deepEqual(acceptHostKeys({ ...base, offered: [] }, [ed]), []);
    });
    it("accepts and records new keys when the declaration says they were rotated", () => {
        assert.deepEqual(acceptHostKeys({ ...base, offered: [ed2], rotated: true }, [ed]), [ed2]);
    });
    it("keeps the recorded key pinned and adds a key of a new type beside it", () => {
        assert.deepEqual(acceptHostKeys({ ...base, offered: [rsa, ed] }, [ed]), [ed, rsa]);
    });
    it("a pinned key must be one the host offers; a comment on it does not matter", () => {
        assert.throws(() => acceptHostKeys({ ...base, pinned: ed2 }, undefined), /host key mismatch .*not the pinned key ssh-ed25519 SHA256:/);
        assert.deepEqual(acceptHostKeys({ ...base, pinned: `${ed} root@web-1` }, [ed2]), [`${ed} root@web-1`]);
    });
    it("prints fingerprints as ssh-keygen -l does", () => {
        assert.match(fingerprint(ed), /^ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}$/);
    });
});
