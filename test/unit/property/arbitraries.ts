/**
 * fast-check generators for every value a declaration carries, each either valid (the module
 * must accept it and it must reach the host exactly) or hostile (spaces, quotes, line breaks,
 * `$(…)`, backticks, NUL, lone surrogates, unicode, a leading `-`, very long, wrong types).
 *
 * Seeded and reproducible: every property of `test/unit/property` and `test/e2e/property-sshd.test.ts`
 * runs with `SR_PROPERTY_SEED` (default below); fast-check prints the seed and the path of a
 * failing case, and `SR_PROPERTY_SEED=<seed>` runs the same cases again. `SR_PROPERTY_RUNS` scales
 * the number of cases (e.g. 10 for a long soak).
 */
import fc from "fast-check";
import { formatIp, networkAddress, parseIp } from "../../../components/core/ip";

export const DEFAULT_SEED = 20261203;

export const SEED: number = (() => {
    const raw = process.env.SR_PROPERTY_SEED;
    if (raw === undefined || raw === "") return DEFAULT_SEED;
    const n = Number(raw);
    if (!Number.isInteger(n)) throw new Error(`SR_PROPERTY_SEED must be an integer, got ${JSON.stringify(raw)}`);
    return n;
})();

const SCALE: number = (() => {
    const raw = process.env.SR_PROPERTY_RUNS;
    const n = raw === undefined || raw === "" ? 1 : Number(raw);
    if (!(n > 0)) throw new Error(`SR_PROPERTY_RUNS must be a positive number, got ${JSON.stringify(raw)}`);
    return n;
})();

/** Cases run by every property so far, for the suites' summary lines. */
export const counted = { runs: 0 };

/** fast-check parameters: the run's seed, `numRuns` scaled by SR_PROPERTY_RUNS. */
export function params<T>(numRuns: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
    const n = Math.max(1, Math.round(numRuns * SCALE));
    counted.runs += n;
    return { seed: SEED, numRuns: n, ...extra };
}

/** The same cases a property with this seed and count sees, for batch checks (e.g. one `sh` or one sshd namespace for all). */
export function sample<T>(arb: fc.Arbitrary<T>, numRuns: number): T[] {
    const n = Math.max(1, Math.round(numRuns * SCALE));
    counted.runs += n;
    return fc.sample(arb, { seed: SEED, numRuns: n });
}

// --- hostile text ------------------------------------------------------------------------------

/** Pieces that mean something to a shell, to sshd_config, to hosts_access(5) or to a terminal. */
export const FRAGMENTS: readonly string[] = [
    " ", "  ", "\t", "\n", "\r", "\r\n", "\0", "\f", "\v", "\x7f", "\x1b[31m", "\u0085", "\u2028", "\u00a0", "\ufeff", "\u202e",
    "'", "'\\''", '"', "\\", "\\n", "`", "`id`", "$", "$(reboot)", "${IFS}", "$HOME", "#", "# comment", ";", "|", "&", "&&", ">", "<",
    "*", "?", "[", "]", "{", "}", "!", "~", "-", "--", "-o", "--help", "=", ",", "@", "%", "%h", "%%", "%x", "/", "..", "../", "./", ":",
    ".", "é", "日本", "😀", "\ud800", "\udfff", "Match all", "Match User root", "Include /etc/shadow", "PermitRootLogin yes",
    "\nPermitRootLogin yes", "\r\nMatch all", "root", "ALL", "EXCEPT", "none", "any", "0", "-1", "65536", "1e3", "0x16", " 22", "22 ",
    "a".repeat(300), "x".repeat(4000),
];

const char16 = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Any text, biased towards the pieces above: lone surrogates and NUL included. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...FRAGMENTS) },
    {
        weight: 6,
        arbitrary: fc.array(fc.oneof(
            fc.constantFrom(...FRAGMENTS),
            fc.string({ unit: "grapheme-ascii", maxLength: 6 }),
            fc.string({ unit: "binary", maxLength: 3 }),
        ), { minLength: 1, maxLength: 6 }).map((parts) => parts.join("")),
    },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
    { weight: 1, arbitrary: fc.string({ unit: char16, maxLength: 12 }) },
);

