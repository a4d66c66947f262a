import type { Concern, ConcernPlan } from "../core/concern";
import { fromBase64, lastValue, parseKeyValues, type Step } from "../core/compose";
import { checkSource, hostBits, parseSource, type Source } from "../hosts-access/hosts-access";
import { DeclarationError } from "../core/errors";
import { parseIp } from "../core/ip";

/**
 * FirewallAllowlist: the SSH port open to declared sources on every firewall the host runs,
 * each read as it is, since a packet must pass all of them: every iptables table's input path
 * (filter INPUT and the user chains it jumps to, raw and mangle PREROUTING), every nftables base
 * chain on the input path (an accept in one base chain does not stop another at the same hook),
 * firewalld's zones, and fail2ban's bans. A block is overridden by an accept for (source, tcp
 * port) inserted at the top of the chain that blocks, tagged `sshremedy`; nothing else is touched.
 */

export const TAG = "sshremedy";
export const NFT_INCLUDE = "/etc/nftables.d/sshremedy.nft";
export const F2B_DROPIN = "/etc/fail2ban/jail.d/sshremedy.local";

export interface FirewallAllowlistArgs {
    /** CIDRs or addresses that must reach sshd's port (`198.51.100.7`, `10.0.0.0/8`, `2001:db8::/32`). */
    readonly allow: readonly string[];
    /** The address the verifying login comes from: it must be inside `allow`. Defaults to no check. */
    readonly verifyingSource?: string;
    /** sshd's port. Defaults to 22. */
    readonly port?: number;
}

type Tri = 0 | 1 | 2;
const NO: Tri = 0, MAYBE: Tri = 1, YES: Tri = 2;
const and = (a: Tri, b: Tri) => Math.min(a, b) as Tri;

function within(src: Source, r: Source | undefined): Tri {
    if (!r) return MAYBE;
    if (r.family !== src.family || r.hi < src.lo || src.hi < r.lo) return NO;
    return r.lo <= src.lo && src.hi <= r.hi ? YES : MAYBE;
}

/** What a walk of one chain found for (source, tcp port). */
interface Walk {
    readonly end: "accept" | "block" | "pass";
    /** The rules (or policy) that block, or may block, before anything accepts for sure. */
    readonly blockers: readonly string[];
    /** An `sshremedy` accept for the source is already in the chain. */
    readonly tagged: boolean;
}

// --- iptables ---------------------------------------------------------------------------------

interface IptTable { readonly policies: Map<string, string>; readonly rules: Map<string, string[][]> }

export function parseIptablesSave(text: string): Map<string, IptTable> {
    const tables = new Map<string, IptTable>();
    let cur: IptTable | undefined;
    for (const line of text.split("\n")) {
        if (line.startsWith("*")) tables.set(line.slice(1), cur = { policies: new Map(), rules: new Map() });
        else if (cur && line.startsWith(":")) cur.policies.set(line.slice(1).split(" ")[0], line.split(" ")[1]);
        else if (cur && line.startsWith("-A ")) {
            const words = line.match(/"[^"]*"|\S+/g)!.map((w) => w.replace(/^"|"$/g, ""));
            const chain = cur.rules.get(words[1]) ?? [];
            chain.push(words.slice(2));
            cur.rules.set(words[1], chain);
        }
    }
    return tables;
}

function portIn(spec: string, port: number): Tri {
    return spec.split(",").some((p) => {
        const [a, b = a] = p.split(":").map(Number);
        return a <= port && port <= b;
    }) ? YES : NO;
}

