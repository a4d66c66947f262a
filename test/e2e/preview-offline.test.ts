import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { faultLogin, injectFault } from "../harness/faults";
import { destroyHost } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { project, stacksPerTest } from "../harness/stacks";
import { sshLogin } from "../harness/ssh";

const policies = path.join(project, "policies");

describe("[preview-offline] preview plans from the declaration alone, for CI jobs with no route to the hosts", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    const newStack = stacksPerTest();
    let scratch: string | undefined;
    afterEach(async () => {
        if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
        scratch = undefined;
    });

    it("[preview-offline] with the host switched off, preview --policy-pack contacts nothing and the pack still judges the declaration", async () => {
        // The host is gone, and its console records every call and fails, like a dead out-of-band path.
        const host = await newHost();
        await destroyHost(host);
        scratch = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-offline-"));
        const calls = path.join(scratch, "calls");
        const recording = ["sh", "-c", 'echo "$@" >> "$0"; exit 1', calls];
        const stack = await newStack([{ host }]);
        const declare = (extra: Record<string, unknown> = {}) => stack.setConfig("sshremedy:hosts", JSON.stringify([{
            name: host.name, console: recording,
            login: { address: host.address, user: "alice", sources: [host.peerAddress] }, ...extra,
        }]));

        // Without the switch, a preview must reach the host, and fails.
        await declare();
        const online = await stack.pulumi(["preview", "--policy-pack", policies]);
        assert.notEqual(online.code, 0, "a preview that had to probe a dead host succeeded");
        assert.ok(fs.existsSync(calls), "the online preview did not try the console");
        fs.rmSync(calls);

        await stack.setConfig("sshremedy:offlinePreview", "true");
        const offline = await stack.pulumi(["preview", "--policy-pack", policies]);
        assert.equal(offline.code, 0, `offline preview failed:\n${offline.stdout}\n${offline.stderr}`);
        assert.match(offline.stdout, /sshremedy@v[\d.]+ \(local: .*policies\)/, "the policy pack did not run");
        assert.match(offline.stdout, new RegExp(`${host.name}-apply`), "the preview does not show the pipeline's steps");
        assert.equal(fs.existsSync(calls), false, `the offline preview contacted the host: ${fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : ""}`);

        // A lockout in the declaration is still stopped, from the declaration alone.
        await declare({ sshd: { settings: { denyUsers: ["alice"] } } });
        const lockout = await stack.pulumi(["preview", "--policy-pack", policies]);
        assert.notEqual(lockout.code, 0, "a declaration that denies the login passed the policy pack");
        assert.match(lockout.stdout, /mandatory.*sshremedy-sshd-disallow-excluded-login-user/);
        assert.equal(fs.existsSync(calls), false, "the offline preview contacted the host");
    });

    it("[preview-offline] pulumi up still probes first: the switch leaves the repair as it was", async () => {
        const host = await newHost();
        (await injectFault(host, "S2")).release();
        const stack = await newStack([{ host }]);
        await stack.setConfig("sshremedy:offlinePreview", "true");
        // With its preview: the preview part plans offline, the update probes and repairs.
        const up = await stack.pulumi(["up", "--yes"]);
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        assert.ok((await sshLogin({ address: host.address, ...(await faultLogin("S2")) })).ok);
        const result = ((await stack.outputs()).results as Record<string, { drift: string[] }>)[host.name];
        assert.ok(result.drift.some((l) => /DenyUsers alice/.test(l)), `the update did not probe: drift ${JSON.stringify(result.drift)}`);
    });
});
