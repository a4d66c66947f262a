import * as crypto from "crypto";
import type { Concern, ConcernPlan } from "../core/concern";
import { fromBase64, lastValue, lineDiff, parseKeyValues, type Step } from "../core/compose";
import { DeclarationError } from "../core/errors";
import { type IpAddress, isNetworkAddress, parseIp } from "../core/ip";
import { LONE_SURROGATE } from "../core/quote";

/**
 * HostsAccess: /etc/hosts.allow and /etc/hosts.deny (hosts_access(5)), read by sshd where it is
 * linked with libwrap. The access check reads hosts.allow first (first matching rule decides),
 * then hosts.deny; no match admits.
 */

export const ALLOW_PATH = "/etc/hosts.allow";
export const DENY_PATH = "/etc/hosts.deny";
/** Starts the comment lines this concern writes, and the lines it comments out. */
export const MARKER = "# sshremedy: ";

/** A whole file as declared, or rule lines that must be present while the rest is kept. */
export type HostsFileDeclaration =
    | { readonly kind: "content"; readonly text: string }
    | { readonly kind: "entries"; readonly entries: readonly string[] };

export interface HostsAccessArgs {
    /** Addresses or CIDRs (`198.51.100.7`, `10.0.0.0/8`, `2001:db8::/32`) sshd must admit: at least the verifying source. */
    readonly sshSources: readonly string[];
    /** The daemon name sshd checks under (its argv[0] basename). Defaults to `sshd`. */
    readonly daemon?: string;
    /** Declared /etc/hosts.allow. Defaults to the host's file, amended only as far as sshSources need. */
    readonly allow?: HostsFileDeclaration;
    /** Declared /etc/hosts.deny. Defaults to the host's file, amended only as far as sshSources need. */
    readonly deny?: HostsFileDeclaration;
}

// --- hosts_access(5): parsing and matching ---------------------------------------------------

/** Three-valued: a pattern may depend on DNS, ident or files the plan cannot see. */
type Tri = 0 | 1 | 2;
const NO: Tri = 0, MAYBE: Tri = 1, YES: Tri = 2;
const or = (a: Tri, b: Tri) => Math.max(a, b) as Tri;
const and = (a: Tri, b: Tri) => Math.min(a, b) as Tri;
const not = (a: Tri) => (2 - a) as Tri;

export interface Source {
    readonly text: string;
    readonly family: 4 | 6;
    readonly lo: bigint;
    readonly hi: bigint;
}

const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128);

function range(ip: IpAddress, prefix: number): { lo: bigint; hi: bigint } {
    const host = (1n << BigInt(bitsOf(ip.family) - prefix)) - 1n;
    return { lo: ip.value & ~host, hi: (ip.value & ~host) | host };
}

/** `a.b.c.d`, `a.b.c.d/len`, `v6`, `v6/len` or `[v6]/len`; undefined when it is none of these. */
export function parseSource(text: string): Source | undefined {
    const m = /^\[?([0-9A-Fa-f:.]+)\]?(?:\/(\d{1,3}))?$/.exec(text);
    const ip = m ? parseIp(m[1]) : undefined;
    if (!m || !ip || (text.startsWith("[") && ip.family === 4)) return undefined;
    const prefix = m[2] === undefined ? bitsOf(ip.family) : Number(m[2]);
    if (prefix > bitsOf(ip.family) || !isNetworkAddress(ip, prefix)) return undefined;
    return { text, family: ip.family, ...range(ip, prefix) };
}

/**
 * The one check of a declared source address or CIDR (`login.sources`, `firewall.allow`,
 * `sshSources`): plain address characters only, host bits zero; a DeclarationError at `path` otherwise.
 */
export function checkSource(path: string, text: unknown): Source {
    const s = typeof text === "string" && /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(text) ? parseSource(text) : undefined;
    if (!s) {
        throw new DeclarationError(path, `'${String(text)}' is not an IP address or CIDR with its host bits zero`,
            "write it as 198.51.100.7, 10.0.0.0/8 or 2001:db8::/32");
    }
    return s;
}