/** Whether an iptables rule's matches hold for (source, tcp port), and its target. */
function iptMatch(w: string[], src: Source, port: number): { m: Tri; target?: string; goto: boolean } {
    let m: Tri = YES, target: string | undefined, goto = false;
    for (let i = 0; i < w.length; i++) {
        const [opt, val] = [w[i], w[i + 1]];
        if (opt === "-j" || opt === "-g") {
            target = val;
            goto = opt === "-g";
            break;
        }
        if (opt === "!") { m = and(m, MAYBE); i++; continue; }
        if (opt === "-s") m = and(m, within(src, parseSource(val)));
        else if (opt === "-p") m = and(m, ["tcp", "6", "all"].includes(val) ? YES : NO);
        else if (opt === "--dport" || opt === "--dports") m = and(m, portIn(val, port));
        else if (opt === "-m" && ["tcp", "multiport", "comment"].includes(val)) { /* no condition of its own */ }
        else if (opt === "--comment") { /* a label */ }
        else if (opt.startsWith("-")) m = and(m, MAYBE);
        else continue;
        i++;
    }
    return { m, target, goto };
}

function walkIpt(t: IptTable, chain: string, src: Source, port: number, depth = 0): Walk {
    const blockers: string[] = [];
    let tagged = false;
    for (const w of t.rules.get(chain) ?? []) {
        const { m, target } = iptMatch(w, src, port);
        if (target === "ACCEPT" && w.includes(TAG) && m === YES) tagged = true;
        if (m === NO || target === undefined) continue;
        const text = `-A ${chain} ${w.join(" ")}`;
        if (target === "ACCEPT" || target === "RETURN") {
            if (m === YES) return { end: target === "ACCEPT" ? "accept" : "pass", blockers, tagged };
        } else if (target === "DROP" || target === "REJECT") {
            blockers.push(text);
            if (m === YES) return { end: "block", blockers, tagged };
        } else if (t.rules.has(target) || t.policies.get(target) === "-") {
            const sub = depth < 16 ? walkIpt(t, target, src, port, depth + 1) : { end: "pass" as const, blockers: [], tagged: false };
            blockers.push(...sub.blockers);
            if (m === YES && sub.end !== "pass") return { end: sub.end, blockers, tagged };
        }
    }
    const policy = t.policies.get(chain);
    if (policy === "DROP") blockers.push(`:${chain} DROP (policy)`);
    return { end: policy === "DROP" ? "block" : "pass", blockers, tagged };
}

/** The base chains a packet for the host passes, in the order the kernel runs them. */
const IPT_INPUT = [["raw", "PREROUTING"], ["mangle", "PREROUTING"], ["mangle", "INPUT"], ["filter", "INPUT"]] as const;
const IPT_TABLES = new Set(["filter", "raw", "mangle", "nat", "security"]);

// --- nftables ---------------------------------------------------------------------------------

/* eslint-disable @typescript-eslint/no-explicit-any -- nft's JSON schema, read defensively */
type Json = any;

interface NftChain { readonly family: string; readonly table: string; readonly name: string; readonly hook?: string; readonly type?: string; readonly prio?: number; readonly policy?: string }

function nftValueRanges(v: Json, sets: Map<string, Json[]>, key: string): Json[] {
    if (typeof v === "string" && v.startsWith("@")) return sets.get(`${key}/${v.slice(1)}`) ?? [];
    if (v && typeof v === "object" && "set" in v) return (v.set as Json[]).flatMap((e) => nftValueRanges(e, sets, key));
    return [v && typeof v === "object" && "elem" in v ? v.elem.val : v];
}

function nftAddr(v: Json): Source | undefined {
    if (typeof v === "string") return parseSource(v);
    if (v?.prefix) return parseSource(`${v.prefix.addr}/${v.prefix.len}`);
    if (v?.range) {
        const [a, b] = v.range.map((x: string) => parseIp(x));
        return a && b && a.family === b.family ? { text: `${v.range[0]}-${v.range[1]}`, family: a.family, lo: a.value, hi: b.value } : undefined;
    }
    return undefined;
}

function nftPort(v: Json, port: number): Tri {
    if (typeof v === "number") return v === port ? YES : NO;
    if (v?.range) return v.range[0] <= port && port <= v.range[1] ? YES : NO;
    return MAYBE;
}

