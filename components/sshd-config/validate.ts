/**
 * The one validation path for sshd settings: every value that reaches sshd_config is checked
 * here and comes out as the exact token to write. Nothing else builds sshd_config text from input.
 */
import { DeclarationError } from "../core/errors";
import { ALIASES, RAW_REFUSED, allowedInMatch, canonicalKeyword } from "./keywords";
import { sshdValue } from "../core/quote";
import * as v from "./values";

export type PermitRootLogin = "yes" | "no" | "prohibit-password" | "forced-commands-only";
export type AddressFamily = "any" | "inet" | "inet6";

/**
 * sshd settings to enforce. "Defaults to" below is what replace mode writes when a field is omitted
 * (the per-distribution baseline); managed mode leaves the host's own line for an omitted field.
 * Every value is validated before use.
 */
export interface SshdSettings {
    /** TCP port sshd listens on (sshd_config(5) Port). Defaults to 22. */
    readonly port?: number;
    /** IP literals, optionally with `:port` (`[v6]:port`), sshd binds to (sshd_config(5) ListenAddress). Defaults to every address of `addressFamily`. */
    readonly listenAddress?: readonly string[];
    /** Address family sshd binds (sshd_config(5) AddressFamily). Defaults to "any". */
    readonly addressFamily?: AddressFamily;
    /** Whether and how root may log in (sshd_config(5) PermitRootLogin). Defaults to "prohibit-password". */
    readonly permitRootLogin?: PermitRootLogin;
    /** Password logins (sshd_config(5) PasswordAuthentication; sshd's built-in default is yes). Defaults to false. */
    readonly passwordAuthentication?: boolean;
    /** Public-key logins (sshd_config(5) PubkeyAuthentication). Defaults to true. */
    readonly pubkeyAuthentication?: boolean;
    /** Keyboard-interactive logins such as PAM prompts (sshd_config(5) KbdInteractiveAuthentication; built-in default yes). Defaults to false. */
    readonly kbdInteractiveAuthentication?: boolean;
    /** Method lists such as "publickey,password" a login must complete, or ["any"] (sshd_config(5) AuthenticationMethods). Defaults to any one enabled method. */
    readonly authenticationMethods?: readonly string[];
    /** User patterns (`alice`, `ops-*`, `bob@10.0.0.0/8`) allowed to log in; null removes AllowUsers (sshd_config(5) AllowUsers, PATTERNS). Defaults to every user. */
    readonly allowUsers?: readonly string[] | null;
    /** User patterns refused login; [] or null removes DenyUsers (sshd_config(5) DenyUsers). Defaults to nobody. */
    readonly denyUsers?: readonly string[] | null;
    /** Group patterns whose members may log in; null removes AllowGroups (sshd_config(5) AllowGroups). Defaults to every group. */
    readonly allowGroups?: readonly string[] | null;
    /** Group patterns whose members are refused; [] or null removes DenyGroups (sshd_config(5) DenyGroups). Defaults to none. */
    readonly denyGroups?: readonly string[] | null;
    /** Authentication attempts per connection, 1 to 50; each key a client offers uses one (sshd_config(5) MaxAuthTries). Defaults to 6. */
    readonly maxAuthTries?: number;
    /** Unauthenticated connections: N, or "start:rate:full" (sshd_config(5) MaxStartups). Defaults to "10:30:100". */
    readonly maxStartups?: number | string;
    /** Sessions per connection, 1 to 1000 (sshd_config(5) MaxSessions). Defaults to 10. */
    readonly maxSessions?: number;
    /** Seconds, or a time such as "2m", to finish logging in, 1 s to 1 h (sshd_config(5) LoginGraceTime). Defaults to "2m". */
    readonly loginGraceTime?: number | string;
    /** PAM account and session processing (sshd_config(5) UsePAM). Defaults to true. */
    readonly usePAM?: boolean;
    /** Refuse keys in files others can write (sshd_config(5) StrictModes). Defaults to true. */
    readonly strictModes?: boolean;
    /** Key files, relative to home or absolute, with %h %u %U tokens, or ["none"] (sshd_config(5) AuthorizedKeysFile). Defaults to [".ssh/authorized_keys"]. */
    readonly authorizedKeysFile?: readonly string[];
    /** Absolute paths of host private keys (sshd_config(5) HostKey). Defaults to the ed25519, ecdsa and rsa keys in /etc/ssh. */
    readonly hostKey?: readonly string[];
    /** Other sshd_config(5) keywords: a string is one argument, a list is the arguments of one line. Defaults to none. */
    readonly extra?: Readonly<Record<string, string | readonly string[]>>;
    /** Conditional blocks written after every global directive; replace mode only (sshd_config(5) Match). Defaults to none. */
    readonly match?: readonly SshdMatchBlock[];
}

