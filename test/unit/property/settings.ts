/**
 * Generators of whole sshd settings (valid, and with hostile fields put in), the verdict each
 * hostile value must get, and the oracle of what sshd must read back from the rendered file.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { isDeclarationError } from "../../../components/core/errors";
import type { SshdMatchBlock, SshdSettings } from "../../../components/sshd-config/validate";
import { MATCH_KEYWORDS, SERVER_KEYWORDS } from "../../../components/sshd-config/keywords";
import {
    absolutePath, authenticationMethods, badMaxStartups, badPath, badUserName, cidr, groupPattern, hostileNumber,
    hostileString, hostList, ip, keysFilePath, listenAddress, loginGraceTime, maxStartups, port, spoiled, sshdUnsafe,
    userPattern, wrongType,
} from "./arbitraries";
import type { SshdLine } from "./oracles";

export type Verdict = "valid" | "bad" | "either";

/** One field of a declaration made hostile: where it sits, what it got, the verdict it must get. */
export interface Injection {
    /** The argument's path under the settings (`maxStartups`, `extra.Banner`, `match[0].criteria.user`). */
    readonly path: string;
    readonly value: unknown;
    readonly verdict: Verdict;
    /** Whether the value is still in the settings (a later injection may have replaced its field). */
    readonly live?: (s: Record<string, unknown>) => boolean;
}

// --- verdicts --------------------------------------------------------------------------------------

const intIn = (min: number, max: number) => (v: unknown): Verdict =>
    (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? "valid" : "bad");
const oneOf = (xs: readonly unknown[]) => (v: unknown): Verdict => (xs.includes(v) ? "valid" : "bad");
const bool = (v: unknown): Verdict => (typeof v === "boolean" ? "valid" : "bad");

/** A string that is one sshd token: anything else is bad; the grammar of the field decides the rest ("either"). */
const token = (allowSpaces: boolean, extra?: (s: string) => boolean) => (v: unknown): Verdict => {
    if (typeof v !== "string" || sshdUnsafe(v) || (!allowSpaces && v.includes(" "))) return "bad";
    return extra && extra(v) ? "bad" : "either";
};

const list = (item: (v: unknown) => Verdict, empty: Verdict, nullable: Verdict | undefined = undefined) => (v: unknown): Verdict => {
    if (v === null && nullable !== undefined) return nullable;
    if (!Array.isArray(v)) return "bad";
    if (v.length === 0) return empty;
    const verdicts = v.map(item);
    return verdicts.includes("bad") ? "bad" : verdicts.every((x) => x === "valid") ? "valid" : "either";
};

const outside = (re: RegExp) => (s: string) => [...s].some((c) => !re.test(c));
const userPart = (s: string) => s.split("@")[0].replace(/^!/, "");
const userVerdict = token(false, (s) => userPart(s) === "" || outside(/[A-Za-z0-9._*?-]/)(userPart(s)));
const groupVerdict = token(true, (s) => s.replace(/^!/, "") === "" || outside(/[A-Za-z0-9._*? -]/)(s.replace(/^!/, "")));
const pathVerdict = (absolute: boolean) => token(false, (s) => (absolute && !s.startsWith("/")) || outside(/[A-Za-z0-9._/+@%-]/)(s)
    || (absolute && s.split("/").includes("..")));

const stringOr = (n: (v: unknown) => Verdict, s: (v: unknown) => Verdict) => (v: unknown): Verdict =>
    (typeof v === "number" ? n(v) : s(v));

// --- the typed fields ----------------------------------------------------------------------------

interface FieldSpec {
    readonly field: keyof SshdSettings;
    /** sshd_config's keyword, lowercase. */
    readonly keyword: string;
    /** Accepted inside a Match block. */
    readonly inMatch: boolean;
    readonly valid: fc.Arbitrary<unknown>;
    readonly hostile: fc.Arbitrary<unknown>;
    readonly verdict: (v: unknown) => Verdict;
}

/** A list with one hostile item among valid ones. */
function listWith(validItem: fc.Arbitrary<unknown>, hostileItem: fc.Arbitrary<unknown>): fc.Arbitrary<unknown[]> {
    return fc.tuple(fc.array(validItem, { maxLength: 3 }), hostileItem, fc.nat())
        .map(([xs, h, at]) => [...xs.slice(0, at % (xs.length + 1)), h, ...xs.slice(at % (xs.length + 1))]);
}

