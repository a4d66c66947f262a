import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { firewallAllowlistConcern, type FirewallAllowlistArgs, richRule } from "../../../components/firewall-allowlist/firewall-allowlist";
import { parseSource } from "../../../components/hosts-access/hosts-access";
import { DeclarationError } from "../../../components/core/errors";

/**
 * Probe output captured on a Debian 12 test host (iptables 1.8.9 on nf_tables, nft 1.0.6,
 * fail2ban 1.0.2) with all three S7 variants at once and a port-80 drop, then after the apply.
 */
const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", name), "utf8");
const b64 = (s: string) => Buffer.from(s).toString("base64");
const src = "198.18.0.1";
const concern = (a: Partial<FirewallAllowlistArgs> = {}) => firewallAllowlistConcern({ allow: [src], ...a });
const ops = (out: string, a: Partial<FirewallAllowlistArgs> = {}) => {
    const steps = concern(a).plan(out).apply;
    return steps.length ? String(steps[0].env!.SR_FW_OPS).split("\n") : [];
};
const ipt = (save: string, v = 4) => `iptables=legacy\niptables_save=${v} ${b64(save)}\nnft=absent\nfirewalld=absent\nfailban=absent\n`;
const nft = (objects: unknown[], extra = "") =>
    `iptables=nf_tables\nnft=present\nnft_json=${b64(JSON.stringify({ nftables: objects }))}\nnft_include=absent\nfirewalld=absent\nfailban=absent\n${extra}`;
const table = (lines: string[]) => `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n${lines.join("\n")}\nCOMMIT\n`;
const chain = (table: string, name: string, hook: string | undefined, policy = "accept") =>
    ({ chain: { family: "inet", table, name, handle: 1, ...(hook ? { type: "filter", hook, prio: 0, policy } : {}) } });
const rule = (table: string, chain: string, handle: number, expr: unknown[], comment?: string) =>
    ({ rule: { family: "inet", table, chain, handle, expr, ...(comment ? { comment } : {}) } });
const saddr = (right: unknown) => ({ match: { op: "==", left: { payload: { protocol: "ip", field: "saddr" } }, right } });
const dport = (right: unknown) => ({ match: { op: "==", left: { payload: { protocol: "tcp", field: "dport" } }, right } });

describe("firewallAllowlistConcern: plan from captured probes", () => {
    it("[S7] all three variants at once: fail2ban drop-in, reload and unban first, then one accept per blocking chain, then persistence", () => {
        const plan = concern().plan(fixture("probe-s7-all.txt"));
        assert.equal(plan.pending, true);
        assert.equal(plan.restartSshd, false);
        assert.deepEqual(String(plan.apply[0].env!.SR_FW_OPS).split("\n"), [
            "f2b-dropin", "f2b-reload", `unban sshd ${src}`,
            `ipt-accept 4 filter INPUT ${src}/32 22`,
            `nft-accept inet guard input ip ${src}/32 22`,
            "nft-persist /etc/nftables.conf",
        ]);
        assert.deepEqual(plan.paths, ["/etc/fail2ban/jail.d/sshremedy.local", "/etc/nftables.d/sshremedy.nft", "/etc/nftables.conf"]);
        assert.match(String(plan.apply[0].env!.SR_NFT_INCLUDE), /^insert rule inet guard input ip saddr 198\.18\.0\.1 tcp dport 22 counter accept comment "sshremedy"$/m);
        assert.match(String(plan.apply[0].env!.SR_F2B_DROPIN), /^\[sshd\]\nignoreip = 127\.0\.0\.0\/8 ::1 198\.18\.0\.1$/m);
        // The port-80 drop and iptables-nft's own table are nobody's business here.
        assert.ok(plan.drift.every((d) => !/dport 80|ip filter/.test(d)), plan.drift.join("\n"));
    });

    it("[S7] converged host: nothing pending", () => {
        const plan = concern().plan(fixture("probe-s7-all-fixed.txt"));
        assert.equal(plan.pending, false, plan.drift.join("\n"));
        assert.deepEqual(plan.apply, []);
    });
});

