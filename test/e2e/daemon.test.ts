import { strict as assert } from "assert";
import { itRepairs } from "../harness/gates";
import { gateShapes } from "../harness/gate-shapes";
import { ensureClientKeys } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { stacksPerTest } from "../harness/stacks";
import { sshLogin } from "../harness/ssh";

/** The daemon gate through index.ts with the smallest declaration: sshd able to start and to stay up. */
describe("[gate-daemon] sshd has a configuration it can read, and starts with the host", function () {
    this.timeout(600_000);
    itRepairs("gate-daemon", gateShapes["gate-daemon"]);
});

describe("[gate-daemon] host keys regenerated: the new fingerprints are in the outputs and pinned", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    const newStack = stacksPerTest();

    it("[gate-daemon] every host key deleted after a first run: generated, verified against the new keys, fingerprints exported, next runs converged", async () => {
        const host = await newHost();
        const stack = await newStack([{ host }]);
        const first = await stack.up();
        assert.equal(first.code, 0, first.stdout + first.stderr);
        const old = ((await stack.outputs()).results as Record<string, { hostKeyFingerprints: string[] }>)[host.name].hostKeyFingerprints;

        await host.console("rm -f /etc/ssh/ssh_host_*; systemctl restart ssh.service");
        const login = { user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 };
        assert.equal((await sshLogin({ address: host.address, ...login })).ok, false, "sshd still answers without host keys");

        const up = await stack.up();
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        assert.ok((await sshLogin({ address: host.address, ...login })).ok, "the login still fails");
        const now = ((await stack.outputs()).results as Record<string, { hostKeyFingerprints: string[] }>)[host.name].hostKeyFingerprints;
        // What the host itself says its keys are, in the form OpenSSH prints.
        const actual = (await host.consoleOk("for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf \"$f\"; done"))
            .trim().split("\n").map((l) => l.split(" ")[1]);
        assert.ok(actual.length > 0);
        for (const fp of actual) {
            assert.ok(now.some((n) => n.endsWith(fp)), `the host's key ${fp} is not among the exported fingerprints ${now}`);
        }
        assert.ok(!old.some((o) => now.includes(o)), `an old fingerprint is still exported: ${old}`);

        // The next run finds nothing to change on the host and records the new keys (its host-key
        // step updates, nothing else); the one after that changes nothing at all.
        const records = await stack.up();
        assert.equal(records.code, 0, records.stdout + records.stderr);
        const after = ((await stack.outputs()).results as Record<string, { drift: string[]; hostKeyFingerprints: string[] }>)[host.name];
        assert.deepEqual(after.drift, []);
        assert.deepEqual([...after.hostKeyFingerprints].sort(), [...now].sort());
        assert.doesNotMatch(records.stdout, /-(snapshot|apply|verify) +(updat|creat)/);
        const again = await stack.pulumi(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
        assert.equal(again.code, 0, `the run after the regeneration did not converge:\n${again.stdout}\n${again.stderr}`);
    });
});
