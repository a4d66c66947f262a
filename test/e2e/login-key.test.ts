import { strict as assert } from "assert";
import { ensureClientKeys, TestHost } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { stacksPerTest } from "../harness/stacks";
import { sshLogin } from "../harness/ssh";

/**
 * The key gate through index.ts with the smallest declaration (no hint of the fault): each shape
 * breaks alice's key login the way real hosts do, the real client shows it, one `pulumi up`
 * repairs it, and the evidence names the file and the cause.
 */
describe("[gate-key] the login key where sshd reads it, with the modes StrictModes demands", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    const newStack = stacksPerTest();

    const shapes: { title: string; breaks: string; evidence: RegExp }[] = [
        {
            title: "the key is gone from authorized_keys (another key is left)",
            breaks: "ssh-keygen -q -t ed25519 -N '' -f /tmp/other && cp /tmp/other.pub /home/alice/.ssh/authorized_keys",
            evidence: /\/home\/alice\/\.ssh\/authorized_keys: does not hold the login key ssh-ed25519 for alice .*as sshd -T says/,
        },
        {
            title: "~/.ssh is gone altogether",
            breaks: "rm -rf /home/alice/.ssh",
            evidence: /\/home\/alice\/\.ssh\/authorized_keys: is absent, so it cannot hold the login key/,
        },
        {
            title: "~/.ssh is world-writable (StrictModes)",
            breaks: "chmod 0777 /home/alice/.ssh",
            evidence: /\/home\/alice\/\.ssh: a directory above the key file mode 0777 is group- or world-writable, which StrictModes refuses; chmod 0755/,
        },
        {
            title: "the home directory is writable by a shared group (StrictModes)",
            breaks: "chgrp users /home/alice && chmod 0775 /home/alice",
            evidence: /\/home\/alice: a directory above the key file mode 0775 is group- or world-writable/,
        },
        {
            title: "authorized_keys belongs to another user (StrictModes)",
            breaks: "chown bob:bob /home/alice/.ssh/authorized_keys",
            evidence: /authorized_keys: the key file owned by uid \d+, not alice or root, which StrictModes refuses; chown/,
        },
        {
            title: "a drop-in moves AuthorizedKeysFile to a file the key is not in",
            breaks: "printf 'AuthorizedKeysFile .ssh/keys_from_dropin\\n' > /etc/ssh/sshd_config.d/10-keys.conf && systemctl restart ssh.service",
            evidence: /\/home\/alice\/\.ssh\/keys_from_dropin: is absent, so it cannot hold the login key/,
        },
    ];

    for (const s of shapes) {
        it(`[gate-key] ${s.title}: refused, then repaired by one pulumi up`, async () => {
            const host: TestHost = await newHost();
            await host.consoleOk(s.breaks);
            const login = { user: "alice", keys: [(await ensureClientKeys()).main] };
            const before = await sshLogin({ address: host.address, ...login });
            assert.equal(before.ok, false, "the shape did not break the key login");
            assert.match(before.symptom, /Permission denied/);

            const stack = await newStack([{ host }]);
            const up = await stack.up();
            assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
            assert.ok((await sshLogin({ address: host.address, ...login })).ok, "the key login still fails");
            const result = ((await stack.outputs()).results as Record<string, { evidence: Record<string, string[]>; changed: string[] }>)[host.name];
            assert.ok(result.evidence["login-key"].some((l) => s.evidence.test(l)), `no login-key evidence matching ${s.evidence} in ${JSON.stringify(result.evidence)}`);
            assert.ok(result.changed.includes("login-key"), `changed: ${result.changed}`);
        });
    }
});
