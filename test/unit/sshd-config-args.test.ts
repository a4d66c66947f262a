import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { SshdConfig, SshdConfigArgs } from "../../components/sshd-config/sshd-config";

/** Argument checks of the component, with Pulumi's mocks: they fail before any host is contacted. */
describe("SshdConfig arguments (Pulumi mocks)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-unit-"));
    const touched = path.join(dir, "touched");
    // A console that would leave a file behind if anything were ever sent through it.
    const args: SshdConfigArgs = {
        target: { kind: "console", prefix: ["sh", "-c", 'touch "$0"; exec "$@"', touched] },
        settings: { maxAuthTries: 4 },
        verify: { host: "198.18.0.2", user: "alice", privateKey: "key" },
    };

    before(() => {
        pulumi.runtime.setMocks({
            newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }),
            call: () => ({}),
        }, "sshremedy", "unit", true);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const cases: [string, Partial<SshdConfigArgs>, RegExp][] = [
        ["a user name with a newline", { settings: { allowUsers: ["alice\nPermitRootLogin yes"] } }, /^settings\.allowUsers\[0\]: .*Fix: /],
        ["a command substitution", { settings: { denyUsers: ["$(reboot)"] } }, /^settings\.denyUsers\[0\]: /],
        ["port 0", { settings: { port: 0 } }, /^settings\.port: /],
        ["a verifier without key or password", { verify: { host: "198.18.0.2", user: "alice" } }, /^verify: has neither privateKey nor password/],
        ["a verifying user that is no user name", { verify: { host: "198.18.0.2", user: "al ice", privateKey: "k" } }, /^verify\.user: /],
        ["a verifying address that is a command", { verify: { host: "h; reboot", user: "alice", privateKey: "k" } }, /^verify\.host: /],
        ["a dead-man window too short to verify", { deadmanWindowSec: 3 }, /^deadmanWindowSec: 3 is not a whole number of seconds from 10 to 3600/],
        ["a lock wait that is no whole number of seconds", { lockWaitSec: 0.5 }, /^lockWaitSec: 0\.5 is not a whole number of seconds from 1 to 3600/],
    ];
    for (const [what, change, message] of cases) {
        it(`refuses ${what} with a message naming the argument`, () => {
            assert.throws(() => new SshdConfig(`bad-${what.length}`, { ...args, ...change }), (e: Error) => {
                assert.ok(pulumi.ResourceError.isInstance(e), `not a ResourceError: ${e}`);
                assert.match(e.message, message);
                return true;
            });
            assert.equal(fs.existsSync(touched), false, "something was sent to the host");
        });
    }
});