/** The address range a client pattern names, when it names one. */
function patternRange(tok: string): Source | undefined {
    const v4prefix = /^(\d{1,3}\.){1,3}$/.exec(tok);
    if (v4prefix) {
        const octets = tok.slice(0, -1).split(".");
        const ip = parseIp([...octets, ...Array(4 - octets.length).fill("0")].join("."));
        return ip && { text: tok, family: 4, ...range(ip, octets.length * 8) };
    }
    const mask = /^([\d.]+)\/([\d.]+)$/.exec(tok);
    if (mask && mask[2].includes(".")) {
        const [net, m] = [parseIp(mask[1]), parseIp(mask[2])];
        if (!net || !m || net.family !== 4 || m.family !== 4) return undefined;
        const len = m.value.toString(2).replace(/0+$/, "").length;
        // A mask that is not contiguous has no range: left to MAYBE by the caller.
        if (m.value !== ((1n << 32n) - 1n) - ((1n << BigInt(32 - len)) - 1n)) return undefined;
        return { text: tok, family: 4, ...range({ family: 4, value: net.value }, len) };
    }
    return /^\d/.test(tok) || tok.startsWith("[") ? hostBits(tok) : undefined;
}

/** `10.1.2.3/8` and `[2001:db8::1]/32`: libwrap (and fail2ban) mask the host bits themselves. */
export function hostBits(tok: string): Source | undefined {
    const m = /^\[?([0-9A-Fa-f:.]+)\]?(?:\/(\d{1,3}))?$/.exec(tok);
    const ip = m ? parseIp(m[1]) : undefined;
    if (!m || !ip) return undefined;
    const prefix = m[2] === undefined ? bitsOf(ip.family) : Number(m[2]);
    return prefix > bitsOf(ip.family) ? undefined : { text: tok, family: ip.family, ...range(ip, prefix) };
}

function clientMatch(tok: string, src: Source): Tri {
    if (tok.toUpperCase() === "ALL") return YES;
    if (tok.includes("@")) return clientMatch(tok.slice(tok.lastIndexOf("@") + 1), src) === NO ? NO : MAYBE;
    const r = patternRange(tok);
    if (!r) return MAYBE; // KNOWN, LOCAL, PARANOID, .example.com, host names, wildcards, /files, @netgroups
    if (r.family !== src.family || r.hi < src.lo || src.hi < r.lo) return NO;
    return r.lo <= src.lo && src.hi <= r.hi ? YES : MAYBE;
}

function daemonMatch(tok: string, daemon: string): Tri {
    if (tok.toUpperCase() === "ALL") return YES;
    if (/[*?]/.test(tok)) return MAYBE;
    const [name, server] = tok.split("@");
    if (name.toLowerCase() !== daemon.toLowerCase() && name.toUpperCase() !== "ALL") return NO;
    return server === undefined ? YES : MAYBE;
}

/** libwrap's list_match: `a b EXCEPT c d EXCEPT e` is (a or b) and not ((c or d) and not e). */
function listMatch(tokens: readonly string[], one: (tok: string) => Tri): Tri {
    const cut = tokens.findIndex((t) => t.toUpperCase() === "EXCEPT");
    const head = (cut < 0 ? tokens : tokens.slice(0, cut)).reduce<Tri>((acc, t) => or(acc, one(t)), NO);
    return cut < 0 ? head : and(head, not(listMatch(tokens.slice(cut + 1), one)));
}

export interface Rule {
    /** First and last line (0-based) of the rule in its file: a rule may continue with `\`. */
    readonly first: number;
    readonly last: number;
    readonly daemons: readonly string[];
    readonly clients: readonly string[];
    /** An `allow` / `deny` option (hosts_options(5)) overrides the file's verdict; `twist` never runs sshd. */
    readonly verdict?: "allow" | "deny";
}

