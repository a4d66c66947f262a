import { strict as assert } from "assert";
import { ensureClientKeys, TestHost } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { stacksPerTest } from "../harness/stacks";
import { sshLogin } from "../harness/ssh";

/** The daemon gate through index.ts with the smallest declaration: sshd able to start and to stay up. */
describe("[gate-daemon] sshd has a configuration it can read, and starts with the host", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    const newStack = stacksPerTest();

    const shapes: { title: string; breaks: string; after?: string }[] = [
        { title: "sshd_config deleted", breaks: "rm /etc/ssh/sshd_config && systemctl restart ssh.service || true" },
        { title: "sshd_config saved with a byte-order mark (sshd: no argument after keyword \"\\357\\273\\277\")", breaks: "printf '\\357\\273\\277' | cat - /etc/ssh/sshd_config > /tmp/c && cat /tmp/c > /etc/ssh/sshd_config && systemctl restart ssh.service || true" },
        { title: "the ssh unit stopped and disabled", breaks: "systemctl disable --now ssh.service", after: "systemctl is-enabled ssh.service" },
    ];

    for (const s of shapes) {
        it(`[gate-daemon] ${s.title}: refused, then repaired by one pulumi up`, async () => {
            const host: TestHost = await newHost();
            await host.console(s.breaks);
            const login = { user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 };
            assert.equal((await sshLogin({ address: host.address, ...login })).ok, false, "the shape did not break the login");
            const stack = await newStack([{ host }]);
            const up = await stack.up();
            assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
            assert.ok((await sshLogin({ address: host.address, ...login })).ok, "the login still fails");
            if (s.after) assert.equal((await host.console(s.after)).code, 0, `${s.after} fails after the repair`);
        });
    }
});