/** A valid-looking text with one hostile piece put in front, inside or after it. */
export function spoiled(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
    return fc.tuple(valid, fc.constantFrom(...FRAGMENTS), fc.nat(), fc.constantFrom("before", "inside", "after"))
        .map(([v, f, at, where]) => {
            if (where === "before") return f + v;
            if (where === "after") return v + f;
            const i = at % (v.length + 1);
            return v.slice(0, i) + f + v.slice(i);
        });
}

/** Values of the wrong type for a field that wants a string, a number, a boolean or a list. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
    fc.constant(null), fc.constant(true), fc.constant(false), fc.constant([]), fc.constant({}),
    fc.integer(), fc.double(), fc.constant(Number.NaN), fc.constant(Infinity), fc.constant(-Infinity),
    fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }), fc.constant({ toString: () => "alice" }),
);

/** Numbers a port, a count or a window must refuse or accept, and numbers in disguise. */
export const hostileNumber: fc.Arbitrary<unknown> = fc.oneof(
    fc.integer({ min: -100_000, max: 200_000 }), fc.double({ min: -1e6, max: 1e6 }),
    fc.constantFrom(0, -0, -1, 1.5, 65536, 65535.5, 2 ** 31, 2 ** 53, Number.NaN, Infinity, -Infinity, 1e21),
    fc.constantFrom("22", " 22", "0x16", "22abc", "", "1e3"), wrongType,
);

/** The value a generator made, and whether the module must accept it ("valid"), must refuse it ("bad") or may do either ("either"). */
export interface Gen<T = unknown> {
    readonly value: T;
    readonly verdict: "valid" | "bad" | "either";
}

export const valid = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<Gen<T>> => arb.map((value) => ({ value, verdict: "valid" as const }));
export const either = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<Gen<T>> => arb.map((value) => ({ value, verdict: "either" as const }));
export const bad = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<Gen<T>> => arb.map((value) => ({ value, verdict: "bad" as const }));

/** Holds a lone surrogate: no UTF-8 text (a script, an argv, a file) can carry it exactly. */
export function hasLoneSurrogate(s: string): boolean {
    return /\p{Surrogate}/u.test(s);
}

/**
 * Text sshd_config cannot carry as one value token: line breaks, controls, quotes, backslash, '#',
 * outer spaces (as JavaScript's trim sees them), NUL, lone surrogates, and a leading '=' (sshd takes
 * it for the separator after the keyword).
 */
export function sshdUnsafe(s: string): boolean {
    return s === "" || /[\x00-\x1f\x7f"'\\#]/.test(s) || s.trim() !== s || hasLoneSurrogate(s) || s.startsWith("=");
}

// --- addresses ---------------------------------------------------------------------------------

export const ipv4 = fc.ipV4();
export const ipv6 = fc.ipV6();
export const ip = fc.oneof(ipv4, ipv6);

/** A network in CIDR form with its host bits zero, in any of the spellings fc.ipV6 makes. */
export const cidr: fc.Arbitrary<string> = fc.oneof(
    fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })),
    fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })),
).map(([a, prefix]) => `${formatIp(networkAddress(parseIp(a)!, prefix))}/${prefix}`);

/** What login.sources, firewall.allow and sshSources take. */
export const source: fc.Arbitrary<string> = fc.oneof(ip, cidr);