const boolField = (field: keyof SshdSettings, keyword: string, inMatch: boolean): FieldSpec => ({
    field, keyword, inMatch, valid: fc.boolean(), hostile: fc.oneof(wrongType, fc.constantFrom("yes", "no", "true", 1, 0)), verdict: bool,
});

const hostileText = fc.oneof(hostileString, spoiled(fc.constantFrom("alice", "ops", "/etc/ssh/key", "10:30:100", "2m", "publickey")));

export const FIELDS: readonly FieldSpec[] = [
    { field: "port", keyword: "port", inMatch: false, valid: port, hostile: hostileNumber, verdict: intIn(1, 65535) },
    {
        field: "addressFamily", keyword: "addressfamily", inMatch: false, valid: fc.constantFrom("any", "inet", "inet6"),
        hostile: fc.oneof(hostileText, wrongType, fc.constantFrom("INET", "inet4", "ipv6", " any")), verdict: oneOf(["any", "inet", "inet6"]),
    },
    {
        field: "listenAddress", keyword: "listenaddress", inMatch: false, valid: fc.array(listenAddress.map((a) => a.text), { minLength: 1, maxLength: 3 }),
        hostile: fc.oneof(fc.constant([]), wrongType, listWith(listenAddress.map((a) => a.text),
            fc.oneof(hostileText, fc.constantFrom("localhost", "example.com:22", "1.2.3.4:0", "1.2.3.4:65536", "[::1]:x", "[1.2.3.4", "0.0.0.0 ")))),
        verdict: list(token(false), "bad"),
    },
    {
        field: "hostKey", keyword: "hostkey", inMatch: false, valid: fc.array(absolutePath, { minLength: 1, maxLength: 3 }),
        hostile: fc.oneof(fc.constant([]), wrongType, listWith(absolutePath, fc.oneof(badPath, hostileText))), verdict: list(pathVerdict(true), "bad"),
    },
    {
        field: "loginGraceTime", keyword: "logingracetime", inMatch: false, valid: loginGraceTime,
        hostile: fc.oneof(hostileNumber, hostileText, fc.constantFrom("0", "0s", "3601", "61m", "1h1s", "1d", "2x", "m", "")),
        verdict: stringOr(intIn(1, 3600), token(false)),
    },
    {
        field: "maxStartups", keyword: "maxstartups", inMatch: false, valid: maxStartups, hostile: fc.oneof(badMaxStartups, hostileText),
        verdict: stringOr(intIn(1, 100_000), token(false)),
    },
    { field: "maxAuthTries", keyword: "maxauthtries", inMatch: true, valid: fc.integer({ min: 1, max: 50 }), hostile: hostileNumber, verdict: intIn(1, 50) },
    { field: "maxSessions", keyword: "maxsessions", inMatch: true, valid: fc.integer({ min: 1, max: 1000 }), hostile: hostileNumber, verdict: intIn(1, 1000) },
    {
        field: "permitRootLogin", keyword: "permitrootlogin", inMatch: true,
        valid: fc.constantFrom("yes", "no", "prohibit-password", "forced-commands-only"),
        hostile: fc.oneof(hostileText, wrongType, fc.constantFrom("without-password", "YES", "yes\nMatch all")),
        verdict: oneOf(["yes", "no", "prohibit-password", "forced-commands-only"]),
    },
    boolField("pubkeyAuthentication", "pubkeyauthentication", true),
    boolField("passwordAuthentication", "passwordauthentication", true),
    boolField("kbdInteractiveAuthentication", "kbdinteractiveauthentication", true),
    {
        field: "authenticationMethods", keyword: "authenticationmethods", inMatch: true, valid: authenticationMethods,
        hostile: fc.oneof(fc.constant([]), wrongType, fc.constant(["any", "publickey"]), listWith(fc.constant("publickey"),
            fc.oneof(hostileText, fc.constantFrom("publickey,", ",password", "publickey password", "pubkey", "keyboard-interactive:", "none")))),
        verdict: list(token(false), "bad"),
    },
    {
        field: "authorizedKeysFile", keyword: "authorizedkeysfile", inMatch: true,
        valid: fc.oneof(fc.constant(["none"]), fc.array(keysFilePath, { minLength: 1, maxLength: 3 })),
        hostile: fc.oneof(fc.constant([]), wrongType, listWith(keysFilePath, fc.oneof(badPath, hostileText, fc.constantFrom("%x/keys", "keys%", "%d")))),
        verdict: list(pathVerdict(false), "bad"),
    },
    boolField("strictModes", "strictmodes", false),
    boolField("usePAM", "usepam", false),
    {
        field: "allowUsers", keyword: "allowusers", inMatch: true,
        valid: fc.oneof(fc.constant(null), fc.array(userPattern, { minLength: 1, maxLength: 4 })),
        hostile: fc.oneof(fc.constant([]), wrongType, listWith(userPattern, fc.oneof(badUserName, hostileText,
            fc.constantFrom("alice@", "@host", "alice@host name", "alice@10.0.0.1/8", "alice@", "alice@,", "!", "alice@!")))),
        verdict: list(userVerdict, "bad", "valid"),
    },
    {
        field: "denyUsers", keyword: "denyusers", inMatch: true,
        valid: fc.oneof(fc.constant(null), fc.constant([]), fc.array(userPattern, { minLength: 1, maxLength: 4 })),
        hostile: fc.oneof(wrongType, listWith(userPattern, fc.oneof(badUserName, hostileText))),
        verdict: list(userVerdict, "valid", "valid"),
    },
    {
        field: "allowGroups", keyword: "allowgroups", inMatch: true,
        valid: fc.oneof(fc.constant(null), fc.array(groupPattern, { minLength: 1, maxLength: 4 })),
        hostile: fc.oneof(fc.constant([]), wrongType, listWith(groupPattern, fc.oneof(hostileText, fc.constantFrom(" ops", "ops ", "!", "domain\tusers")))),
        verdict: list(groupVerdict, "bad", "valid"),
    },
    {
        field: "denyGroups", keyword: "denygroups", inMatch: true,
        valid: fc.oneof(fc.constant(null), fc.constant([]), fc.array(groupPattern, { minLength: 1, maxLength: 4 })),
        hostile: fc.oneof(wrongType, listWith(groupPattern, hostileText)),
        verdict: list(groupVerdict, "valid", "valid"),
    },
];