/** One `match` expression for (source, tcp port): NO when it cannot hold, MAYBE when it is not about them. */
function nftCond(e: Json, src: Source, port: number, sets: Map<string, Json[]>, key: string): Tri {
    const { left, right, op } = e.match;
    const any = (vals: Json[], f: (v: Json) => Tri) => vals.reduce<Tri>((acc, v) => Math.max(acc, f(v)) as Tri, NO);
    let m: Tri;
    const p = left?.payload;
    if (p && (p.protocol === "ip" || p.protocol === "ip6") && p.field === "saddr") {
        if ((p.protocol === "ip") !== (src.family === 4)) return NO;
        m = any(nftValueRanges(right, sets, key), (v) => within(src, nftAddr(v)));
    } else if (p && ["tcp", "th"].includes(p.protocol) && p.field === "dport") {
        m = any(nftValueRanges(right, sets, key), (v) => nftPort(v, port));
    } else if (p && ["udp", "sctp", "udplite"].includes(p.protocol)) {
        return NO;
    } else if (left?.meta?.key === "l4proto" || (p?.field === "protocol" || p?.field === "nexthdr")) {
        m = any(nftValueRanges(right, sets, key), (v) => (v === "tcp" || v === 6 ? YES : NO));
    } else {
        return MAYBE;
    }
    return op === "!=" ? (2 - m) as Tri : m;
}

function walkNft(chain: NftChain, rules: Map<string, Json[]>, sets: Map<string, Json[]>, src: Source, port: number, depth = 0): Walk {
    const key = `${chain.family}/${chain.table}`;
    const blockers: string[] = [];
    let tagged = false;
    for (const r of rules.get(`${key}/${chain.name}`) ?? []) {
        let m: Tri = YES;
        let verdict: string | undefined, target: string | undefined;
        for (const e of r.expr as Json[]) {
            if (e.match) m = and(m, nftCond(e, src, port, sets, key));
            else if (e.limit || e.quota) m = and(m, MAYBE);
            else for (const v of ["accept", "drop", "reject", "return", "jump", "goto"]) {
                if (v in e) [verdict, target] = [v, e[v]?.target];
            }
        }
        if (verdict === "accept" && r.comment === TAG && m === YES) tagged = true;
        if (m === NO || verdict === undefined) continue;
        const text = `${chain.family} ${chain.table} ${chain.name} handle ${r.handle}`;
        if (verdict === "accept" || verdict === "return") {
            if (m === YES) return { end: verdict === "accept" ? "accept" : "pass", blockers, tagged };
        } else if (verdict === "drop" || verdict === "reject") {
            blockers.push(text);
            if (m === YES) return { end: "block", blockers, tagged };
        } else if (target && depth < 16) {
            const sub = walkNft({ ...chain, name: target, hook: undefined }, rules, sets, src, port, depth + 1);
            blockers.push(...sub.blockers);
            if (m === YES && (sub.end !== "pass" || verdict === "goto")) return { end: sub.end === "pass" ? "pass" : sub.end, blockers, tagged };
        }
    }
    if (chain.hook && chain.policy === "drop") blockers.push(`${chain.family} ${chain.table} ${chain.name} policy drop`);
    return { end: chain.hook && chain.policy === "drop" ? "block" : "pass", blockers, tagged };
}

// --- probe and plan ---------------------------------------------------------------------------

export interface FirewallProbe {
    readonly iptables: "absent" | "legacy" | "nf_tables";
    readonly iptablesSave: { readonly 4?: string; readonly 6?: string };
    readonly nftJson?: Json;
    readonly firewalld: string;
    readonly firewalldMissing: readonly { zone: string; where: string; rule: string }[];
    readonly fail2ban: string;
    readonly f2bJails: readonly string[];
    readonly f2bBanned: readonly { jail: string; ip: string }[];
    readonly f2bIgnore: ReadonlyMap<string, string[]>;
    readonly f2bDropin: string | null | undefined;
    readonly persist: readonly { v: 4 | 6; path: string; text: string }[];
    readonly nftConf?: { path: string; text: string };
    readonly nftInclude: string | null;
}


