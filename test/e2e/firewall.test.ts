import { strict as assert } from "assert";
import { firewallAllowlistConcern } from "../../components/firewall-allowlist/firewall-allowlist";
import { injectFault, type S7Variant } from "../harness/faults";
import { ensureClientKeys, TestHost } from "../harness/lab";
import { hostsPerTest } from "../harness/per-test";
import { probeAndPlan, runPhase } from "../harness/phases";
import { sshLogin } from "../harness/ssh";

/** The firewall probe and apply scripts on real test hosts (iptables on its nf_tables backend, nft, fail2ban). */



/** Every rule on the host that is not about the SSH port, as iptables and nft print them. */
async function otherRules(host: TestHost): Promise<string> {
    return host.consoleOk("{ iptables -S; nft list ruleset; } | grep -v 'dport 22' | grep -v sshremedy | grep -v '^-A f2b' | grep -v 'counter packets'");
}

describe("FirewallAllowlist scripts on real hosts", function () {
    this.timeout(60_000);
    const newHost = hostsPerTest();

    for (const variant of ["iptables", "nftables", "fail2ban"] as S7Variant[]) {
        it(`[S7] ${variant}: the block is overridden for the allowlisted source only, login works, a re-run changes nothing, port 80 rules are untouched`, async () => {
            const host = await newHost();
            await host.consoleOk("iptables -A INPUT -p tcp --dport 80 -j DROP && nft add table inet web && " +
                "nft 'add chain inet web input { type filter hook input priority 10; }' && nft add rule inet web input tcp dport 80 drop");
            const fault = await injectFault(host, "S7", { s7: variant });
            const broken = await sshLogin({ address: host.address, ...fault.login, connectTimeoutSec: 3 });
            assert.equal(broken.ok, false);
            assert.match(broken.symptom, fault.symptom);
            const others = await otherRules(host);

            const concern = firewallAllowlistConcern({ allow: [host.peerAddress, "203.0.113.0/24"], verifyingSource: host.peerAddress });
            const p = (await probeAndPlan(host, concern)).plan;
            assert.equal(p.pending, true);
            assert.ok(p.drift.some((d) => d.includes(`blocks ${host!.peerAddress}`) || d.includes(`bans ${host!.peerAddress}`)), p.drift.join("\n"));
            await runPhase(host, p.apply);

            const login = await sshLogin({ address: host.address, ...fault.login, connectTimeoutSec: 3 });
            assert.ok(login.ok, login.symptom);
            const again = (await probeAndPlan(host, concern)).plan;
            assert.equal(again.pending, false, again.drift.join("\n"));
            assert.equal(await otherRules(host), others);
            // Only the source is let through: the blocking rule itself is still there for everyone else.
            const state = await host.consoleOk("iptables -S; nft list ruleset");
            if (variant === "iptables") assert.match(state, /-j REJECT --reject-with tcp-reset/);
            if (variant === "nftables") assert.match(state, /reject with tcp reset/);
            if (variant === "fail2ban") {
                assert.equal((await host.consoleOk("fail2ban-client get sshd banned")).trim(), "[]");
                assert.match(await host.consoleOk("fail2ban-client get sshd ignoreip"), new RegExp(host.peerAddress.replace(/\./g, "\\.")));
                await host.consoleOk(`fail2ban-client set sshd banip ${host.peerAddress} >/dev/null || true`);
                const rebanned = await sshLogin({ address: host.address, ...fault.login, connectTimeoutSec: 3 });
                assert.ok(rebanned.ok, `an ignored source was banned again: ${rebanned.symptom}`);
            }
        });
    }

    it("[S7] nftables persisted in /etc/nftables.conf: the accept is included there and survives `nft -f`", async () => {
        const host = await newHost();
        await host.consoleOk(`cat >> /etc/nftables.conf <<'EOF'
table inet guard {
  chain input {
    type filter hook input priority 0; policy drop;
    tcp dport 22 drop
  }
}
table inet guard {
  chain input {
    type filter hook input priority 0; policy drop;
    tcp dport 22 drop
  }
}
EOF
nft -f /etc/nftables.conf`);
        const concern = firewallAllowlistConcern({ allow: [host.peerAddress] });
        const p = (await probeAndPlan(host, concern)).plan;
        assert.ok(p.paths.includes("/etc/nftables.conf") && p.paths.includes("/etc/nftables.d/sshremedy.nft"), p.paths.join(" "));
        await runPhase(host, p.apply);
        await host.consoleOk("nft -f /etc/nftables.conf");
        const login = await sshLogin({ address: host.address, user: "alice", keys: [(await ensureClientKeys()).main], connectTimeoutSec: 3 });
        assert.ok(login.ok, login.symptom);
        assert.equal((await probeAndPlan(host, concern)).plan.pending, false);
    });

    it("[S7] iptables with a netfilter-persistent rules file: the accept is saved there too, once", async () => {
        const host = await newHost();
        await injectFault(host, "S7", { s7: "iptables" });
        await host.consoleOk("mkdir -p /etc/iptables && iptables-save > /etc/iptables/rules.v4");
        const concern = firewallAllowlistConcern({ allow: [host.peerAddress] });
        const p = (await probeAndPlan(host, concern)).plan;
        assert.ok(p.paths.includes("/etc/iptables/rules.v4"));
        await runPhase(host, p.apply);
        assert.match(await host.consoleOk("cat /etc/iptables/rules.v4"), /--comment sshremedy -j ACCEPT/);
        await host.consoleOk("iptables-restore < /etc/iptables/rules.v4");
        assert.equal((await probeAndPlan(host, concern)).plan.pending, false);
        await runPhase(host, p.apply);
        assert.equal(await host.consoleOk("iptables -S INPUT | grep -c sshremedy"), "1\n", "a second apply added a duplicate");
    });
});