/** The typed settings sshd_config(5) accepts inside a Match block. */
export type SshdMatchSettings = Pick<SshdSettings, "permitRootLogin" | "passwordAuthentication" | "pubkeyAuthentication"
    | "kbdInteractiveAuthentication" | "authenticationMethods" | "allowUsers" | "denyUsers" | "allowGroups"
    | "denyGroups" | "maxAuthTries" | "maxSessions" | "authorizedKeysFile" | "extra">;

/** Which connections a Match block applies to; every given criterion must match (sshd_config(5) Match). */
export interface SshdMatchCriteria {
    /** User name patterns, without @host. Defaults to any user. */
    readonly user?: readonly string[];
    /** Group name patterns, without spaces. Defaults to any group. */
    readonly group?: readonly string[];
    /** Client host name patterns (matched only when sshd resolves names, UseDNS). Defaults to any host. */
    readonly host?: readonly string[];
    /** Client addresses or address/prefix ranges; `!` negates. Defaults to any address. */
    readonly address?: readonly string[];
    /** Server addresses the connection arrived on. Defaults to any. */
    readonly localAddress?: readonly string[];
    /** Server ports the connection arrived on. Defaults to any. */
    readonly localPort?: readonly number[];
}

export interface SshdMatchBlock {
    readonly criteria: SshdMatchCriteria;
    readonly settings: SshdMatchSettings;
}

export interface SshdDirective {
    /** The keyword as sshd_config(5) spells it. */
    readonly keyword: string;
    /** The arguments of each line to write, one line per entry; empty means the directive must be absent. */
    readonly lines: readonly string[];
}

export interface SshdMatchSection {
    /** Everything after `Match ` on the block's first line. */
    readonly condition: string;
    readonly directives: readonly SshdDirective[];
}

export interface ValidatedSshd {
    readonly directives: readonly SshdDirective[];
    readonly match: readonly SshdMatchSection[];
}

type Field = Exclude<keyof SshdSettings, "extra" | "match">;

function nonEmpty(value: unknown, argument: string, fix: string): readonly unknown[] {
    const items = v.list(value, argument);
    if (items.length === 0) throw new DeclarationError(argument, "is an empty list", fix);
    return items;
}

function userList(kind: "allow" | "deny", check: (x: unknown, arg: string) => string) {
    return (value: unknown, arg: string): string[] => {
        if (value === null || (kind === "deny" && Array.isArray(value) && value.length === 0)) return [];
        const items = v.list(value, arg);
        if (items.length === 0) {
            throw new DeclarationError(arg, "is an empty list, which would admit nobody",
                `list at least one pattern, or set ${arg} to null to remove the directive and admit everyone`);
        }
        return [items.map((item, i) => check(item, `${arg}[${i}]`)).join(" ")];
    };
}

const METHODS = /^(publickey|password|hostbased|gssapi-with-mic|keyboard-interactive(:[a-z]+)?)$/;

function methodLists(value: unknown, arg: string): string[] {
    const lists = nonEmpty(value, arg, 'omit authenticationMethods (any one enabled method suffices) or give a list such as ["publickey"]');
    const tokens = lists.map((item, i) => {
        const token = sshdValue(v.text(item, `${arg}[${i}]`), `${arg}[${i}]`);
        if (token === "any" && lists.length === 1) return token;
        const bad = token.split(",").find((method) => !METHODS.test(method));
        if (bad !== undefined) {
            throw new DeclarationError(`${arg}[${i}]`, `"${bad}" is not an authentication method`,
                'join methods from publickey, password, keyboard-interactive, hostbased, gssapi-with-mic with commas, or give ["any"] alone');
        }
        return token;
    });
    return [tokens.join(" ")];
}