// --- free-form settings (`extra`) ----------------------------------------------------------------

const TYPED = new Set(FIELDS.map((f) => f.keyword));
const ALIAS_OF: Readonly<Record<string, string>> = {
    challengeresponseauthentication: "kbdinteractiveauthentication",
    pubkeyacceptedkeytypes: "pubkeyacceptedalgorithms",
    hostbasedacceptedkeytypes: "hostbasedacceptedalgorithms",
    dsaauthentication: "pubkeyauthentication",
};
/** The keywords `extra` may set, globally and inside a Match block. */
export const EXTRA_KEYWORDS = SERVER_KEYWORDS.filter((k) => !TYPED.has(k.toLowerCase()) && !["include", "match"].includes(k.toLowerCase()));
export const EXTRA_MATCH_KEYWORDS = MATCH_KEYWORDS.filter((k) => !TYPED.has(k.toLowerCase()));

/** sshd_config keywords are case-insensitive: any spelling of one. */
const spelled = (keywords: readonly string[]) => fc.tuple(fc.constantFrom(...keywords), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }))
    .map(([k, up]) => [...k].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(""));

const extraToken = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9._/:@%+,*?!-][A-Za-z0-9._/:@%+,*?!=-]{0,11}$/),
    fc.constantFrom("$(reboot)", "`id`", ";reboot", "|x", "a&b", "é", "日本", "😀", "~root", "-o", "--", "*", "a=b", "%h", "x\u00a0y", "x\u2028y"),
);
const extraValue: fc.Arbitrary<string | string[]> = fc.oneof(extraToken, fc.array(extraToken, { minLength: 1, maxLength: 3 }));

function extraOf(keywords: readonly string[]): fc.Arbitrary<Record<string, string | string[]>> {
    return fc.uniqueArray(fc.tuple(spelled(keywords), extraValue), { selector: ([k]) => k.toLowerCase(), maxLength: 4 })
        .map((pairs) => Object.fromEntries(pairs));
}