/** A CIDR with host bits set, an address out of range, a prefix too long, a host name, a command. */
export const badSource: fc.Arbitrary<string> = fc.oneof(
    fc.tuple(ipv4, fc.integer({ min: 0, max: 31 })).filter(([a, p]) => formatIp(networkAddress(parseIp(a)!, p)) !== formatIp(parseIp(a)!))
        .map(([a, p]) => `${a}/${p}`),
    fc.tuple(ipv4, fc.integer({ min: 33, max: 999 })).map(([a, p]) => `${a}/${p}`),
    fc.tuple(ipv6, fc.integer({ min: 129, max: 999 })).map(([a, p]) => `${a}/${p}`),
    fc.tuple(fc.nat({ max: 999 }), fc.nat({ max: 999 }), fc.nat({ max: 999 }), fc.integer({ min: 256, max: 999 }))
        .map((o) => o.join(".")),
    fc.constantFrom("10.0.0.1/8", "0.0.0.0/-1", "example.com", "localhost", "[::1]", "1.2.3", "1.2.3.4.5", "::1::", "1.2.3.04x",
        "198.51.100.7 ", " 198.51.100.7", "198.51.100.7\n", "198.51.100.7; reboot", "$(reboot)", "ALL", "*", "::ffff:1.2.3.400", ""),
    spoiled(ipv4),
);

// --- names, patterns, paths --------------------------------------------------------------------

/** A login name checkUser accepts: POSIX portable characters, at most 32. */
export const userName: fc.Arbitrary<string> = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,30}\$?$/).filter((u) => u.length <= 32);

/** Not a user name: anything with a character outside the portable set, empty, longer than 32, leading '-' or digit. */
export const badUserName: fc.Arbitrary<string> = fc.oneof(
    spoiled(userName).filter((u) => !/^[a-z_][a-z0-9_.-]*\$?$/i.test(u) || u.length > 32),
    fc.stringMatching(/^[a-z_][a-z0-9_]{32,40}$/),
    fc.constantFrom("", "-alice", "--help", "0day", "al ice", "alice\nPermitRootLogin yes", "$(reboot)", "`id`", "al'ice", 'al"ice',
        "alice\0", "alice#", "ali\\ce", "élise", "alice@host", "ali*", "\ud800"),
);

const patternName = fc.stringMatching(/^[A-Za-z0-9._*?-]{1,12}$/);
const hostPattern = fc.stringMatching(/^[A-Za-z0-9.*?-]{1,16}$/);

/** A comma-separated host list for user@host patterns and Match Host/Address: names, addresses, CIDRs, each maybe negated. */
export const hostList: fc.Arbitrary<string> = fc.array(
    fc.tuple(fc.boolean(), fc.oneof(hostPattern, ip, cidr)).map(([neg, h]) => `${neg ? "!" : ""}${h}`), { minLength: 1, maxLength: 3 },
).map((xs) => xs.join(","));

/** sshd_config(5) user patterns: `alice`, `ops-*`, `!bob`, `bob@10.0.0.0/8`. */
export const userPattern: fc.Arbitrary<string> = fc.tuple(fc.boolean(), patternName, fc.option(hostList, { nil: undefined }))
    .map(([neg, name, host]) => `${neg ? "!" : ""}${name}${host === undefined ? "" : `@${host}`}`);

/** Group patterns, which may hold inner spaces (`domain users`). */
export const groupPattern: fc.Arbitrary<string> = fc.tuple(fc.boolean(), fc.array(patternName, { minLength: 1, maxLength: 3 }), fc.constantFrom(" ", "  "))
    .map(([neg, words, sep]) => `${neg ? "!" : ""}${words.join(sep)}`);

const segment = fc.stringMatching(/^[A-Za-z0-9._+@-]{1,10}$/).filter((s) => s !== ".." && s !== ".");

/** An absolute path of plain characters without `..`. */
export const absolutePath: fc.Arbitrary<string> = fc.array(segment, { minLength: 1, maxLength: 5 }).map((xs) => `/${xs.join("/")}`);

/** AuthorizedKeysFile entries: relative or absolute, with %% %h %u %U. */
export const keysFilePath: fc.Arbitrary<string> = fc.tuple(
    fc.boolean(),
    fc.array(fc.oneof(segment, fc.constantFrom("%h", "%u", "%U", "%%", ".ssh", "authorized_keys")), { minLength: 1, maxLength: 4 }),
).map(([abs, xs]) => `${abs ? "/" : ""}${xs.join("/")}`);