/** Splits at `:` outside `[…]`, so IPv6 patterns keep their colons. */
function splitFields(text: string): string[] {
    const out = [""];
    let depth = 0;
    for (const ch of text) {
        if (ch === "[") depth++;
        if (ch === "]") depth = Math.max(0, depth - 1);
        if (ch === ":" && depth === 0) out.push("");
        else out[out.length - 1] += ch;
    }
    return out;
}

const words = (s: string) => s.split(/[\s,]+/).filter(Boolean);

export function parseRules(text: string): Rule[] {
    const lines = text.split("\n");
    const rules: Rule[] = [];
    for (let i = 0; i < lines.length; i++) {
        const first = i;
        let joined = lines[i];
        while (joined.endsWith("\\") && i + 1 < lines.length) joined = joined.slice(0, -1) + lines[++i];
        const trimmed = joined.trim();
        if (trimmed === "" || trimmed.startsWith("#")) continue;
        const [daemons, clients, ...options] = splitFields(trimmed);
        if (clients === undefined) continue; // libwrap logs "missing ':' separator" and skips it
        const opts = options.map((o) => words(o)[0]?.toLowerCase());
        const verdict = opts.includes("deny") || opts.includes("twist") ? "deny" : opts.includes("allow") ? "allow" : undefined;
        rules.push({ first, last: i, daemons: words(daemons), clients: words(clients), verdict });
    }
    return rules;
}

export interface Blocker {
    readonly file: "allow" | "deny";
    readonly rule: Rule;
    readonly certain: boolean;
}

export interface AccessCheck {
    /** admitted: a rule admits it for sure or none denies; denied: a rule denies it for sure. */
    readonly verdict: "admitted" | "denied" | "at-risk";
    /** Rules that deny (or may deny, depending on DNS or ident) the source before anything admits it. */
    readonly blockers: readonly Blocker[];
}

/** The hosts_access(5) decision for `daemon` and a client from `src`. */
export function checkAccess(allow: string, deny: string, daemon: string, src: Source): AccessCheck {
    const blockers: Blocker[] = [];
    for (const [file, text] of [["allow", allow], ["deny", deny]] as const) {
        for (const rule of parseRules(text)) {
            const m = and(listMatch(rule.daemons, (t) => daemonMatch(t, daemon)), listMatch(rule.clients, (t) => clientMatch(t, src)));
            const admits = (rule.verdict ?? file) === "allow";
            if (m === NO || (m === MAYBE && admits)) continue;
            if (admits) return { verdict: "admitted", blockers };
            blockers.push({ file, rule, certain: m === YES });
            if (m === YES) return { verdict: "denied", blockers };
        }
    }
    return { verdict: blockers.length ? "at-risk" : "admitted", blockers };
}

// --- rendering -------------------------------------------------------------------------------

/** A source as a hosts_access(5) client pattern: `n.n.n.n/m.m.m.m` (every libwrap reads it), `[v6]/len`. */
export function clientPattern(src: Source): string {
    const bits = bitsOf(src.family);
    const prefix = bits - (src.hi - src.lo + 1n).toString(2).length + 1;
    const addr = src.text.replace(/^\[|\]?(\/\d+)?$/g, "");
    if (src.family === 6) return prefix === bits ? `[${addr}]` : `[${addr}]/${prefix}`;
    if (prefix === bits) return addr;
    const mask = ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefix)) - 1n);
    return `${addr}/${[24n, 16n, 8n, 0n].map((s) => String((mask >> s) & 255n)).join(".")}`;
}

const withNewline = (t: string) => (t === "" || t.endsWith("\n") ? t : `${t}\n`);

function withEntries(current: string, entries: readonly string[]): string {
    const present = new Set(current.split("\n").map((l) => l.trim()));
    const missing = entries.filter((e) => !present.has(e.trim()));
    return missing.length ? withNewline(current) + missing.map((e) => `${e}\n`).join("") : current;
}