export function parseFirewallProbe(stdout: string): FirewallProbe {
    const kv = parseKeyValues(stdout);
    const all = (k: string) => kv.filter(([key]) => key === k).map(([, v]) => v.split(" "));
    const one = (k: string) => lastValue(kv, k);
    const ipt = one("iptables");
    if (ipt === undefined) throw new Error(`firewall probe printed no iptables= line: ${stdout.slice(0, 200)}`);
    const ignore = new Map<string, string[]>();
    for (const [jail, entry] of all("failban_ignoreip")) ignore.set(jail, [...(ignore.get(jail) ?? []), entry]);
    const nft = one("nft_json");
    const conf = all("nft_conf")[0];
    const dropin = one("failban_dropin");
    const include = one("nft_include");
    return {
        iptables: ipt as FirewallProbe["iptables"],
        iptablesSave: Object.fromEntries(all("iptables_save").map(([v, text]) => [v, fromBase64(text ?? "")])),
        nftJson: nft ? JSON.parse(fromBase64(nft)) : undefined,
        firewalld: one("firewalld") ?? "absent",
        firewalldMissing: all("firewalld_missing").map(([zone, where, rule]) => ({ zone, where, rule: fromBase64(rule) })),
        fail2ban: one("failban") ?? "absent",
        f2bJails: all("failban_jail").map(([j]) => j),
        f2bBanned: all("failban_banned").map(([jail, ip]) => ({ jail, ip })),
        f2bIgnore: ignore,
        f2bDropin: dropin === undefined ? undefined : dropin === "absent" ? null : fromBase64(dropin),
        persist: all("persist").map(([v, path, text]) => ({ v: Number(v) as 4 | 6, path, text: fromBase64(text ?? "") })),
        nftConf: conf && { path: conf[0], text: fromBase64(conf[1] ?? "") },
        nftInclude: include === undefined || include === "absent" ? null : fromBase64(include),
    };
}

interface Checked { readonly sources: readonly Source[]; readonly port: number }

const identifier = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const cidrText = (s: Source) => (s.text.includes("/") ? s.text : `${s.text}/${s.family === 4 ? 32 : 128}`);

export function richRule(s: Source, port: number): string {
    return `rule priority="-32768" family="${s.family === 4 ? "ipv4" : "ipv6"}" source address="${s.text}" port port="${port}" protocol="tcp" accept`;
}

/** A jail's own ignoreip entries (as fail2ban printed them) stay, the allowlist is added once. */
export function renderF2bDropin(sources: readonly Source[], probe: FirewallProbe): string {
    const key = (e: string) => {
        const r = hostBits(e);
        return r ? `${r.family}/${r.lo}/${r.hi}` : e;
    };
    const list = (base: readonly string[]) => {
        const seen = new Set<string>();
        return [...base, ...sources.map((s) => s.text)].filter((e) => !seen.has(key(e)) && !!seen.add(key(e))).join(" ");
    };
    return [
        `# ${TAG}: allowlisted sources are never banned (firewall-allowlist). Jails that set their own`,
        "# ignoreip keep it, with the allowlist added.",
        "[DEFAULT]",
        `ignoreip = ${list(["127.0.0.0/8", "::1"])}`,
        ...probe.f2bJails.flatMap((j) => ["", `[${j}]`, `ignoreip = ${list(probe.f2bIgnore.get(j) ?? ["127.0.0.0/8", "::1"])}`]),
        "",
    ].join("\n");
}

