import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run } from "../harness/exec";
import { faultLogin, injectFault } from "../harness/faults";
import { TestHost } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { setHosts, stacksPerTest } from "../harness/stacks";
import { sshLogin } from "../harness/ssh";

/** The host's ed25519 key as known_hosts key text (type and base64, no comment). */
async function hostEd25519(host: TestHost): Promise<string> {
    return (await host.consoleOk("cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub")).trim();
}

/** What a change would touch: the live file's bytes and the snapshots taken so far. */
function hostFiles(host: TestHost): Promise<string> {
    return host.consoleOk("sha256sum /etc/ssh/sshd_config; ls /var/lib/sshremedy/snapshots 2>/dev/null || true");
}

describe("[host-key-mismatch] the verifying login and the ssh transport accept only the host's known keys", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    const newStack = stacksPerTest();

    it("[host-key-mismatch] keys recorded by the first run are required later: a host whose keys changed gets no change until the declaration says they were rotated", async () => {
        const host = await newHost();
        (await injectFault(host, "S2")).release();
        const stack = await newStack([{ host }]);
        const first = await stack.up();
        assert.equal(first.code, 0, `first pulumi up failed:\n${first.stdout}\n${first.stderr}`);
        const recorded = ((await stack.outputs()).results as Record<string, { hostKeys: string[] }>)[host.name].hostKeys;
        const original = await hostEd25519(host);
        assert.ok(recorded.includes(original), `the first run did not record the host's key: ${recorded.join(" | ")}`);

        // The host's keys are replaced (a reinstall, or another machine at the address), and it breaks again.
        await host.consoleOk("rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub && ssh-keygen -A >/dev/null && systemctl restart ssh.service");
        (await injectFault(host, "S2")).release();
        assert.notEqual(await hostEd25519(host), original);
        const before = await hostFiles(host);

        const refused = await stack.up();
        assert.notEqual(refused.code, 0, `a changed host key was accepted:\n${refused.stdout}`);
        assert.match(refused.stdout + refused.stderr, /host key changed on .*no longer offered.*Nothing was changed.*hostKeyRotated/s);
        assert.equal(await hostFiles(host), before, "the host was changed although its key did not match");
        assert.equal((await sshLogin({ address: host.address, ...(await faultLogin("S2")) })).ok, false);

        // The operator says the rotation was intended: the run repairs and records the new keys.
        await setHosts(stack, [{ host, extra: { login: { hostKeyRotated: true } } }]);
        const rotated = await stack.up();
        assert.equal(rotated.code, 0, `pulumi up after the declared rotation failed:\n${rotated.stdout}\n${rotated.stderr}`);
        assert.ok((await sshLogin({ address: host.address, ...(await faultLogin("S2")) })).ok);
        const now = ((await stack.outputs()).results as Record<string, { hostKeys: string[] }>)[host.name].hostKeys;
        assert.ok(now.includes(await hostEd25519(host)) && !now.includes(original), `hostKeys not re-recorded: ${now.join(" | ")}`);
    });

    it("[host-key-mismatch] a pinned key that the host does not offer stops the run before anything changes", async () => {
        const host = await newHost();
        (await injectFault(host, "S2")).release();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sshremedy-key-"));
        try {
            await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
            const stranger = fs.readFileSync(path.join(dir, "k.pub"), "utf8").trim();
            const before = await hostFiles(host);
            const stack = await newStack([{ host, extra: { login: { hostKey: stranger } } }]);
            const up = await stack.up();
            assert.notEqual(up.code, 0, `a host without the pinned key was changed:\n${up.stdout}`);
            assert.match(up.stdout + up.stderr, /host key mismatch on .*not the pinned key ssh-ed25519 SHA256:.*Nothing was changed/s);
            assert.equal(await hostFiles(host), before);

            // Pinned to the host's real key, the same declaration repairs it.
            await setHosts(stack, [{ host, extra: { login: { hostKey: await hostEd25519(host) } } }]);
            const pinned = await stack.up();
            assert.equal(pinned.code, 0, `pulumi up with the right pinned key failed:\n${pinned.stdout}\n${pinned.stderr}`);
            assert.ok((await sshLogin({ address: host.address, ...(await faultLogin("S2")) })).ok);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
