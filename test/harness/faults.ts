import * as net from "net";
import { shellQuote } from "../../components/core/quote";
import { ExecResult, runOk } from "./exec";
import { ensureClientKeys, probeBanner, sleep, TestHost, testUsers } from "./lab";
import { LoginAttempt } from "./ssh";

/**
 * Fault injectors for the catalogue in DESIGN.md (S1–S15): each breaks a healthy test host the
 * way the vendor guide describes and says which login now fails and with what the client prints.
 * S9 (SELinux) has no injector: this kernel has no SELinux.
 */

export type FaultId =
    | "S1" | "S2" | "S3" | "S4" | "S5" | "S6" | "S7" | "S8"
    | "S10" | "S11" | "S12" | "S13" | "S14" | "S15";

export interface InjectedFault {
    readonly id: FaultId;
    readonly variant: string;
    /** The login that worked before and fails now. */
    readonly login: Omit<LoginAttempt, "address">;
    /** What the real ssh client prints, per the guide. */
    readonly symptom: RegExp;
    /** Where sshd itself says why it does not start, for faults that stop it; what it printed. */
    readonly daemonMessage?: RegExp;
    /** Output of the service manager's restart, when the fault involved one. */
    readonly restart?: ExecResult;
    /** Frees anything the fault holds open from the machine's side (S8's connections). */
    release(): void;
}

const sshdConfig = "/etc/ssh/sshd_config";

/** Appends directives to the main sshd_config, as an operator editing it by hand would. */
async function appendDirectives(host: TestHost, lines: readonly string[]): Promise<void> {
    await host.consoleOk(`printf '%s\\n' ${lines.map((l) => shellQuote(l)).join(" ")} >> ${sshdConfig}`);
}


const nothingHeld = () => undefined;
const permissionDenied = /Permission denied/;
const refused = /Connection refused/;

/** Rules in sshd_config that refuse a user: one fault each, same shape. */
const configFaults: Partial<Record<FaultId, { lines: string[]; user: keyof typeof testUsers; password?: boolean; symptom: RegExp }>> = {
    S1: { lines: ["AllowUsers bob"], user: "alice", symptom: permissionDenied },
    S2: { lines: ["DenyUsers alice"], user: "alice", symptom: permissionDenied },
    S3: { lines: ["AllowGroups bob"], user: "alice", symptom: permissionDenied },
    S4: { lines: ["DenyGroups sshusers"], user: "alice", symptom: permissionDenied },
    S5: { lines: ["PasswordAuthentication no"], user: "alice", password: true, symptom: /Permission denied \(publickey\)/ },
    S10: { lines: ["PermitRootLogin no"], user: "root", symptom: permissionDenied },
};

export type S7Variant = "iptables" | "nftables" | "fail2ban" | "firewalld";
export type S14Variant = "inet6-on-ipv4-host" | "foreign-listen-address" | "socket-listen-address";
export type S15Variant = "encoding" | "typo";

export interface InjectOptions {
    readonly s7?: S7Variant;
    readonly s14?: S14Variant;
    readonly s15?: S15Variant;
    /** S12: the shared library file name to remove. Defaults to libwrap.so.0 (sshd's alone). */
    readonly library?: string;
    /** S13: the PAM module to remove. Defaults to pam_loginuid.so. */
    readonly pamModule?: string;
}

/** The login a fault breaks: the tests prove it works before the injection and fails after. */
export async function faultLogin(id: FaultId): Promise<Omit<LoginAttempt, "address">> {
    const keys = await ensureClientKeys();
    const simple = configFaults[id];
    if (simple?.password) {
        return { user: simple.user, password: testUsers[simple.user].password };
    }
    if (id === "S11") {
        // Three keys the server does not know come first, as with a loaded agent.
        return { user: "alice", keys: [...keys.extra, keys.main] };
    }
    return { user: simple?.user ?? "alice", keys: [keys.main] };
}