/** One hostile `extra` entry: a keyword that is no keyword, refused, an alias, typed, a duplicate; or a hostile value. */
function hostileExtra(keywords: readonly string[], inMatch: boolean): fc.Arbitrary<{ key: string; value: unknown; verdict: Verdict; dup?: string }> {
    const keyVerdict = (k: string): Verdict => {
        const lower = k.toLowerCase();
        if (["include", "match"].includes(lower) || TYPED.has(lower) || lower in ALIAS_OF) return "bad";
        if (!SERVER_KEYWORDS.some((x) => x.toLowerCase() === lower)) return "bad";
        if (inMatch && !MATCH_KEYWORDS.some((x) => x.toLowerCase() === lower)) return "bad";
        return "valid";
    };
    return fc.oneof(
        // A hostile key.
        fc.tuple(fc.oneof(hostileString, spelled(SERVER_KEYWORDS), fc.constantFrom("Include", "MATCH", "match", "ChallengeResponseAuthentication",
            "PubkeyAcceptedKeyTypes", "DSAAuthentication", "Port", "permitrootlogin", "X11Forwarding\nPermitRootLogin", "PermitRootLogin yes",
            "__proto__", "constructor", "toString", "X11Forwarding ", "#X11Forwarding")), extraValue)
            .map(([key, value]) => ({ key, value, verdict: keyVerdict(key) === "bad" ? "bad" as const : "valid" as const })),
        // A hostile value under a good key.
        fc.tuple(spelled(keywords), fc.oneof(hostileText, wrongType, fc.constant([]), listWith(extraToken, hostileText)))
            .map(([key, value]) => ({ key, value, verdict: extraValueVerdict(value) })),
        // The same keyword twice, spelled differently.
        fc.tuple(fc.constantFrom(...keywords), extraValue).map(([key, value]) => ({ key: key.toUpperCase(), value, verdict: "bad" as const, dup: key.toLowerCase() })),
    );
}

function extraValueVerdict(v: unknown): Verdict {
    if (typeof v === "string") return token(false)(v);
    return list(token(false), "bad")(v);
}

// --- Match blocks ------------------------------------------------------------------------------

const matchCriteria = fc.record({
    user: fc.array(userPattern.filter((u) => !u.includes("@")), { minLength: 1, maxLength: 3 }),
    group: fc.array(groupPattern.filter((g) => !g.includes(" ")), { minLength: 1, maxLength: 2 }),
    host: fc.array(fc.oneof(hostList, ip), { minLength: 1, maxLength: 2 }),
    address: fc.array(fc.oneof(hostList, cidr), { minLength: 1, maxLength: 2 }),
    localAddress: fc.array(ip, { minLength: 1, maxLength: 2 }),
    localPort: fc.array(port, { minLength: 1, maxLength: 2 }),
}, { requiredKeys: [] }).filter((c) => Object.keys(c).length > 0);

export const CRITERIA_ORDER = [["user", "User"], ["group", "Group"], ["host", "Host"], ["localAddress", "LocalAddress"], ["localPort", "LocalPort"],
    ["address", "Address"]] as const;

// --- whole settings ------------------------------------------------------------------------------

export interface GeneratedSettings {
    readonly settings: SshdSettings;
    readonly injections: readonly Injection[];
}

/** Valid settings: each typed field maybe, consistent across fields, `extra`, and Match blocks when `withMatch`. */
export function validSettings(opts: { withMatch: boolean; fields?: readonly FieldSpec[]; extra?: fc.Arbitrary<Record<string, string | string[]>> }):
    fc.Arbitrary<SshdSettings> {
    const fields = opts.fields ?? FIELDS;
    const typed = fc.record(Object.fromEntries(fields.map((f) => [f.field, f.valid])) as Record<string, fc.Arbitrary<unknown>>, { requiredKeys: [] });
    const matchSettings = fc.record(Object.fromEntries(fields.filter((f) => f.inMatch).map((f) => [f.field, f.valid])) as Record<string, fc.Arbitrary<unknown>>,
        { requiredKeys: [] });
    const block: fc.Arbitrary<SshdMatchBlock> = fc.tuple(matchCriteria, matchSettings, extraOf(EXTRA_MATCH_KEYWORDS))
        .map(([criteria, s, extra]) => ({ criteria, settings: consistent({ ...s, ...(Object.keys(extra).length ? { extra } : {}) }) as SshdMatchBlock["settings"] }));
    return fc.tuple(typed, opts.extra ?? extraOf(EXTRA_KEYWORDS), opts.withMatch ? fc.array(block, { maxLength: 2 }) : fc.constant([]))
        .map(([t, extra, match]) => consistent({
            ...t, ...(Object.keys(extra).length ? { extra } : {}), ...(match.length ? { match } : {}),
        }) as SshdSettings);
}