/** Pure: the operations that open the port to every source, and what differs. */
export function planFirewall(probe: FirewallProbe, c: Checked): ConcernPlan & { readonly ops: readonly string[] } {
    const drift: string[] = [];
    const ops: string[] = [];
    const late: string[] = [];
    const env: Record<string, string> = {};
    const paths = new Set<string>();

    // fail2ban first: a reload re-reads ignoreip, then the bans are lifted for good.
    if (probe.f2bDropin !== undefined) {
        const covers = (entries: readonly string[]) => c.sources.every((s) => entries.some((e) => within(s, hostBits(e)) === YES));
        const fileDefault = /^\[DEFAULT\]\nignoreip = (.*)$/m.exec(probe.f2bDropin ?? "")?.[1].split(" ") ?? [];
        // Compared as address sets: fail2ban prints a jail's list in an order of its own.
        if (!covers(fileDefault) || probe.f2bJails.some((j) => !covers(probe.f2bIgnore.get(j) ?? []))) {
            const dropin = renderF2bDropin(c.sources, probe);
            drift.push(`${F2B_DROPIN}: ignoreip lacks the allowlist`);
            ops.push("f2b-dropin", ...(probe.fail2ban === "running" ? ["f2b-reload"] : []));
            env.SR_F2B_DROPIN = dropin;
            paths.add(F2B_DROPIN);
        }
    }
    for (const b of probe.f2bBanned) {
        const ip = parseSource(b.ip);
        if (ip && c.sources.some((s) => within(ip, s) === YES)) {
            drift.push(`fail2ban jail ${b.jail} bans ${b.ip}`);
            ops.push(`unban ${b.jail} ${b.ip}`);
        }
    }

    // iptables: each base chain of the input path, for each source.
    for (const v of [4, 6] as const) {
        const tables = parseIptablesSave(probe.iptablesSave[v] ?? "");
        let changed = false;
        for (const s of c.sources.filter((x) => x.family === v)) {
            for (const [table, chain] of IPT_INPUT) {
                const t = tables.get(table);
                if (!t || !t.policies.has(chain)) continue;
                const w = walkIpt(t, chain, s, c.port);
                if (w.blockers.length === 0 && w.end !== "block") continue;
                if (w.end === "accept" && w.tagged && w.blockers.length === 0) continue;
                drift.push(`ip${v === 6 ? "6" : ""}tables ${table} ${chain} blocks ${s.text} → tcp ${c.port}: ${w.blockers.join("; ")}`);
                ops.push(`ipt-accept ${v} ${table} ${chain} ${cidrText(s)} ${c.port}`);
                changed = true;
            }
        }
        for (const p of probe.persist.filter((x) => x.v === v)) {
            const live = (probe.iptablesSave[v] ?? "").split("\n").filter((l) => l.includes(TAG));
            const saved = new Set(p.text.split("\n"));
            if (changed || live.some((l) => !saved.has(l))) {
                drift.push(`${p.path}: does not hold the ${TAG} accepts`);
                late.push(`ipt-persist ${v} ${p.path}`);
                paths.add(p.path);
            }
        }
    }

    // nftables: every base chain on the input path, in every table but those iptables-nft and
    // firewalld manage (each is handled through its own tool).
    const nft: Json[] = probe.nftJson?.nftables ?? [];
    const sets = new Map<string, Json[]>();
    const rules = new Map<string, Json[]>();
    const chains: NftChain[] = [];
    for (const o of nft) {
        if (o.set) sets.set(`${o.set.family}/${o.set.table}/${o.set.name}`, o.set.elem ?? []);
        if (o.rule) rules.set(`${o.rule.family}/${o.rule.table}/${o.rule.chain}`, [...(rules.get(`${o.rule.family}/${o.rule.table}/${o.rule.chain}`) ?? []), o.rule]);
        if (o.chain?.hook && ["input", "prerouting"].includes(o.chain.hook) && ["ip", "ip6", "inet"].includes(o.chain.family) &&
            !(probe.iptables === "nf_tables" && o.chain.family !== "inet" && IPT_TABLES.has(o.chain.table)) &&
            !(probe.firewalld === "running" && o.chain.table === "firewalld")) {
            chains.push({ family: o.chain.family, table: o.chain.table, name: o.chain.name, hook: o.chain.hook, type: o.chain.type, prio: o.chain.prio, policy: o.chain.policy });
        }
    }
    const persisted: string[] = [];
    for (const ch of chains) {
        for (const s of c.sources.filter((x) => ch.family === "inet" || (ch.family === "ip") === (x.family === 4))) {
            const w = walkNft(ch, rules, sets, s, c.port);
            const ok = w.end === "accept" && w.tagged && w.blockers.length === 0;
            if (w.blockers.length === 0 && w.end !== "block" && !w.tagged) continue;
            const ipf = s.family === 4 ? "ip" : "ip6";
            if (!identifier.test(ch.table) || !identifier.test(ch.name)) {
                drift.push(`nft ${ch.family} ${ch.table} ${ch.name} blocks ${s.text} but its name cannot be addressed safely: fix by hand`);
                continue;
            }
            persisted.push(`add table ${ch.family} ${ch.table}`,
                `add chain ${ch.family} ${ch.table} ${ch.name} { type ${ch.type} hook ${ch.hook} priority ${ch.prio}; policy ${ch.policy ?? "accept"}; }`,
                `insert rule ${ch.family} ${ch.table} ${ch.name} ${ipf} saddr ${s.text} tcp dport ${c.port} counter accept comment "${TAG}"`);
            if (ok) continue;
            drift.push(`nft ${ch.family} ${ch.table} ${ch.name} (hook ${ch.hook}) blocks ${s.text} → tcp ${c.port}: ${w.blockers.join("; ")}`);
            ops.push(`nft-accept ${ch.family} ${ch.table} ${ch.name} ${ipf} ${cidrText(s)} ${c.port}`);
        }
    }
    if (probe.nftConf && persisted.length) {
        const include = [`# ${TAG}: accepts for the SSH port from allowlisted sources (firewall-allowlist).`,
            "# Each table and chain is declared as it is, so this file also loads where they do not exist yet.", ...persisted, ""].join("\n");
        const line = `include "${NFT_INCLUDE}"`;
        if (include !== probe.nftInclude || !probe.nftConf.text.split("\n").includes(line)) {
            drift.push(`${probe.nftConf.path}: does not include the ${TAG} accepts (${NFT_INCLUDE})`);
            late.push(`nft-persist ${probe.nftConf.path}`);
            env.SR_NFT_INCLUDE = include;
            paths.add(NFT_INCLUDE).add(probe.nftConf.path);
        }
    }

    for (const m of probe.firewalldMissing) {
        drift.push(`firewalld zone ${m.zone} (${m.where}) lacks: ${m.rule}`);
        ops.push(`firewalld ${m.where} ${m.zone} ${m.rule}`);
    }

    const all = [...ops, ...late];
    const apply: Step[] = all.length ? [{ script: "firewall-allowlist/apply", env: { SR_FW_OPS: all.join("\n"), ...env } }] : [];
    return { pending: all.length > 0, drift, paths: [...paths], apply, restartSshd: false, ops: all };
}