export async function injectFault(host: TestHost, id: FaultId, opts: InjectOptions = {}): Promise<InjectedFault> {
    const simple = configFaults[id];
    if (simple) {
        await appendDirectives(host, simple.lines);
        const restart = await host.restartSshd();
        await host.waitForSsh();
        return { id, variant: simple.lines.join("; "), login: await faultLogin(id), symptom: simple.symptom, restart, release: nothingHeld };
    }
    switch (id) {
        case "S6": {
            await host.consoleOk(`echo 'sshd: ALL' >> /etc/hosts.deny`);
            return {
                id, variant: "hosts.deny sshd: ALL", login: await faultLogin(id),
                symptom: /kex_exchange_identification: (read: Connection reset by peer|Connection closed by remote host)/,
                release: nothingHeld,
            };
        }
        case "S7":
            return injectS7(host, opts.s7 ?? "iptables");
        case "S8":
            return injectS8(host);
        case "S11": {
            await appendDirectives(host, ["MaxAuthTries 2"]);
            const restart = await host.restartSshd();
            await host.waitForSsh();
            return {
                id, variant: "MaxAuthTries 2, four keys offered", restart, release: nothingHeld,
                login: await faultLogin(id),
                symptom: /Too many authentication failures/,
            };
        }
        case "S12": {
            const lib = opts.library ?? "libwrap.so.0";
            await host.consoleOk(`set -eu
p=$(ldd /usr/sbin/sshd | awk -v l=${shellQuote(lib)} '$1 == l { print $3 }')
[ -n "$p" ] || { echo "sshd does not link ${lib}" >&2; exit 1; }
rm -f "$(readlink -f "$p")" "$p"`);
            const restart = await host.restartSshd();
            return {
                id, variant: `missing ${lib}`, login: await faultLogin(id), symptom: refused, restart,
                daemonMessage: new RegExp(`error while loading shared libraries: ${lib.replace(/\./g, "\\.")}`),
                release: nothingHeld,
            };
        }
        case "S13": {
            const mod = opts.pamModule ?? "pam_loginuid.so";
            await host.consoleOk(`set -eu
grep -q ${shellQuote(mod)} /etc/pam.d/sshd
rm -f /lib/x86_64-linux-gnu/security/${mod} /usr/lib/x86_64-linux-gnu/security/${mod}`);
            return {
                id, variant: `missing ${mod}`, login: await faultLogin(id), release: nothingHeld,
                // Key accepted, then the session cannot open: the client gets no shell and exit 254.
                symptom: /\[exit 254\]/,
                daemonMessage: new RegExp(`PAM unable to dlopen\\(${mod.replace(/\./g, "\\.")}\\)`),
            };
        }
        case "S14": {
            const variant = opts.s14 ?? "foreign-listen-address";
            if (variant === "socket-listen-address") {
                // Socket activation: the socket unit binds, so the same mistake sits in its drop-in.
                await host.consoleOk(`mkdir -p /etc/systemd/system/ssh.socket.d
printf '[Socket]\\nListenStream=\\nListenStream=198.19.255.254:22\\n' > /etc/systemd/system/ssh.socket.d/listen.conf
systemctl daemon-reload; systemctl stop ssh.service; systemctl restart ssh.socket || true`);
                return {
                    id, variant, login: await faultLogin(id), symptom: refused,
                    restart: await host.console("systemctl status ssh.socket --no-pager"),
                    daemonMessage: /Cannot assign requested address/, release: nothingHeld,
                };
            }
            if (variant === "inet6-on-ipv4-host") {
                // A container may not write /proc/sys; the namespace's own sysctls are set from outside.
                await runOk(["ip", "netns", "exec", host.netns, "sysctl", "-q", "-w",
                    "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                    "net.ipv6.conf.lo.disable_ipv6=1", "net.ipv6.conf.eth0.disable_ipv6=1"]);
                await appendDirectives(host, ["AddressFamily inet6"]);
            } else {
                // An address of the test range that no host holds: binding it fails locally.
                await appendDirectives(host, ["ListenAddress 198.19.255.254"]);
            }
            const restart = await host.restartSshd();
            // On an IPv4-only host sshd starts but listens on IPv6 alone (the guide's "Cannot bind
            // any address" needs a kernel without IPv6); a ListenAddress it does not hold cannot bind.
            return {
                id, variant, login: await faultLogin(id), symptom: refused, restart,
                daemonMessage: variant === "foreign-listen-address" ? /Cannot bind any address/ : undefined,
                release: nothingHeld,
            };
        }
        case "S15": {
            const variant = opts.s15 ?? "encoding";
            // A directive pasted from a web page carries a no-break space (U+00A0) that sshd does
            // not take for white space; a typo is the other common way to the same error.
            const bad = variant === "encoding" ? "PasswordAuthentication\u00a0 no" : "PermitRootLogn no";
            await host.consoleOk(`sed -i '1a\\${bad}' ${sshdConfig}`);
            const restart = await host.restartSshd();
            return {
                id, variant, login: await faultLogin(id), symptom: refused, restart,
                daemonMessage: /line 2: Bad configuration option[\s\S]*terminating, 1 bad configuration options/,
                release: nothingHeld,
            };
        }
        default:
            throw new Error(`no injector for ${id}`);
    }
}

async function injectS7(host: TestHost, variant: S7Variant): Promise<InjectedFault> {
    const src = host.peerAddress;
    switch (variant) {
        case "iptables":
            await host.consoleOk(`iptables -I INPUT -p tcp --dport 22 -s ${src} -j REJECT --reject-with tcp-reset`);
            break;
        case "nftables":
            await host.consoleOk(`nft -f - <<'EOF'
table inet guard {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr ${src} tcp dport 22 reject with tcp reset
  }
}
EOF`);
            break;
        case "firewalld":
            // The zone no longer admits the ssh service: firewalld's own default rejects the port.
            await host.consoleOk("firewall-cmd -q --permanent --remove-service=ssh && firewall-cmd -q --reload");
            break;
        case "fail2ban":
            await host.consoleOk(`set -eu
cat > /etc/fail2ban/jail.d/sshremedy-test.conf <<'EOF'
[sshd]
enabled = true
backend = systemd
banaction = iptables-multiport
EOF
systemctl start fail2ban.service
for i in $(seq 100); do fail2ban-client status sshd >/dev/null 2>&1 && break; sleep 0.1; done
fail2ban-client set sshd banip ${src} >/dev/null
# The ban runs in fail2ban's action thread; wait until its rule is in place.
for i in $(seq 100); do iptables -S 2>/dev/null | grep -q -- "-s ${src}/32" && exit 0; sleep 0.1; done
echo "fail2ban did not install its ban" >&2; exit 1`);
            break;
    }
    return {
        id: "S7", variant, login: await faultLogin("S7"),
        symptom: variant === "fail2ban" ? /Connection refused/ : /Connection (refused|reset by peer)|Connection closed/,
        release: nothingHeld,
    };
}

/**
 * Opens `count` connections that send their banner and then stall in key exchange: unauthenticated
 * for LoginGraceTime, which is what MaxStartups counts. With `untilRefused`, only connections that
 * make sshd refuse new ones are kept (the count belongs to the listening sshd: should it be
 * restarted meanwhile, seen under load, they are opened again); none when it never refuses.
 * Otherwise they are kept once sshd has answered each with its banner.
 */
export async function holdUnauthenticated(host: TestHost, count: number, opts: { untilRefused?: boolean } = {}): Promise<net.Socket[]> {
    for (let attempt = 0; attempt < 5; attempt++) {
        const socks = await Promise.all(Array.from({ length: count }, () => new Promise<net.Socket>((resolve) => {
            const sock = net.connect({ host: host.address, port: 22 }, () => sock.write("SSH-2.0-sshremedy-hold\r\n"));
            sock.on("error", () => undefined);
            // sshd speaks first; a connection refused at once never shows its banner.
            sock.once("data", () => resolve(sock));
            sock.once("close", () => resolve(sock));
            setTimeout(() => resolve(sock), 2_000);
        })));
        if (!opts.untilRefused) {
            return socks;
        }
        const deadline = Date.now() + 3_000;
        let dropped = 0;
        while (dropped < 3 && Date.now() < deadline) {
            dropped = (await probeBanner(host.address, 22, 1_000)) ? 0 : dropped + 1;
            await sleep(150);
        }
        if (dropped >= 3) {
            return socks;
        }
        socks.forEach((x) => x.destroy());
    }
    return [];
}

/** How many of the held connections sshd still keeps open. */
export function stillOpen(socks: readonly net.Socket[]): number {
    return socks.filter((x) => !x.destroyed && x.readyState === "open").length;
}

async function injectS8(host: TestHost): Promise<InjectedFault> {
    // MaxStartups 1: once one connection sits unauthenticated, sshd drops every new one.
    await appendDirectives(host, ["MaxStartups 1"]);
    const restart = await host.restartSshd();
    await host.waitForSsh();
    const held = await holdUnauthenticated(host, 3, { untilRefused: true });
    if (held.length === 0) {
        throw new Error("S8: sshd kept answering new connections with MaxStartups 1 and connections held open");
    }
    return {
        id: "S8", variant: "MaxStartups 1 with unauthenticated connections held", restart,
        login: await faultLogin("S8"),
        symptom: /kex_exchange_identification: (read: Connection reset by peer|Connection closed by remote host)|Connection reset/,
        release: () => held.forEach((s) => s.destroy()),
    };
}