/** Drops what the module refuses across fields: a listen address of the other family, a method list needing a disabled method. */
function consistent(s: Record<string, unknown>): Record<string, unknown> {
    const out = { ...s };
    const family = out.addressFamily === "inet" ? 4 : out.addressFamily === "inet6" ? 6 : undefined;
    if (family !== undefined && Array.isArray(out.listenAddress)) {
        const kept = (out.listenAddress as string[]).filter((a) => (a.startsWith("[") || a.split(":").length > 2 ? 6 : 4) === family);
        if (kept.length === 0) delete out.listenAddress;
        else out.listenAddress = kept;
    }
    // Replace mode's defaults switch password and keyboard-interactive off, and sshd's own hostbased and
    // gssapi-with-mic: a list needing them must switch them on.
    const extraOn = (k: string) => Object.entries((out.extra ?? {}) as Record<string, unknown>)
        .some(([key, v]) => key.toLowerCase() === k && typeof v === "string" && v.toLowerCase() === "yes");
    const off = [["publickey", out.pubkeyAuthentication !== false], ["password", out.passwordAuthentication === true],
        ["keyboard-interactive", out.kbdInteractiveAuthentication === true], ["hostbased", extraOn("hostbasedauthentication")],
        ["gssapi-with-mic", extraOn("gssapiauthentication")]].filter(([, on]) => !on).map(([m]) => m);
    if (Array.isArray(out.authenticationMethods)) {
        const kept = (out.authenticationMethods as string[]).filter((l) => !l.split(",").some((m) => off.includes(m.split(":")[0])));
        if (kept.length === 0 || (kept.includes("any") && kept.length > 1)) delete out.authenticationMethods;
        else out.authenticationMethods = kept;
    }
    return out;
}

/**
 * Valid settings with 1 to 3 fields made hostile: typed fields, `extra` entries, Match criteria.
 * Each injection records the path it sits at and the verdict its value must get.
 */