function commentOut(text: string, rules: readonly Rule[]): string {
    const lines = text.split("\n");
    for (const r of rules) {
        for (let i = r.first; i <= r.last; i++) lines[i] = `${MARKER}${lines[i]}`;
    }
    return lines.join("\n");
}

/**
 * Comments out the hosts.deny rules that deny (or may deny) a source, until none is left.
 * A check stops at the first rule that denies for sure, so rules after it show up one round at a
 * time. Declared entries stay: they were checked not to deny any source for sure.
 */
function neutralise(allow: string, deny: string, c: Checked): string {
    const declared = new Set(c.deny?.kind === "entries" ? c.deny.entries.map((e) => e.trim()) : []);
    for (;;) {
        const lines = deny.split("\n");
        const rules = c.sources.flatMap((s) => checkAccess(allow, deny, c.daemon, s).blockers)
            .filter((b) => b.file === "deny").map((b) => b.rule)
            .filter((r) => !declared.has(lines.slice(r.first, r.last + 1).join("\n").trim()));
        if (rules.length === 0) return deny;
        deny = commentOut(deny, [...new Map(rules.map((r) => [r.first, r])).values()]);
    }
}

// --- the concern -----------------------------------------------------------------------------

export interface HostsProbe {
    readonly allow: string | null;
    readonly deny: string | null;
    readonly libwrap: "yes" | "no" | "unknown";
}


export function parseHostsProbe(stdout: string): HostsProbe {
    const kv = parseKeyValues(stdout);
    const file = (key: string) => {
        const v = lastValue(kv, key);
        if (v === undefined) throw new Error(`hosts-access probe printed no ${key}= line: ${stdout.slice(0, 200)}`);
        return v === "absent" ? null : fromBase64(v);
    };
    const libwrap = lastValue(kv, "sshd_libwrap");
    return { allow: file("allow"), deny: file("deny"), libwrap: libwrap === "yes" || libwrap === "no" ? libwrap : "unknown" };
}

interface Checked {
    readonly sources: readonly Source[];
    readonly daemon: string;
    readonly allow?: HostsFileDeclaration;
    readonly deny?: HostsFileDeclaration;
}

function validate(args: HostsAccessArgs): Checked {
    if (args.sshSources.length === 0) {
        throw new DeclarationError("sshSources", "is empty", "list at least the address the verifying login comes from");
    }
    const sources = args.sshSources.map((s, i) => checkSource(`sshSources[${i}]`, s));
    const daemon = args.daemon ?? "sshd";
    if (typeof daemon !== "string" || !/^[A-Za-z0-9._-]+$/.test(daemon)) {
        throw new DeclarationError("daemon", `'${daemon}' is not a daemon process name`, "give sshd's process name, e.g. sshd");
    }
    for (const which of ["allow", "deny"] as const) {
        const d = args[which];
        if (d !== undefined && d?.kind !== "entries" && d?.kind !== "content") {
            throw new DeclarationError(which, `is not { kind: "entries", entries } or { kind: "content", text }`, "declare the rules to add, or the whole file");
        }
        // What no UTF-8 file can hold exactly, refused here rather than when the file is written.
        const unsendable = (t: string) => t.includes("\0") || LONE_SURROGATE.test(t);
        if (d?.kind === "content" && (typeof d.text !== "string" || unsendable(d.text))) {
            throw new DeclarationError(`${which}.text`, "is not text a file can hold (a NUL byte or a lone UTF-16 surrogate)", "give the file's text");
        }
        if (d?.kind === "entries") {
            if (!Array.isArray(d.entries)) throw new DeclarationError(`${which}.entries`, "is not a list", "give a list of rules");
            d.entries.forEach((e, i) => {
                if (typeof e !== "string" || /[\r\n]/.test(e) || unsendable(e) || e.trim().startsWith("#") || splitFields(e).length < 2) {
                    throw new DeclarationError(`${which}.entries[${i}]`, `'${e}' is not one hosts_access(5) rule`,
                        "write one `daemon_list : client_list [: options]` rule per entry, without line breaks");
                }
            });
        }
    }
    const declared = (d?: HostsFileDeclaration) => (d === undefined ? "" : d.kind === "content" ? d.text : d.entries.join("\n"));
    for (const src of sources) {
        const c = checkAccess(declared(args.allow), declared(args.deny), daemon, src);
        if (c.verdict === "denied") {
            const b = c.blockers[c.blockers.length - 1];
            throw new DeclarationError(b.file, `the declared rule '${b.rule.daemons.join(" ")} : ${b.rule.clients.join(" ")}' denies ${daemon} to ${src.text}, which must log in`,
                `exclude it (e.g. '... EXCEPT ${clientPattern(src)}') or admit ${daemon}: ${clientPattern(src)} in hosts.allow`);
        }
    }
    return { sources, daemon, allow: args.allow, deny: args.deny };
}

