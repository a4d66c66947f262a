import { GateShape, itRepairs } from "../harness/gates";

/**
 * The network path on the host, through index.ts with the smallest declaration: chain policies as
 * well as rules, in any table, and the port sshd really listens on, end to end.
 */
describe("[gate-network] the login's port is open from its source, end to end", function () {
    this.timeout(600_000);
    const shapes: GateShape[] = [
        {
            title: "iptables INPUT policy DROP with no rule for SSH",
            breaks: "iptables -P INPUT DROP",
            evidence: { gate: "firewall-allowlist", line: /^iptables filter INPUT blocks .* → tcp 22: :INPUT DROP \(policy\)$/ },
        },
        {
            title: "an nftables chain of another table with policy drop",
            breaks: "nft add table inet lockdown && nft add chain inet lockdown input '{ type filter hook input priority 0; policy drop; }'",
            evidence: { gate: "firewall-allowlist", line: /^nft inet lockdown input \(hook input\) blocks .* → tcp 22: inet lockdown input policy drop$/ },
        },
        {
            title: "a drop-in moves sshd to port 2222 while the login comes to 22",
            breaks: "printf 'Port 2222\\n' > /etc/ssh/sshd_config.d/40-port.conf && systemctl restart ssh.service",
            evidence: { gate: "sshd-config", line: /40-port\.conf: \+ Port 22$/ },
        },
    ];

    itRepairs("gate-network", shapes);
});