export function hostileSettings(opts: { withMatch: boolean }): fc.Arbitrary<GeneratedSettings> {
    const injection: fc.Arbitrary<(s: Record<string, unknown>) => Injection> = fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...FIELDS).chain((f) => f.hostile.map((value) => (s: Record<string, unknown>) => {
            s[f.field] = value;
            // A listen address and the family, and a method list and the methods, are judged together.
            if (f.field === "listenAddress" || f.field === "addressFamily") delete s[f.field === "listenAddress" ? "addressFamily" : "listenAddress"];
            if (["authenticationMethods", "pubkeyAuthentication", "passwordAuthentication", "kbdInteractiveAuthentication"].includes(f.field)) {
                for (const g of ["authenticationMethods", "pubkeyAuthentication", "passwordAuthentication", "kbdInteractiveAuthentication"]) {
                    if (g !== f.field) delete s[g];
                }
            }
            return { path: f.field, value, verdict: f.verdict(value), live: (x: Record<string, unknown>) => Object.is(x[f.field], value) };
        })) },
        { weight: 3, arbitrary: hostileExtra(EXTRA_KEYWORDS, false).map((h) => (s: Record<string, unknown>) => {
            // Entries of an earlier extra kept only if they are values (a wholesale hostile object's methods are not).
            const extra: Record<string, unknown> = typeof s.extra === "object" && s.extra !== null && !Array.isArray(s.extra)
                ? Object.fromEntries(Object.entries(s.extra).filter(([, v]) => typeof v !== "function")) : {};
            for (const k of Object.keys(extra)) if (k.toLowerCase() === h.key.toLowerCase()) delete extra[k];
            if (h.dup !== undefined) extra[h.dup] = "x";
            Object.defineProperty(extra, h.key, { value: h.value, enumerable: true, configurable: true, writable: true });
            s.extra = extra;
            const dup = h.dup;
            return {
                path: "extra", value: h.value, verdict: h.verdict,
                live: (x: Record<string, unknown>) => typeof x.extra === "object" && x.extra !== null && Object.is(Object.getOwnPropertyDescriptor(x.extra, h.key)?.value, h.value)
                    && (dup === undefined || Object.prototype.hasOwnProperty.call(x.extra, dup)),
            };
        }) },
        { weight: 1, arbitrary: fc.oneof(wrongType, fc.constant("X11Forwarding no")).map((value) => (s: Record<string, unknown>) => {
            s.extra = value;
            // An empty object declares nothing; anything else here is no keyword → value map.
            const empty = typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
            return { path: "extra", value, verdict: (empty ? "valid" : "bad") as Verdict, live: (x: Record<string, unknown>) => Object.is(x.extra, value) };
        }) },
        { weight: 1, arbitrary: fc.oneof(hostileString, fc.constantFrom("Port", "Match", "extraa", "PermitRootLogin", "__proto__")).map((key) => (s: Record<string, unknown>) => {
            // A setting this module does not know (a misspelt field).
            if (FIELDS.some((f) => f.field === key) || key === "extra" || key === "match") return { path: key, value: undefined, verdict: "valid" as Verdict };
            Object.defineProperty(s, key, { value: "yes", enumerable: true, configurable: true, writable: true });
            return { path: key, value: "yes", verdict: "bad" as Verdict, live: (x: Record<string, unknown>) => Object.prototype.hasOwnProperty.call(x, key) };
        }) },
    );
    const matchInjection: fc.Arbitrary<(s: Record<string, unknown>) => Injection> = fc.oneof(
        fc.tuple(fc.constantFrom(...CRITERIA_ORDER.map(([k]) => k)), fc.oneof(fc.constant([]), wrongType, listWith(fc.constant("x"),
            fc.oneof(hostileText, fc.constantFrom("a b", "alice@host", "a,b", "!", "10.0.0.1/8", "1.2.3.4/33", "0", 70000, "22")))))
            .map(([criterion, value]) => (s: Record<string, unknown>) => {
                const m = [{ criteria: { [criterion]: value }, settings: { maxAuthTries: 3 } }];
                s.match = m;
                return { path: "match[0].criteria", value, verdict: matchCriterionVerdict(criterion, value), live: (x: Record<string, unknown>) => x.match === m };
            }),
        fc.oneof(wrongType, fc.constant({}), fc.constant({ User: ["alice"] })).map((criteria) => (s: Record<string, unknown>) => {
            const m = [{ criteria, settings: {} }];
            s.match = m;
            return { path: "match[0].criteria", value: criteria, verdict: "bad" as Verdict, live: (x: Record<string, unknown>) => x.match === m };
        }),
        fc.constantFrom(...FIELDS.filter((f) => !f.inMatch)).map((f) => (s: Record<string, unknown>) => {
            const m = [{ criteria: { user: ["alice"] }, settings: { [f.field]: f.field === "port" ? 22 : "x" } }];
            s.match = m;
            return { path: "match[0].settings", value: f.field, verdict: "bad" as Verdict, live: (x: Record<string, unknown>) => x.match === m };
        }),
        hostileExtra(EXTRA_MATCH_KEYWORDS, true).map((h) => (s: Record<string, unknown>) => {
            const extra: Record<string, unknown> = {};
            if (h.dup !== undefined) extra[h.dup] = "x";
            Object.defineProperty(extra, h.key, { value: h.value, enumerable: true, configurable: true, writable: true });
            const m = [{ criteria: { user: ["alice"] }, settings: { extra } }];
            s.match = m;
            return { path: "match[0].settings.extra", value: h.value, verdict: h.verdict, live: (x: Record<string, unknown>) => x.match === m };
        }),
    );
    return fc.tuple(validSettings({ withMatch: opts.withMatch }), fc.array(opts.withMatch ? fc.oneof(injection, matchInjection) : injection,
        { minLength: 1, maxLength: 3 }))
        .map(([s, injections]) => {
            const copy: Record<string, unknown> = { ...s };
            const done = injections.map((inject) => inject(copy));
            // A later injection may have replaced an earlier one's field: keep those still in place.
            return { settings: copy as SshdSettings, injections: done.filter((d) => d.live === undefined || d.live(copy)) };
        });
}

function matchCriterionVerdict(criterion: string, v: unknown): Verdict {
    if (criterion === "localPort") return list(intIn(1, 65535), "bad")(v);
    if (criterion === "user") return list(token(false, (s) => s.includes("@") || s.includes(",") || userVerdict(s) === "bad"), "bad")(v);
    if (criterion === "group") return list(token(false, (s) => s.includes(",") || groupVerdict(s) === "bad"), "bad")(v);
    return list(token(false), "bad")(v);
}