describe("firewallAllowlistConcern: iptables", () => {
    it("follows jumps into user chains (fail2ban's f2b-*) and ignores other ports, sources and protocols", () => {
        const save = table([":f2b-sshd - [0:0]",
            "-A INPUT -p tcp -m tcp --dport 80 -j DROP", "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j DROP",
            "-A INPUT -p udp -m udp --dport 22 -j DROP", "-A INPUT -p tcp -m multiport --dports 22,2222 -j f2b-sshd",
            `-A f2b-sshd -s ${src}/32 -j REJECT --reject-with icmp-port-unreachable`, "-A f2b-sshd -j RETURN"]);
        assert.deepEqual(ops(ipt(save)), [`ipt-accept 4 filter INPUT ${src}/32 22`]);
        assert.deepEqual(ops(ipt(save), { port: 2200 }), []);
        assert.deepEqual(ops(ipt(save), { allow: ["192.0.2.0/24"] }), []);
    });

    it("counts a DROP policy and rules it cannot judge (conntrack, negation) as blocks, and an accept ahead as a pass", () => {
        assert.deepEqual(ops(ipt(table([]).replace(":INPUT ACCEPT", ":INPUT DROP"))), [`ipt-accept 4 filter INPUT ${src}/32 22`]);
        assert.equal(ops(ipt(table(["-A INPUT -m conntrack --ctstate NEW -j DROP"]))).length, 1);
        assert.equal(ops(ipt(table(["-A INPUT ! -s 192.0.2.1/32 -j DROP"]))).length, 1);
        assert.deepEqual(ops(ipt(table(["-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", "-A INPUT -j DROP"]))), []);
    });

    it("a tagged accept at the top is converged; one below a block is moved up", () => {
        const ours = `-A INPUT -s ${src}/32 -p tcp -m tcp --dport 22 -m comment --comment sshremedy -j ACCEPT`;
        const block = `-A INPUT -s ${src}/32 -p tcp -m tcp --dport 22 -j REJECT --reject-with tcp-reset`;
        assert.deepEqual(ops(ipt(table([ours, block]))), []);
        assert.deepEqual(ops(ipt(table([block, ours]))), [`ipt-accept 4 filter INPUT ${src}/32 22`]);
    });

    it("covers raw PREROUTING and IPv6 sources through ip6tables", () => {
        assert.deepEqual(ops(ipt(`*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -s ${src}/32 -j DROP\nCOMMIT\n`)),
            [`ipt-accept 4 raw PREROUTING ${src}/32 22`]);
        assert.deepEqual(ops(ipt(table(["-A INPUT -s 2001:db8::/32 -p tcp -m tcp --dport 22 -j DROP"]), 6), { allow: ["2001:db8:1::/48"] }),
            ["ipt-accept 6 filter INPUT 2001:db8:1::/48 22"]);
    });

    it("saves to the rules file the backend loads when the live rules change or the file lacks them", () => {
        const save = table([`-A INPUT -s ${src}/32 -j DROP`]);
        const withFile = (text: string) => `${ipt(save)}persist=4 /etc/iptables/rules.v4 ${b64(text)}\n`;
        const plan = concern().plan(withFile(save));
        assert.deepEqual(String(plan.apply[0].env!.SR_FW_OPS).split("\n").at(-1), "ipt-persist 4 /etc/iptables/rules.v4");
        assert.deepEqual(plan.paths, ["/etc/iptables/rules.v4"]);
    });
});

describe("firewallAllowlistConcern: nftables", () => {
    it("inserts an accept in every base chain that blocks, whatever its table, and reads named sets", () => {
        const objects = [
            { set: { family: "inet", table: "f2b-table", name: "addr-set-sshd", type: "ipv4_addr", elem: [src] } },
            chain("f2b-table", "f2b-chain", "input"), rule("f2b-table", "f2b-chain", 3, [dport({ set: [22] }), saddr("@addr-set-sshd"), { reject: null }]),
            chain("guard", "pre", "prerouting"), rule("guard", "pre", 4, [saddr({ prefix: { addr: "198.18.0.0", len: 16 } }), { drop: null }]),
            chain("web", "input", "input"), rule("web", "input", 5, [dport(80), { drop: null }]),
        ];
        assert.deepEqual(ops(nft(objects)), [`nft-accept inet f2b-table f2b-chain ip ${src}/32 22`, `nft-accept inet guard pre ip ${src}/32 22`]);
    });

    it("follows jumps, honours policy drop, and is converged once a tagged accept leads the chain", () => {
        const objects = [chain("t", "in", "input", "drop"), chain("t", "sub", undefined),
            rule("t", "in", 2, [{ jump: { target: "sub" } }]), rule("t", "sub", 3, [saddr(src), { drop: null }])];
        assert.deepEqual(ops(nft(objects)), [`nft-accept inet t in ip ${src}/32 22`]);
        const ours = rule("t", "in", 9, [saddr(src), dport(22), { counter: null }, { accept: null }], "sshremedy");
        assert.deepEqual(ops(nft([objects[0], ours, ...objects.slice(1)])), []);
    });

    it("leaves iptables-nft's own tables to iptables and skips chains of other address families", () => {
        const ipFilter = { chain: { family: "ip", table: "filter", name: "INPUT", type: "filter", hook: "input", prio: 0, policy: "drop" } };
        assert.deepEqual(ops(nft([ipFilter])), []);
        const ip6 = { chain: { family: "ip6", table: "t6", name: "in", type: "filter", hook: "input", prio: 0, policy: "drop" } };
        assert.deepEqual(ops(nft([ip6])), []);
    });
});

describe("firewallAllowlistConcern: firewalld and validation", () => {
    it("adds the rich rule the probe found missing, runtime and permanent, in each zone", () => {
        const rule = richRule(parseSource(src)!, 22);
        assert.equal(rule, `rule priority="-32768" family="ipv4" source address="${src}" port port="22" protocol="tcp" accept`);
        const out = `iptables=absent\nnft=absent\nfirewalld=running\nfirewalld_missing=public runtime ${b64(rule)}\nfirewalld_missing=public permanent ${b64(rule)}\nfailban=absent\n`;
        assert.deepEqual(ops(out), [`firewalld runtime public ${rule}`, `firewalld permanent public ${rule}`]);
        assert.equal(concern().probe.env!.SR_FWD_RULES, rule);
    });

    it("refuses bad CIDRs (shell tails, host bits), bad ports, and an allowlist without the verifying source", () => {
        for (const [bad, arg] of [
            [{ allow: [] }, "allow"],
            [{ allow: ["198.18.0.1; reboot"] }, "allow[0]"],
            [{ allow: ["198.18.0.1/32 $(id)"] }, "allow[0]"],
            [{ allow: ["10.0.0.1/8"] }, "allow[0]"],
            [{ allow: ["[2001:db8::]/32"] }, "allow[0]"],
            [{ port: 70000 }, "port"],
            [{ verifyingSource: "192.0.2.9" }, "allow"],
        ] as [Partial<FirewallAllowlistArgs>, string][]) {
            assert.throws(() => concern(bad), (e: unknown) => e instanceof DeclarationError && e.argument === arg, JSON.stringify(bad));
        }
        concern({ allow: ["198.18.0.0/15"], verifyingSource: src });
    });

    it("a probe without its lines is an error", () => {
        assert.throws(() => concern().plan("nft=absent\n"), /printed no iptables= line/);
    });
});