/** A path with a hostile piece: relative, `..`, a line break, spaces, quotes, NUL. */
export const badPath: fc.Arbitrary<string> = fc.oneof(
    spoiled(absolutePath),
    fc.constantFrom("", "relative/path", "./x", "../etc/shadow", "/etc/../etc/shadow", "/etc/ssh/\nPermitRootLogin yes", "/a b", "/a\tb",
        "/a\0b", "/a'b", '/a"b', "/a$(reboot)", "/a`id`", "/é", "/\ud800", "-rf", "~/x"),
);

// --- sshd settings -----------------------------------------------------------------------------

export const port = fc.integer({ min: 1, max: 65535 });

/** `N` or `start:rate:full`, sometimes with leading zeros (sshd reads numbers: `010` is 10). */
export const maxStartups: fc.Arbitrary<number | string> = fc.oneof(
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 100_000 }) },
    { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 1, max: 999_999 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 999_999 })).filter(([s, , extra]) => s + extra <= 999_999)
        .map(([s, r, extra]) => `${s}:${r}:${s + extra}`) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 1, max: 99 }), fc.integer({ min: 0, max: 999 }), fc.integer({ min: 1, max: 2 }))
        .map(([s, r, extra, z]) => `${"0".repeat(z)}${s}:0${r}:${"0".repeat(z)}${s + extra}`) },
);

export const badMaxStartups: fc.Arbitrary<unknown> = fc.oneof(
    fc.constantFrom("abc", "10:30", "10:30:100:5", "0:30:100", "10:0:100", "10:101:100", "100:30:10", "10 :30:100", "10:30:100 ",
        "-1", "1e3", "10:30:1000000", "10:1000:100", "", ":30:100", "10::100", 0, -5, 1.5, 100_001, Number.NaN),
    spoiled(fc.constant("10:30:100")),
    wrongType,
);

/** sshd_config(5) TIME FORMAT between 1 s and 1 h, or seconds as a number. */
export const loginGraceTime: fc.Arbitrary<number | string> = fc.oneof(
    fc.integer({ min: 1, max: 3600 }),
    // Only the last part may go without its unit: "1" + "10m" would read as 110 minutes.
    fc.tuple(fc.array(fc.tuple(fc.integer({ min: 0, max: 59 }), fc.constantFrom("s", "S", "m", "M")), { maxLength: 2 }),
        fc.tuple(fc.integer({ min: 0, max: 59 }), fc.constantFrom("", "s", "m")))
        .map(([init, last]) => [...init, last])
        .map((parts) => ({ parts, seconds: parts.reduce((n, [d, u]) => n + d * (u.toLowerCase() === "m" ? 60 : 1), 0) }))
        .filter((x) => x.seconds >= 1 && x.seconds <= 3600)
        .map((x) => x.parts.map(([d, u]) => `${d}${u}`).join("")),
    fc.constantFrom("1h", "2m", "90", "1m30s"),
);

export const METHODS = ["publickey", "password", "keyboard-interactive", "keyboard-interactive:pam", "hostbased", "gssapi-with-mic"] as const;

export const authenticationMethods: fc.Arbitrary<string[]> = fc.oneof(
    fc.constant(["any"] as string[]),
    fc.array(fc.uniqueArray(fc.constantFrom(...METHODS), { minLength: 1, maxLength: 3 }).map((m) => m.join(",")), { minLength: 1, maxLength: 3 }),
);

/** ListenAddress: an IP literal, with `:port` (IPv4) or `[v6]:port`. */
export const listenAddress: fc.Arbitrary<{ text: string; family: 4 | 6 }> = fc.oneof(
    ipv4.map((a) => ({ text: a, family: 4 as const })),
    fc.tuple(ipv4, port).map(([a, p]) => ({ text: `${a}:${p}`, family: 4 as const })),
    ipv6.map((a) => ({ text: a, family: 6 as const })),
    fc.tuple(ipv6, port).map(([a, p]) => ({ text: `[${a}]:${p}`, family: 6 as const })),
);