/** Pure: the files the host must have so every source reaches sshd, and what differs. */
export function planHostsAccess(probe: HostsProbe, c: Checked): ConcernPlan & { readonly allowText: string; readonly denyText: string } {
    const render = (current: string, d?: HostsFileDeclaration) =>
        d === undefined ? current : d.kind === "content" ? d.text : withEntries(current, d.entries);
    let allowText = render(probe.allow ?? "", c.allow);
    let denyText = render(probe.deny ?? "", c.deny);
    const notes: string[] = [];
    if (probe.libwrap !== "no") {
        const blocked = c.sources.map((s) => ({ s, check: checkAccess(allowText, denyText, c.daemon, s) }))
            .filter((x) => x.check.verdict !== "admitted");
        if (blocked.length && c.allow?.kind !== "content") {
            // One admitting line ahead of everything else: it touches no other daemon and no other
            // client, where commenting out `sshd: ALL` would admit the whole internet.
            allowText = `${MARKER}${c.daemon} must admit these sources (hosts-access)\n${c.daemon}: ${blocked.map((x) => clientPattern(x.s)).join(" ")}\n${allowText}`;
        } else if (blocked.length && c.deny?.kind !== "content") {
            // hosts.allow is declared whole: the rules that deny are commented out instead.
            denyText = neutralise(allowText, denyText, c);
        }
        notes.push(...blocked.map((x) => `${c.daemon} ${x.check.verdict === "denied" ? "denies" : "may deny"} ${x.s.text}: ` +
            x.check.blockers.map((b) => `/etc/hosts.${b.file} line ${b.rule.first + 1}`).join(", ")));
    }
    const files = [
        { path: ALLOW_PATH, before: probe.allow, after: allowText },
        { path: DENY_PATH, before: probe.deny, after: denyText },
    ].filter((f) => f.after !== (f.before ?? "") || (f.before === null && (f.path === ALLOW_PATH ? c.allow : c.deny)?.kind === "content"));
    const drift = [...notes, ...files.flatMap((f) => lineDiff(f.before ?? "", f.after).map((l) => `${f.path}: ${l}`))];
    const env: Record<string, string | number> = { SR_HA_COUNT: files.length };
    files.forEach((f, i) => {
        env[`SR_HA_PATH_${i + 1}`] = f.path;
        env[`SR_HA_BEFORE_${i + 1}`] = f.before === null ? "absent" : crypto.createHash("sha256").update(f.before).digest("hex");
        env[`SR_HA_CONTENT_${i + 1}`] = f.after;
    });
    const apply: Step[] = files.length ? [{ script: "hosts-access/apply", env }] : [];
    return {
        pending: files.length > 0, drift, paths: [ALLOW_PATH, DENY_PATH], apply, restartSshd: false, allowText, denyText,
    };
}

export function hostsAccessConcern(args: HostsAccessArgs): Concern {
    const checked = validate(args);
    return {
        name: "hosts-access",
        probe: { script: "hosts-access/probe" },
        plan: (out) => planHostsAccess(parseHostsProbe(out), checked),
        declaration: { sshSources: args.sshSources, daemon: checked.daemon, allow: args.allow ?? null, deny: args.deny ?? null },
    };
}
