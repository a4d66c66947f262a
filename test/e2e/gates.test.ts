import { strict as assert } from "assert";
import { ensureClientKeys, TestHost } from "../harness/lab";
import { itRepairs } from "../harness/gates";
import { gateShapes } from "../harness/gate-shapes";
import { hostsPerTest } from "../harness/per-test";
import { setHosts, stacksPerTest } from "../harness/stacks";
import { sshLogin } from "../harness/ssh";

/**
 * Gates of the login path through index.ts with the smallest declaration (no hint of the fault):
 * the same causes as the catalogue's, in the places real hosts put them, found by asking sshd.
 */
describe("[gate-sshd] what refuses the login is found where sshd reads it: drop-ins and Match blocks", function () {
    this.timeout(600_000);
    itRepairs("gate-sshd", gateShapes["gate-sshd"]);
});

describe("[gate-sshd] a session policy in the login's way is the operator's call: reported with its line, nothing changed", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    const newStack = stacksPerTest();

    it("[gate-sshd] ForceCommand in a Match block for the login user: pulumi up stops naming the file and line, the host is untouched", async () => {
        const host = await newHost();
        await host.consoleOk("printf 'Match User alice\\n    ForceCommand /usr/bin/true\\n' > /etc/ssh/sshd_config.d/70-force.conf && systemctl restart ssh.service");
        const before = await host.consoleOk("sha256sum /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*; ls /var/lib/sshremedy/snapshots 2>/dev/null || true");
        const stack = await newStack([{ host }]);
        const up = await stack.up();
        assert.notEqual(up.code, 0, `a ForceCommand for the login was changed or ignored:\n${up.stdout}`);
        assert.match(up.stdout + up.stderr, /ForceCommand \/usr\/bin\/true \(\/etc\/ssh\/sshd_config\.d\/70-force\.conf:2 \(Match block at line 1\)\) runs instead of any shell/);
        assert.equal(await host.consoleOk("sha256sum /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*; ls /var/lib/sshremedy/snapshots 2>/dev/null || true"), before);
    });
});

describe("[gate-account] the account: reported by name unless the declaration says to repair it", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    const newStack = stacksPerTest();

    const accountFiles = (host: TestHost) => host.consoleOk("sha256sum /etc/passwd /etc/shadow; ls /var/lib/sshremedy/snapshots 2>/dev/null || true");

    it("[gate-account] a login shell of /usr/sbin/nologin and an expired account: left alone with the cause and the command, then repaired once declared", async () => {
        const host = await newHost();
        await host.consoleOk("usermod -s /usr/sbin/nologin alice && chage -E 0 alice");
        const login = { user: "alice", keys: [(await ensureClientKeys()).main] };
        assert.equal((await sshLogin({ address: host.address, ...login })).ok, false);
        const before = await accountFiles(host);

        const stack = await newStack([{ host }]);
        const refused = await stack.up();
        assert.notEqual(refused.code, 0, `a declaration that does not allow it changed the account:\n${refused.stdout}`);
        const said = refused.stdout + refused.stderr;
        assert.match(said, /usermod -s \/bin\/\w+ alice|account: \{ shell:/, "the report does not give the fix");
        assert.match(said, /nologin/);
        assert.match(said, /expire/i);
        assert.equal(await accountFiles(host), before, "the host changed although the declaration did not allow it");

        await setHosts(stack, [{ host, extra: { account: { shell: "/bin/bash", unlock: true } } }]);
        const repaired = await stack.up();
        assert.equal(repaired.code, 0, `pulumi up with the account declared failed:\n${repaired.stdout}\n${repaired.stderr}`);
        assert.ok((await sshLogin({ address: host.address, ...login })).ok, "the login still fails");
    });

    it("[gate-account] /etc/nologin: refused for alice, removed when declared", async () => {
        const host = await newHost();
        await host.consoleOk("echo 'maintenance until noon' > /etc/nologin");
        const login = { user: "alice", keys: [(await ensureClientKeys()).main] };
        assert.equal((await sshLogin({ address: host.address, ...login })).ok, false);
        const stack = await newStack([{ host, extra: { account: { removeNologin: true } } }]);
        const up = await stack.up();
        assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
        assert.ok((await sshLogin({ address: host.address, ...login })).ok);
        assert.equal((await host.console("test -e /etc/nologin")).code, 1);
    });
});
