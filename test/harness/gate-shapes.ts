import type { Flavour } from "./lab";

/** One way a real host breaks alice's key login, and what the repair must show for it. */
export interface GateShape {
    readonly title: string;
    /**
     * Console script that breaks the host (its exit status is not checked: a failing restart is
     * part of some shapes). It may use `$SSHD_UNIT` and `restart_sshd`, which fit the host's flavour.
     */
    readonly breaks: string;
    /** The flavours the shape exists on. Defaults to every flavour. */
    readonly flavours?: readonly Flavour[];
    /** The client's words for the refusal, when they matter. */
    readonly symptom?: RegExp;
    /** A line of `evidence[gate]` the run must export. */
    readonly evidence?: { readonly gate: string; readonly line: RegExp };
    /** What sshd_config and its drop-ins must read afterwards. */
    readonly files?: RegExp;
    /** A console command that must succeed afterwards. */
    readonly after?: string;
}

/**
 * The gates' shapes, by tag: the same causes as the catalogue's, in the places real hosts put
 * them. Each test file runs its tag's shapes one host at a time on Debian's defaults; the flavour
 * sweep runs every shape on every other flavour, all hosts of a flavour under one `pulumi up`.
 */
export const gateShapes: Readonly<Record<string, readonly GateShape[]>> = {
    "gate-sshd": [
        {
            title: "DenyUsers alice in a drop-in",
            breaks: "printf 'DenyUsers mallory alice\\n' > /etc/ssh/sshd_config.d/50-deny.conf && restart_sshd",
            evidence: { gate: "sshd-config", line: /\/etc\/ssh\/sshd_config\.d\/50-deny\.conf: \+ DenyUsers mallory$/ },
            files: /^DenyUsers mallory$/m,
        },
        {
            title: "PubkeyAuthentication no in a Match User block of the main file",
            breaks: "printf 'Match User alice\\n    PubkeyAuthentication no\\n' >> /etc/ssh/sshd_config && restart_sshd",
            evidence: { gate: "sshd-config", line: /\/etc\/ssh\/sshd_config: \+ +PubkeyAuthentication yes$/ },
            files: /^Match User alice\n +# sshremedy: PubkeyAuthentication no refuses the key login .*\n +PubkeyAuthentication yes$/m,
        },
        {
            title: "AllowUsers bob in a Match Address block of a drop-in",
            breaks: "printf 'Match Address 198.18.0.0/15\\n    AllowUsers bob\\n' > /etc/ssh/sshd_config.d/60-office.conf && restart_sshd",
            evidence: { gate: "sshd-config", line: /60-office\.conf: \+ +AllowUsers bob alice$/ },
            files: /^ +AllowUsers bob alice$/m,
        },
    ],
    "gate-network": [
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
            breaks: "printf 'Port 2222\\n' > /etc/ssh/sshd_config.d/40-port.conf && restart_sshd",
            flavours: ["systemd", "sysv", "rhel"],
            evidence: { gate: "sshd-config", line: /40-port\.conf: \+ Port 22$/ },
        },
        {
            title: "a drop-in's ListenAddress carries its own port 2222 (it wins over Port)",
            breaks: "printf 'ListenAddress 0.0.0.0:2222\\n' > /etc/ssh/sshd_config.d/40-listen.conf && restart_sshd",
            flavours: ["systemd", "sysv", "rhel"],
        },
        {
            title: "the socket unit moved to port 2222 while the login comes to 22", flavours: ["socket"],
            breaks: "mkdir -p /etc/systemd/system/ssh.socket.d && printf '[Socket]\\nListenStream=\\nListenStream=2222\\n' > /etc/systemd/system/ssh.socket.d/port.conf && systemctl daemon-reload && systemctl stop ssh.service && systemctl restart ssh.socket",
            evidence: { gate: "sshd-runtime", line: /^ssh\.socket listens on 2222 \(\/etc\/systemd\/system\/ssh\.socket\.d\/port\.conf:3\), not on the login's port 22/ },
        },
        {
            title: "firewalld's zone lost the ssh service", flavours: ["rhel"],
            breaks: "firewall-cmd -q --permanent --remove-service=ssh && firewall-cmd -q --reload",
            symptom: /No route to host/,
            evidence: { gate: "firewall-allowlist", line: /^firewalld zone public \(runtime\) lacks: rule priority="-32768" family="ipv4" source address="198\.18\./ },
        },
        {
            title: "a firewalld rich rule rejects the login's source", flavours: ["rhel"],
            breaks: "firewall-cmd -q --permanent --add-rich-rule=\"rule family=ipv4 source address=198.18.0.0/15 service name=ssh reject\" && firewall-cmd -q --reload",
            evidence: { gate: "firewall-allowlist", line: /^firewalld zone public \(permanent\) lacks: / },
        }
    ],
    "gate-daemon": [
        { title: "sshd_config deleted", breaks: "rm /etc/ssh/sshd_config && restart_sshd || true" },
        { title: "sshd_config saved with a byte-order mark (sshd: no argument after keyword \"\\357\\273\\277\")", breaks: "printf '\\357\\273\\277' | cat - /etc/ssh/sshd_config > /tmp/c && cat /tmp/c > /etc/ssh/sshd_config && restart_sshd || true" },
        { title: "the ssh unit stopped and disabled", breaks: "systemctl disable --now \"$SSHD_UNIT\"", after: "systemctl is-enabled \"$SSHD_UNIT\"", flavours: ["systemd", "rhel"] },
        {
            title: "every host key deleted, sshd down", breaks: "rm -f /etc/ssh/ssh_host_*; restart_sshd || true",
            evidence: { gate: "sshd-runtime", line: /^no host key sshd can load .*; generate with ssh-keygen -A$/ },
        },
        {
            title: "ssh.socket and ssh.service both stopped and disabled", flavours: ["socket"],
            breaks: "systemctl disable --now ssh.socket ssh.service", after: "systemctl is-enabled ssh.service || systemctl is-enabled ssh.socket",
        },
    ],
    "gate-key": [
        {
            title: "the key is gone from authorized_keys (another key is left)",
            breaks: "ssh-keygen -q -t ed25519 -N '' -f /tmp/other && cp /tmp/other.pub /home/alice/.ssh/authorized_keys",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /\/home\/alice\/\.ssh\/authorized_keys: does not hold the login key ssh-ed25519 for alice .*as sshd -T says/ },
        },
        {
            title: "~/.ssh is gone altogether",
            breaks: "rm -rf /home/alice/.ssh",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /\/home\/alice\/\.ssh\/authorized_keys: is absent, so it cannot hold the login key/ },
        },
        {
            title: "~/.ssh is world-writable (StrictModes)",
            breaks: "chmod 0777 /home/alice/.ssh",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /\/home\/alice\/\.ssh: a directory above the key file mode 0777 is group- or world-writable, which StrictModes refuses; chmod 0755/ },
        },
        {
            title: "the home directory is writable by a shared group (StrictModes)",
            breaks: "chgrp users /home/alice && chmod 0775 /home/alice",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /\/home\/alice: a directory above the key file mode 0775 is group- or world-writable/ },
        },
        {
            title: "authorized_keys belongs to another user (StrictModes)",
            breaks: "chown bob:bob /home/alice/.ssh/authorized_keys",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /authorized_keys: the key file owned by uid \d+, not alice or root, which StrictModes refuses; chown/ },
        },
        {
            title: "a drop-in moves AuthorizedKeysFile to a file the key is not in",
            breaks: "printf 'AuthorizedKeysFile .ssh/keys_from_dropin\\n' > /etc/ssh/sshd_config.d/10-keys.conf && restart_sshd",
            symptom: /Permission denied/,
            evidence: { gate: "login-key", line: /\/home\/alice\/\.ssh\/keys_from_dropin: is absent, so it cannot hold the login key/ },
        },
    ],
};
