import type { TencentSettings } from "./settings";
import { call, hasCode, withHint } from "./api";
import { formatIp } from "../core/ip";
import { hostBits, parseSource, type Source } from "../hosts-access/hosts-access";

/*
 * Security groups: the cloud's firewall in front of the instance. Ingress rules are matched in
 * PolicyIndex order, the first match decides, and traffic no rule matches is dropped. sshremedy
 * adds ACCEPT rules for the login's sources ahead of the first DROP that would catch them, marks
 * them as its own in PolicyDescription, and never changes a rule it does not own. Every change
 * passes the Version it planned from: a concurrent change makes it fail
 * (UnsupportedOperation.VersionMismatch), and the plan is made again from a fresh read.
 */

/** A security group policy as DescribeSecurityGroupPolicies returns it. */
export interface SecurityGroupPolicy {
    readonly PolicyIndex?: number | string;
    /** TCP, UDP, ICMP, ICMPV6, GRE, ALL. */
    readonly Protocol?: string;
    /** "22", "8000-8010", "22,80", "ALL". */
    readonly Port?: string;
    readonly CidrBlock?: string;
    readonly Ipv6CidrBlock?: string;
    /** A rule for the addresses of another security group's instances. */
    readonly SecurityGroupId?: string;
    readonly AddressTemplate?: unknown;
    readonly ServiceTemplate?: unknown;
    /** ACCEPT or DROP. */
    readonly Action?: string;
    readonly PolicyDescription?: string;
}

/** A rule this module creates. */
export interface NewIngressRule {
    readonly Protocol: "TCP";
    readonly Port: string;
    readonly CidrBlock?: string;
    readonly Ipv6CidrBlock?: string;
    readonly Action: "ACCEPT";
    readonly PolicyDescription: string;
    readonly PolicyIndex?: number;
}

/** The PolicyDescription that marks a rule as sshremedy's for `owner`. */
export function ownerMark(owner: string): string {
    if (!/^[A-Za-z0-9._:@/-]{1,80}$/.test(owner)) {
        throw new Error(`security group rule owner ${JSON.stringify(owner)}: use 1–80 letters, digits and . _ : @ / -`);
    }
    return `sshremedy:${owner}`;
}

/** Three-valued match: a rule may name addresses or services the plan cannot see (templates, groups). */
type Match = "yes" | "no" | "maybe";

/** Whether a rule's Port field covers `port`: "ALL", empty, one port, a range, or a comma list of those. Pure. */
export function portMatches(field: string | undefined, port: number): Match {
    if (field === undefined || field.trim() === "" || field.trim().toUpperCase() === "ALL") return "yes";
    let result: Match = "no";
    for (const raw of field.split(",")) {
        const item = raw.trim();
        const one = /^(\d{1,5})$/.exec(item);
        const range = /^(\d{1,5})\s*-\s*(\d{1,5})$/.exec(item);
        if (item.toUpperCase() === "ALL") return "yes";
        if (one) {
            if (Number(one[1]) === port) return "yes";
        } else if (range) {
            if (Number(range[1]) <= port && port <= Number(range[2])) return "yes";
        } else {
            result = "maybe";
        }
    }
    return result;
}

/** Whether a rule applies to TCP to `port` (its protocol and port, or a service template). Pure. */
export function serviceMatches(p: SecurityGroupPolicy, port: number): Match {
    if (hasValue(p.ServiceTemplate)) return "maybe";
    const proto = (p.Protocol ?? "").trim().toUpperCase();
    if (proto === "" || proto === "ALL") return "yes";
    if (proto === "TCP") return portMatches(p.Port, port);
    if (["UDP", "ICMP", "ICMPV6", "GRE"].includes(proto)) return "no";
    return "maybe";
}

function hasValue(v: unknown): boolean {
    if (v === undefined || v === null || v === "") return false;
    if (typeof v === "object") return Object.values(v as Record<string, unknown>).some(hasValue);
    return true;
}

/** The addresses a rule names, or undefined when it names them by a template or group. */
function ruleRange(p: SecurityGroupPolicy, family: 4 | 6): Source | "none" | undefined {
    if (hasValue(p.SecurityGroupId) || hasValue(p.AddressTemplate)) return undefined;
    const text = family === 4 ? p.CidrBlock : p.Ipv6CidrBlock;
    const other = family === 4 ? p.Ipv6CidrBlock : p.CidrBlock;
    if (text === undefined || text === null || text === "") {
        // A rule for the other family only does not concern this source; one with no address at all is unclear.
        return hasValue(other) ? "none" : undefined;
    }
    const r = hostBits(text.trim());
    if (!r) return undefined;
    return r.family === family ? r : "none";
}

/** Whether the rule's addresses contain the whole source ("yes"), part of it ("maybe") or none ("no"). */
function addressMatches(p: SecurityGroupPolicy, src: Source): Match {
    const r = ruleRange(p, src.family);
    if (r === undefined) return "maybe";
    if (r === "none" || r.hi < src.lo || src.hi < r.lo) return "no";
    return r.lo <= src.lo && src.hi <= r.hi ? "yes" : "maybe";
}

