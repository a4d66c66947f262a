import { strict as assert } from "assert";
import { ensureClientKeys, TestHost } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { stacksPerTest } from "../harness/stacks";
import { sshLogin } from "../harness/ssh";

/**
 * The network path on the host, through index.ts with the smallest declaration: chain policies as
 * well as rules, in any table, and the port sshd really listens on, end to end.
 */
describe("[gate-network] the login's port is open from its source, end to end", function () {
    this.timeout(600_000);
    const newHost = hostsPerTest();
    const newStack = stacksPerTest();

    const shapes: { title: string; breaks: string; gate: string; evidence: RegExp }[] = [
        {
            title: "iptables INPUT policy DROP with no rule for SSH",
            breaks: "iptables -P INPUT DROP",
            gate: "firewall-allowlist",
            evidence: /^iptables filter INPUT blocks .* → tcp 22: :INPUT DROP \(policy\)$/,
        },
        {
            title: "an nftables chain of another table with policy drop",
            breaks: "nft add table inet lockdown && nft add chain inet lockdown input '{ type filter hook input priority 0; policy drop; }'",
            gate: "firewall-allowlist",
            evidence: /^nft inet lockdown input \(hook input\) blocks .* → tcp 22: inet lockdown input policy drop$/,
        },
        {
            title: "a drop-in moves sshd to port 2222 while the login comes to 22",
            breaks: "printf 'Port 2222\\n' > /etc/ssh/sshd_config.d/40-port.conf && systemctl restart ssh.service",
            gate: "sshd-config",
            evidence: /40-port\.conf: \+ Port 22$/,
        },
    ];

    for (const s of shapes) {
        it(`[gate-network] ${s.title}: refused, then repaired by one pulumi up`, async () => {
            const host: TestHost = await newHost();
            await host.consoleOk(s.breaks);
            const login = { user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 };
            assert.equal((await sshLogin({ address: host.address, ...login })).ok, false, "the shape did not break the login");
            const stack = await newStack([{ host }]);
            const up = await stack.up();
            assert.equal(up.code, 0, `pulumi up failed:\n${up.stdout}\n${up.stderr}`);
            assert.ok((await sshLogin({ address: host.address, ...login })).ok, "the login still fails");
            const result = ((await stack.outputs()).results as Record<string, { evidence: Record<string, string[]> }>)[host.name];
            assert.ok((result.evidence[s.gate] ?? []).some((l) => s.evidence.test(l)), `no ${s.gate} evidence matching ${s.evidence} in ${JSON.stringify(result.evidence)}`);
        });
    }
});