// --- what sshd must read back ----------------------------------------------------------------------

const keywordOf = new Map(FIELDS.map((f) => [f.field as string, f.keyword]));

/**
 * The argument lists sshd must read for each declared keyword (lowercase), one per line, in
 * order; null where the directive must be absent. Written from the declaration alone.
 */
export function expectedDirectives(s: SshdSettings): Map<string, string[][] | null> {
    const out = new Map<string, string[][] | null>();
    for (const [field, value] of Object.entries(s)) {
        if (value === undefined || field === "match" || field === "extra") continue;
        const kw = keywordOf.get(field)!;
        if (["listenAddress", "hostKey"].includes(field)) out.set(kw, (value as string[]).map((x) => [x]));
        else if (["allowUsers", "allowGroups", "denyUsers", "denyGroups"].includes(field)) {
            out.set(kw, value === null || (value as string[]).length === 0 ? null : [[...(value as string[])]]);
        } else if (Array.isArray(value)) out.set(kw, [[...value]]);
        else if (typeof value === "boolean") out.set(kw, [[value ? "yes" : "no"]]);
        else out.set(kw, [[String(value)]]);
    }
    for (const [k, v] of Object.entries(s.extra ?? {})) out.set(k.toLowerCase(), [typeof v === "string" ? [v] : [...v]]);
    return out;
}

/** The Match line's arguments sshd must read: each criterion's word and its patterns joined by commas. */
export function expectedCondition(b: SshdMatchBlock): string[] {
    const c = b.criteria as Record<string, unknown[] | undefined>;
    return CRITERIA_ORDER.filter(([k]) => c[k] !== undefined).flatMap(([k, word]) => [word, c[k]!.map(String).join(",")]);
}

/** A line's keyword as sshd takes it: an old alias is the keyword it stands for. */
export function canonical(keyword: string): string {
    return ALIAS_OF[keyword] ?? keyword;
}

/** Checks the directives sshd reads from `lines` (one block, or the global part) against the declaration. */
export function assertDirectives(lines: readonly SshdLine[], s: SshdSettings, where: string): void {
    for (const [kw, want] of expectedDirectives(s)) {
        const got = lines.filter((l) => canonical(l.keyword) === kw).map((l) => [...l.args]);
        assert.deepEqual(got, want ?? [], `${where}: sshd reads ${kw} as ${JSON.stringify(got)}, declared ${JSON.stringify(want)}`);
    }
}


// --- verdicts on the module's answer ----------------------------------------------------------------

/** `path` names `inner` or an argument inside it (`allowUsers` → `allowUsers[1]`, `extra` → `extra.Banner`). */
export function within(path: string, inner: string): boolean {
    return path === inner || path.startsWith(`${inner}.`) || path.startsWith(`${inner}[`) || path.startsWith(`${inner} `);
}

/**
 * The module refused: it must be a DeclarationError whose message starts with its argument,
 * which is one of the injected (not valid) values' paths, under `prefix`; and it must have a fix.
 */
export function assertRefusal(e: unknown, injections: readonly Injection[], prefix = "", errorArgument?: (e: unknown) => string): void {
    const argument = errorArgument ? errorArgument(e) : isDeclarationError(e) ? e.argument : undefined;
    if (argument === undefined) throw e;
    const message = (e as Error).message;
    assert.ok(message.startsWith(`${argument}: `), `the message does not start with its argument ${argument}: ${message}`);
    assert.match(message, /\. Fix: ./, `no fix: ${message}`);
    const blamed = injections.filter((i) => i.verdict !== "valid");
    assert.ok(blamed.length > 0, `refused a declaration with no hostile value: ${message}`);
    assert.ok(blamed.some((i) => within(argument, `${prefix}${i.path}`)),
        `refused naming ${argument}, which is none of the hostile values' arguments (${blamed.map((i) => `${prefix}${i.path}`).join(", ")}): ${message}`);
}

/** The module accepted: no injected value may be one that must be refused. */
export function assertAcceptable(injections: readonly Injection[]): void {
    const bad = injections.filter((i) => i.verdict === "bad");
    assert.deepEqual(bad.map((i) => [i.path, i.value]), [], "accepted a value that must be refused");
}