/** A source as the API's CidrBlock / Ipv6CidrBlock text: `198.51.100.7`, `10.0.0.0/8`, `2001:db8::/32`. */
function cidrText(s: Source): string {
    const bits = s.family === 4 ? 32 : 128;
    const prefix = bits - (s.hi - s.lo + 1n).toString(2).length + 1;
    const ip = formatIp({ family: s.family, value: s.lo });
    return prefix === bits ? ip : `${ip}/${prefix}`;
}

export interface AdmissionRequest {
    /** Addresses or CIDRs the login comes from (host bits zero). */
    readonly sources: readonly string[];
    readonly port: number;
    readonly owner: string;
}

export interface AdmissionPlan {
    /** Sources an ACCEPT rule already lets in, ahead of any DROP that could catch them. */
    readonly admitted: string[];
    /** Sources to add, each with the PolicyIndex of the first DROP that could catch it (null: none but the implicit drop). */
    readonly missing: { readonly source: string; readonly blockedAt: number | null }[];
    /** Where the new rules go (all at one index, as the API wants): ahead of the first of those DROPs; undefined appends. */
    readonly insertAt?: number;
    readonly rules: NewIngressRule[];
}

/** Ingress rules in the order the group applies them. */
function ordered(ingress: readonly SecurityGroupPolicy[]): { index: number; p: SecurityGroupPolicy }[] {
    return ingress
        .map((p, i) => ({ index: p.PolicyIndex === undefined || p.PolicyIndex === "" ? i : Number(p.PolicyIndex), p }))
        .sort((a, b) => a.index - b.index);
}

/**
 * Which ACCEPT rules the login needs and where (pure). A source counts as admitted when an ACCEPT
 * rule for TCP to `port` (protocol TCP or ALL, port covered) contains all of it and no DROP
 * that could match it comes first; a DROP could match when its service and addresses match or
 * cannot be known (templates, other groups). The new rules go just ahead of the first DROP that
 * could catch a missing source, or at the end when only the group's implicit drop does. Rules of
 * others are never moved, changed or removed.
 */
export function planAdmission(ingress: readonly SecurityGroupPolicy[], req: AdmissionRequest): AdmissionPlan {
    const mark = ownerMark(req.owner);
    if (!Number.isInteger(req.port) || req.port < 1 || req.port > 65535) {
        throw new Error(`security group admission: ${req.port} is not a TCP port`);
    }
    const rules = ordered(ingress);
    const admitted: string[] = [];
    const missing: { source: string; blockedAt: number | null }[] = [];
    const seen = new Set<string>();
    for (const text of req.sources) {
        const src = parseSource(text);
        if (!src || src.text.startsWith("[")) {
            throw new Error(`security group admission: '${text}' is not an IP address or CIDR with its host bits zero`);
        }
        const canonical = cidrText(src);
        if (seen.has(canonical)) continue;
        seen.add(canonical);
        let verdict: "admitted" | number | null = null;
        for (const { index, p } of rules) {
            const action = (p.Action ?? "").toUpperCase();
            const service = serviceMatches(p, req.port);
            const address = addressMatches(p, src);
            if (action === "ACCEPT" && service === "yes" && address === "yes") {
                verdict = "admitted";
                break;
            }
            if (action === "DROP" && service !== "no" && address !== "no") {
                verdict = index;
                break;
            }
        }
        if (verdict === "admitted") admitted.push(canonical);
        else missing.push({ source: canonical, blockedAt: verdict });
    }
    const blocked = missing.map((m) => m.blockedAt).filter((i): i is number => i !== null);
    const insertAt = blocked.length > 0 ? Math.min(...blocked) : undefined;
    const newRules: NewIngressRule[] = missing.map(({ source }) => ({
        Protocol: "TCP",
        Port: String(req.port),
        ...(source.includes(":") ? { Ipv6CidrBlock: source } : { CidrBlock: source }),
        Action: "ACCEPT",
        PolicyDescription: mark,
        ...(insertAt !== undefined ? { PolicyIndex: insertAt } : {}),
    }));
    return { admitted, missing, ...(insertAt !== undefined ? { insertAt } : {}), rules: newRules };
}

interface PolicySet {
    Version?: string | number;
    Ingress?: SecurityGroupPolicy[];
    Egress?: SecurityGroupPolicy[];
}