function keyFiles(value: unknown, arg: string): string[] {
    const files = nonEmpty(value, arg, 'omit it for the default .ssh/authorized_keys, or give ["none"] to use no key files');
    if (files.length === 1 && files[0] === "none") return ["none"];
    return [files.map((f, i) => v.keysFilePath(f, `${arg}[${i}]`)).join(" ")];
}

/** Each typed field: its keyword and how its value becomes sshd_config arguments, in rendering order. */
const FIELDS: ReadonlyArray<readonly [Field, string, (value: unknown, arg: string) => string[]]> = [
    ["port", "Port", (x, a) => [String(v.integerIn(x, a, 1, 65535, " (sshd_config(5) default 22)"))]],
    ["addressFamily", "AddressFamily", (x, a) => [v.oneOf(x, a, ["any", "inet", "inet6"] as const)]],
    ["listenAddress", "ListenAddress", (x, a) =>
        nonEmpty(x, a, "omit listenAddress to listen on every address, or list at least one address")
            .map((item, i) => v.listenAddress(item, `${a}[${i}]`).token)],
    ["hostKey", "HostKey", (x, a) =>
        nonEmpty(x, a, "omit hostKey to keep the default keys; sshd does not start without one")
            .map((item, i) => v.absolutePath(item, `${a}[${i}]`))],
    ["loginGraceTime", "LoginGraceTime", (x, a) => [v.time(x, a, 1, 3600).token]],
    ["maxStartups", "MaxStartups", (x, a) => [v.maxStartups(x, a).token]],
    ["maxAuthTries", "MaxAuthTries", (x, a) =>
        [String(v.integerIn(x, a, 1, 50, "; each key a client offers uses one try (sshd_config(5) default 6)"))]],
    ["maxSessions", "MaxSessions", (x, a) =>
        [String(v.integerIn(x, a, 1, 1000, "; 0 would refuse every shell (sshd_config(5) default 10)"))]],
    ["permitRootLogin", "PermitRootLogin", (x, a) =>
        [v.oneOf(x, a, ["yes", "no", "prohibit-password", "forced-commands-only"] as const)]],
    ["pubkeyAuthentication", "PubkeyAuthentication", (x, a) => [v.boolean(x, a)]],
    ["passwordAuthentication", "PasswordAuthentication", (x, a) => [v.boolean(x, a)]],
    ["kbdInteractiveAuthentication", "KbdInteractiveAuthentication", (x, a) => [v.boolean(x, a)]],
    ["authenticationMethods", "AuthenticationMethods", methodLists],
    ["authorizedKeysFile", "AuthorizedKeysFile", keyFiles],
    ["strictModes", "StrictModes", (x, a) => [v.boolean(x, a)]],
    ["usePAM", "UsePAM", (x, a) => [v.boolean(x, a)]],
    ["allowUsers", "AllowUsers", userList("allow", v.userPattern)],
    ["denyUsers", "DenyUsers", userList("deny", v.userPattern)],
    ["allowGroups", "AllowGroups", userList("allow", v.groupPattern)],
    ["denyGroups", "DenyGroups", userList("deny", v.groupPattern)],
];

const TYPED_FIELD_NAMES: ReadonlySet<string> = new Set(FIELDS.map(([field]) => field));

/** The typed argument that owns a keyword, if any (lowercase keyword → field name). */
const TYPED_KEYWORDS: ReadonlyMap<string, string> = new Map(FIELDS.map(([f, k]) => [k.toLowerCase(), f]));

const MATCH_FIELDS: ReadonlySet<string> = new Set(["permitRootLogin", "passwordAuthentication", "pubkeyAuthentication",
    "kbdInteractiveAuthentication", "authenticationMethods", "allowUsers", "denyUsers", "allowGroups", "denyGroups",
    "maxAuthTries", "maxSessions", "authorizedKeysFile", "extra"]);