function validate(args: FirewallAllowlistArgs): Checked {
    if (args.allow.length === 0) {
        throw new DeclarationError("allow", "is empty", "list at least the address the verifying login comes from");
    }
    const sources = args.allow.map((text, i) => checkSource(`allow[${i}]`, text));
    const port = args.port ?? 22;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new DeclarationError("port", `${port} is not a TCP port`, "give sshd's port, 1-65535");
    }
    if (args.verifyingSource !== undefined) {
        const v = parseSource(args.verifyingSource);
        if (!v || !sources.some((s) => within(v, s) === YES)) {
            throw new DeclarationError("allow", `does not include the verifying source ${args.verifyingSource}`,
                `add '${args.verifyingSource}' (or a CIDR that holds it) to allow`);
        }
    }
    return { sources, port };
}

export function firewallAllowlistConcern(args: FirewallAllowlistArgs): Concern {
    const checked = validate(args);
    return {
        name: "firewall-allowlist",
        probe: { script: "firewall-allowlist/probe", env: { SR_FWD_RULES: checked.sources.map((s) => richRule(s, checked.port)).join("\n") } },
        plan: (out) => planFirewall(parseFirewallProbe(out), checked),
        declaration: { allow: args.allow, port: checked.port, verifyingSource: args.verifyingSource ?? null },
    };
}