/** DescribeSecurityGroupPolicies: the group's Version and ingress rules. */
export async function readPolicies(settings: TencentSettings, securityGroupId: string): Promise<{ version?: string | number; ingress: SecurityGroupPolicy[] }> {
    try {
        const r = await call<{ SecurityGroupPolicySet?: PolicySet }>(settings, "vpc", "DescribeSecurityGroupPolicies",
            { SecurityGroupId: securityGroupId });
        const set = r.SecurityGroupPolicySet ?? {};
        return { ...(set.Version !== undefined && set.Version !== null ? { version: set.Version } : {}), ingress: set.Ingress ?? [] };
    } catch (e) {
        if (hasCode(e, "InvalidSecurityGroupID.NotFound", "ResourceNotFound")) {
            throw withHint(e, `no security group ${securityGroupId} in ${settings.region}: check the id (DescribeInstances → SecurityGroupIds) and the region`);
        }
        throw e;
    }
}

export interface AdmitArgs extends AdmissionRequest {
    readonly securityGroupId: string;
    /** Plans made again after a concurrent change (VersionMismatch). Default 5. */
    readonly maxAttempts?: number;
}

export interface AdmitResult {
    readonly changed: boolean;
    /** Sources this call added rules for. */
    readonly added: string[];
    readonly insertAt?: number;
    /** The Version the plan was made from. */
    readonly version?: string | number;
}

/**
 * Makes sure the security group lets the login's sources reach TCP `port`: reads the rules,
 * plans with `planAdmission`, and creates the missing ACCEPT rules (marked `sshremedy:<owner>`)
 * at the planned index with the Version it read. Nothing changes when every source is admitted.
 * On VersionMismatch it reads and plans again, at most `maxAttempts` times.
 */
export async function admitLogin(settings: TencentSettings, args: AdmitArgs): Promise<AdmitResult> {
    const attempts = args.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
        const { version, ingress } = await readPolicies(settings, args.securityGroupId);
        const plan = planAdmission(ingress, args);
        if (plan.rules.length === 0) return { changed: false, added: [], ...(version !== undefined ? { version } : {}) };
        try {
            await call(settings, "vpc", "CreateSecurityGroupPolicies", {
                SecurityGroupId: args.securityGroupId,
                SecurityGroupPolicySet: { ...(version !== undefined ? { Version: version } : {}), Ingress: plan.rules },
            });
            return {
                changed: true,
                added: plan.missing.map((m) => m.source),
                ...(plan.insertAt !== undefined ? { insertAt: plan.insertAt } : {}),
                ...(version !== undefined ? { version } : {}),
            };
        } catch (e) {
            if (hasCode(e, "UnsupportedOperation.VersionMismatch") && attempt < attempts) continue;
            if (hasCode(e, "UnsupportedOperation.VersionMismatch")) {
                throw withHint(e, `security group ${args.securityGroupId} kept changing while ${attempts} plans were made; run again`);
            }
            if (hasCode(e, "UnsupportedOperation.DuplicatePolicy")) {
                throw withHint(e, `security group ${args.securityGroupId} already has an identical rule for `
                    + `${plan.missing.map((m) => m.source).join(", ")} on TCP ${args.port}, but behind a DROP that catches the login `
                    + `(index ${plan.insertAt ?? "end"}); that rule is not sshremedy's: move it ahead of the DROP or remove it`);
            }
            if (hasCode(e, "LimitExceeded")) {
                throw withHint(e, `security group ${args.securityGroupId} has no room for ${plan.rules.length} more rule(s): remove unused rules`);
            }
            throw e;
        }
    }
}

export interface RemoveOwnArgs {
    readonly securityGroupId: string;
    readonly owner: string;
    /** Default 5. */
    readonly maxAttempts?: number;
}

/**
 * Deletes exactly the ingress rules marked `sshremedy:<owner>`. They are found by their
 * description in a fresh read and deleted by PolicyIndex with that read's Version (highest index
 * first), so a concurrent change that shifts the indexes fails the call (VersionMismatch) and
 * the rules are looked up again; no other rule can be hit. Resolves to how many were removed.
 */
export async function removeOwn(settings: TencentSettings, args: RemoveOwnArgs): Promise<{ removed: number }> {
    const mark = ownerMark(args.owner);
    const attempts = args.maxAttempts ?? 5;
    let removed = 0;
    for (let attempt = 1; ; attempt++) {
        const { version, ingress } = await readPolicies(settings, args.securityGroupId);
        const own = ordered(ingress).filter(({ p }) => p.PolicyDescription === mark).map(({ index }) => index);
        if (own.length === 0) return { removed };
        if (attempt > attempts) {
            throw new Error(`security group ${args.securityGroupId}: ${own.length} rule(s) of ${mark} still there after ${attempts} attempts`);
        }
        try {
            await call(settings, "vpc", "DeleteSecurityGroupPolicies", {
                SecurityGroupId: args.securityGroupId,
                SecurityGroupPolicySet: {
                    ...(version !== undefined ? { Version: version } : {}),
                    Ingress: [...own].sort((a, b) => b - a).map((i) => ({ PolicyIndex: i })),
                },
            });
            removed += own.length;
        } catch (e) {
            if (!hasCode(e, "UnsupportedOperation.VersionMismatch")) throw e;
        }
    }
}