function typedDirectives(settings: Record<string, unknown>, prefix: string, allowed: (field: string) => boolean): SshdDirective[] {
    for (const key of Object.keys(settings)) {
        if (!allowed(key)) {
            const where = prefix === "" ? "" : " in a Match block";
            throw new DeclarationError(`${prefix}${key}`, `is not a setting this module accepts${where}`,
                prefix === "" ? "check the spelling, or pass other sshd_config keywords through extra"
                    : "set it globally; sshd_config(5) lists the keywords a Match block accepts");
        }
    }
    const out: SshdDirective[] = FIELDS.filter(([field]) => settings[field] !== undefined)
        .map(([field, keyword, render]) => ({ keyword, lines: render(settings[field], `${prefix}${field}`) }));
    if (settings.extra !== undefined) out.push(...extraDirectives(settings.extra, `${prefix}extra`, prefix !== ""));
    return out;
}

function extraDirectives(extra: unknown, arg: string, inMatch: boolean): SshdDirective[] {
    if (typeof extra !== "object" || extra === null || Array.isArray(extra)) {
        throw new DeclarationError(arg, "is not an object", 'give keyword → value pairs such as { X11Forwarding: "no" }');
    }
    const seen = new Map<string, string>();
    const out: SshdDirective[] = [];
    for (const [key, value] of Object.entries(extra)) {
        const a = `${arg}.${key}`;
        const lower = key.toLowerCase();
        const keyword = canonicalKeyword(key);
        const refused = RAW_REFUSED.get(lower);
        const typed = TYPED_KEYWORDS.get(lower) ?? TYPED_KEYWORDS.get(ALIASES.get(lower)?.toLowerCase() ?? "");
        if (refused) throw new DeclarationError(a, `is refused: ${refused}`, `remove ${a}`);
        if (typed) throw new DeclarationError(a, `duplicates the typed argument ${typed}`, `set ${typed} instead and remove ${a}`);
        if (ALIASES.has(lower)) {
            throw new DeclarationError(a, `is an old alias of ${ALIASES.get(lower)}`, `use ${arg}.${ALIASES.get(lower)}`);
        }
        if (keyword === undefined) {
            throw new DeclarationError(a, "is not an sshd_config keyword OpenSSH 9.x knows", "check the spelling against sshd_config(5)");
        }
        if (seen.has(lower)) {
            throw new DeclarationError(a, `duplicates ${arg}.${seen.get(lower)} (keywords are case-insensitive)`, "keep one of them");
        }
        if (inMatch && !allowedInMatch(keyword)) {
            throw new DeclarationError(a, "is not allowed in a Match block", "set it globally; sshd_config(5) lists the keywords a Match block accepts");
        }
        seen.set(lower, key);
        const args = typeof value === "string" ? [value] : nonEmpty(value, a, "give a string or a non-empty list of arguments");
        out.push({ keyword, lines: [args.map((x, i) => sshdValue(v.text(x, `${a}[${i}]`), typeof value === "string" ? a : `${a}[${i}]`)).join(" ")] });
    }
    // A fixed order, independent of the caller's key order and of locale, so the rendered text is stable.
    return out.sort((x, y) => (x.keyword < y.keyword ? -1 : x.keyword > y.keyword ? 1 : 0));
}

