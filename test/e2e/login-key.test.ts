import { strict as assert } from "assert";
import { shellQuote } from "../../components/core/quote";
import { itRepairs } from "../harness/gates";
import { ensureClientKeys } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { stacksPerTest } from "../harness/stacks";
import { sshLogin } from "../harness/ssh";
import { gateShapes } from "../harness/gate-shapes";

/**
 * The key gate through index.ts with the smallest declaration (no hint of the fault): each shape
 * breaks alice's key login the way real hosts do, the real client shows it, one `pulumi up`
 * repairs it, and the evidence names the file and the cause.
 */
describe("[gate-key] the login key where sshd reads it, with the modes StrictModes demands", function () {
    this.timeout(600_000);
    itRepairs("gate-key", gateShapes["gate-key"]);
});

describe("[gate-key] keys from an AuthorizedKeysCommand: asked the way sshd asks it", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    const newStack = stacksPerTest();
    const commandOnly = (body: string) => [
        "printf '%s\\n' '#!/bin/sh' " + shellQuote(body) + " > /usr/local/bin/keys-from-directory",
        "chmod 0755 /usr/local/bin/keys-from-directory",
        "printf 'AuthorizedKeysFile none\\nAuthorizedKeysCommand /usr/local/bin/keys-from-directory %%u\\nAuthorizedKeysCommandUser nobody\\n' > /etc/ssh/sshd_config.d/20-keys-command.conf",
        "systemctl restart ssh.service",
    ].join("\n");
    const files = "sha256sum /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*; ls -la /home/alice/.ssh; ls /var/lib/sshremedy/snapshots 2>/dev/null || true";

    it("[gate-key] AuthorizedKeysFile none and a command that does not offer the key: the run stops naming the command, nothing changes", async () => {
        const host = await newHost();
        await host.consoleOk(commandOnly("exit 0"));
        const login = { user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 };
        assert.equal((await sshLogin({ address: host.address, ...login })).ok, false);
        const before = await host.consoleOk(files);
        const up = await (await newStack([{ host }])).up();
        assert.notEqual(up.code, 0, `the run went ahead:\n${up.stdout}`);
        assert.match(up.stdout + up.stderr, /sshd takes alice's keys only from AuthorizedKeysCommand \/usr\/local\/bin\/keys-from-directory %u \(run as nobody; AuthorizedKeysFile none\)/);
        assert.equal(await host.consoleOk(files), before, "the host changed");
    });

    it("[gate-key] a command that offers the key: the key gate has nothing to do, the files are left as they are", async () => {
        const host = await newHost();
        const pub = (await ensureClientKeys()).mainPublic;
        await host.consoleOk(commandOnly(`[ "$1" = alice ] && echo '${pub}'`));
        await host.consoleOk("rm /home/alice/.ssh/authorized_keys");
        const login = { user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 };
        assert.ok((await sshLogin({ address: host.address, ...login })).ok, "the command does not admit the key");
        const stack = await newStack([{ host }]);
        const up = await stack.up();
        assert.equal(up.code, 0, up.stdout + up.stderr);
        const result = ((await stack.outputs()).results as Record<string, { changed: string[] }>)[host.name];
        assert.ok(!result.changed.includes("login-key"), `the key gate changed something: ${result.changed}`);
        assert.equal((await host.console("test -e /home/alice/.ssh/authorized_keys")).code, 1, "a key file was written although the command serves the key");
    });
});