function crossCheck(s: SshdSettings): void {
    const family = s.addressFamily === "inet" ? 4 : s.addressFamily === "inet6" ? 6 : undefined;
    s.listenAddress?.forEach((item, i) => {
        const parsed = v.listenAddress(item, `listenAddress[${i}]`);
        if (family !== undefined && parsed.family !== family) {
            throw new DeclarationError(`listenAddress[${i}]`,
                `"${item}" is an IPv${parsed.family} address but addressFamily is "${s.addressFamily}", so sshd fails to start ("bad addr or host")`,
                'remove the address or set addressFamily to "any"');
        }
    });
    // hostbased and gssapi-with-mic are switched on through extra; sshd refuses a file whose
    // AuthenticationMethods can only be met by a method that is off ("Disabled method").
    const extraSwitch = (keyword: string): boolean | undefined => {
        const v = Object.entries(s.extra ?? {}).find(([k]) => k.toLowerCase() === keyword.toLowerCase())?.[1];
        return typeof v === "string" ? (v.toLowerCase() === "yes" ? true : v.toLowerCase() === "no" ? false : undefined) : undefined;
    };
    const disabled: Array<[string, boolean | undefined, string, string]> = [
        ["publickey", s.pubkeyAuthentication, "pubkeyAuthentication", "false"],
        ["password", s.passwordAuthentication, "passwordAuthentication", "false"],
        ["keyboard-interactive", s.kbdInteractiveAuthentication, "kbdInteractiveAuthentication", "false"],
        ["hostbased", extraSwitch("HostbasedAuthentication"), "extra.HostbasedAuthentication", "\"no\""],
        ["gssapi-with-mic", extraSwitch("GSSAPIAuthentication"), "extra.GSSAPIAuthentication", "\"no\""],
    ];
    s.authenticationMethods?.forEach((methods, i) => {
        for (const [method, enabled, field, off] of disabled) {
            if (enabled === false && methods.split(",").some((m) => m.split(":")[0] === method)) {
                throw new DeclarationError(`authenticationMethods[${i}]`,
                    `"${methods}" requires ${method} but ${field} is ${off}, so no login can complete this list`,
                    `set ${field} to ${off === "false" ? "true" : '"yes"'} or drop ${method} from the list`);
            }
        }
    });
}

function matchUser(value: unknown, arg: string): string {
    const token = v.userPattern(value, arg);
    if (token.includes("@")) {
        throw new DeclarationError(arg, `"${token}" has an @host part, which Match User does not take`, "move the host to the address or host criterion");
    }
    return token;
}

function hostCriterion(value: unknown, arg: string): string {
    const token = sshdValue(v.text(value, arg), arg);
    return v.hostList(token, arg, token);
}

function matchCondition(criteria: unknown, arg: string): string {
    if (typeof criteria !== "object" || criteria === null) {
        throw new DeclarationError(arg, "is missing", "give at least one of user, group, host, address, localAddress, localPort");
    }
    const c = criteria as Record<string, unknown>;
    const parts: Array<[string, string, (x: unknown, a: string) => string]> = [
        ["user", "User", matchUser],
        ["group", "Group", (x, a) => v.groupPattern(sshdValue(v.text(x, a), a), a)],
        ["host", "Host", hostCriterion],
        ["localAddress", "LocalAddress", hostCriterion],
        ["localPort", "LocalPort", (x, a) => String(v.integerIn(x, a, 1, 65535, ""))],
        ["address", "Address", hostCriterion],
    ];
    const known = new Set(parts.map(([field]) => field));
    const unknown = Object.keys(c).find((key) => !known.has(key));
    if (unknown !== undefined) {
        throw new DeclarationError(`${arg}.${unknown}`, "is not a Match criterion this module writes", "use user, group, host, address, localAddress or localPort");
    }
    const written = parts.filter(([field]) => c[field] !== undefined).map(([field, word, check]) =>
        `${word} ${nonEmpty(c[field], `${arg}.${field}`, "list at least one pattern or omit the criterion")
            .map((x, i) => check(x, `${arg}.${field}[${i}]`)).join(",")}`);
    if (written.length === 0) {
        throw new DeclarationError(arg, "has no criteria", "give at least one of user, group, host, address, localAddress, localPort");
    }
    return written.join(" ");
}

/** Validates settings and returns the directives to write; throws DeclarationError naming the argument and the fix. */
export function validateSshdSettings(settings: SshdSettings): ValidatedSshd {
    const s = settings as unknown as Record<string, unknown>;
    const directives = typedDirectives(s, "", (key) => key === "match" || key === "extra" || TYPED_FIELD_NAMES.has(key));
    crossCheck(settings);
    const match = (settings.match === undefined ? [] : v.list(settings.match, "match")).map((block, i) => {
        const b = (block ?? {}) as Partial<SshdMatchBlock>;
        return {
            condition: matchCondition(b.criteria, `match[${i}].criteria`),
            directives: typedDirectives((b.settings ?? {}) as Record<string, unknown>, `match[${i}].settings.`, (key) => MATCH_FIELDS.has(key)),
        };
    });
    return { directives, match };
}
