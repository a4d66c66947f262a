/**
 * Checks for single values, each returning the token to write into sshd_config. Every check
 * runs the value through `sshdValue` first, then applies the grammar sshd_config(5) gives it.
 */
import { DeclarationError } from "../core/errors";
import { formatIp, type IpAddress, isNetworkAddress, networkAddress, parseIp } from "../core/ip";
import { sshdValue } from "../core/quote";

function fail(argument: string, problem: string, fix: string): never {
    throw new DeclarationError(argument, problem, fix);
}

export function text(value: unknown, argument: string): string {
    if (typeof value !== "string") fail(argument, `is ${describe(value)}, not a string`, "give a string");
    return value;
}

export function list(value: unknown, argument: string): readonly unknown[] {
    if (!Array.isArray(value)) fail(argument, `is ${describe(value)}, not a list`, "give a list of strings");
    return value;
}

export function boolean(value: unknown, argument: string): "yes" | "no" {
    if (typeof value !== "boolean") fail(argument, `is ${describe(value)}, not a boolean`, "give true or false");
    return value ? "yes" : "no";
}

export function integerIn(value: unknown, argument: string, min: number, max: number, why: string): number {
    const fix = `use a whole number from ${min} to ${max}${why}`;
    if (typeof value !== "number") fail(argument, `is ${describe(value)}, not a number`, fix);
    if (!Number.isInteger(value)) fail(argument, `${value} is not a whole number`, fix);
    if (value < min || value > max) fail(argument, `${value} is outside ${min} to ${max}`, fix);
    return value;
}

export function oneOf<T extends string>(value: unknown, argument: string, allowed: readonly T[]): T {
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
        fail(argument, `${JSON.stringify(value)} is not a valid value`, `use one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
    }
    return value as T;
}

function describe(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return "a list";
    return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

function firstOutside(value: string, allowed: RegExp): string | undefined {
    return [...value].find((ch) => !allowed.test(ch));
}

const PATTERN_FIX = "(sshd_config(5) PATTERNS)";
const USER_CHARS = /[A-Za-z0-9._*?-]/;
const GROUP_CHARS = /[A-Za-z0-9._*? -]/;
const HOST_CHARS = /[A-Za-z0-9.*?:-]/;

/** A user pattern with an optional `@host` part: `alice`, `ops-*`, `bob@10.0.0.0/8`, `*@*.example.com`. */
export function userPattern(value: unknown, argument: string): string {
    const token = sshdValue(text(value, argument), argument);
    const at = token.indexOf("@");
    const user = at < 0 ? token : token.slice(0, at);
    const name = user.startsWith("!") ? user.slice(1) : user;
    if (name === "") {
        fail(argument, `"${token}" has an empty user part`, "put a user name or the wildcard * before '@'");
    }
    const bad = firstOutside(name, USER_CHARS);
    if (bad !== undefined) {
        fail(argument, `"${token}" contains '${bad}', which cannot appear in a user name pattern`,
            `use letters, digits, '.', '_', '-' and the wildcards '*' and '?' ${PATTERN_FIX}`);
    }
    if (at >= 0) hostList(token.slice(at + 1), argument, token);
    return token;
}

/** A group name pattern; group names (e.g. from a directory service) may contain spaces. */
export function groupPattern(value: unknown, argument: string): string {
    const raw = text(value, argument);
    const token = sshdValue(raw, argument, { allowSpaces: true });
    const name = raw.startsWith("!") ? raw.slice(1) : raw;
    if (name === "") fail(argument, `"${raw}" negates nothing`, "put a group name after '!'");
    const bad = firstOutside(name, GROUP_CHARS);
    if (bad !== undefined) {
        fail(argument, `"${raw}" contains '${bad}', which cannot appear in a group name pattern`,
            `use letters, digits, spaces, '.', '_', '-' and the wildcards '*' and '?' ${PATTERN_FIX}`);
    }
    return token;
}

/**
 * A comma-separated list of host name patterns, addresses and address/prefix ranges, each may be
 * negated with `!`. `whole` is the value the list came from, for messages.
 */
export function hostList(value: string, argument: string, whole: string): string {
    for (const item of value.split(",")) {
        const entry = item.startsWith("!") ? item.slice(1) : item;
        const where = entry === whole ? `"${entry}"` : `"${entry}" in "${whole}"`;
        if (entry === "") {
            fail(argument, `"${whole}" has an empty host entry`, "put a host pattern or address after each '@', ',' and '!'");
        }
        if (entry.includes("/")) {
            cidr(entry, argument, where);
            continue;
        }
        const bad = firstOutside(entry, HOST_CHARS);
        if (bad !== undefined) {
            fail(argument, `${where} contains '${bad}', which cannot appear in a host pattern or address`,
                "use a host name pattern (letters, digits, '.', '-', '*', '?') or an address/prefix such as 10.0.0.0/8");
        }
    }
    return value;
}

function cidr(entry: string, argument: string, where: string): void {
    const [addressText, prefixText, ...rest] = entry.split("/");
    const ip = parseIp(addressText);
    const bits = ip?.family === 4 ? 32 : 128;
    const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
    if (ip === undefined || rest.length > 0 || prefix < 0 || prefix > bits) {
        fail(argument, `${where} is not an address/prefix`,
            "use an IPv4 or IPv6 address, '/' and a prefix length up to 32 or 128, such as 10.0.0.0/8");
    }
    if (!isNetworkAddress(ip, prefix)) {
        fail(argument, `${where} has address bits set past the /${prefix} prefix, which sshd rejects`,
            `use ${formatIp(networkAddress(ip, prefix))}/${prefix}`);
    }
}

export interface ListenAddress {
    /** The token to write after `ListenAddress`. */
    readonly token: string;
    readonly family: 4 | 6;
    /** The address as sshd -T prints it. */
    readonly canonical: string;
    readonly port?: number;
}

/** `192.0.2.10`, `192.0.2.10:2222`, `2001:db8::1`, `[2001:db8::1]:2222`. Host names are refused. */
export function listenAddress(value: unknown, argument: string): ListenAddress {
    const token = sshdValue(text(value, argument), argument);
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(token) ?? /^([^:]+)(?::(\d+))?$/.exec(token) ?? [token, token];
    const ip = parseIp(m[1]);
    if (ip === undefined) {
        fail(argument, `"${token}" is not an IP address literal`,
            "use an address such as 0.0.0.0, ::, 192.0.2.10:2222 or [2001:db8::1]:2222; a host name would need DNS when sshd starts");
    }
    const port = m[2] === undefined ? undefined : integerIn(Number(m[2]), `${argument} port`, 1, 65535, "");
    return { token, family: ip.family, canonical: printedIp(ip), port };
}

/**
 * An address as sshd -T prints it (glibc's inet_ntop): RFC 5952 text, except that an IPv6 address
 * whose first 96 bits are zero (`::1.2.3.4`, not `::` or `::1`) or that is IPv4-mapped
 * (`::ffff:1.2.3.4`) ends in dotted IPv4, as OpenSSH 9.2 on Debian 12 prints them.
 */
function printedIp(ip: IpAddress): string {
    const high = ip.value >> 32n;
    if (ip.family === 6 && (high === 0n || high === 0xffffn) && (ip.value >> 16n) !== 0n) {
        const v4 = formatIp({ family: 4, value: ip.value & 0xffffffffn });
        return high === 0n ? `::${v4}` : `::ffff:${v4}`;
    }
    return formatIp(ip);
}

const PATH_CHARS = /[A-Za-z0-9._/+@%-]/;

/** An absolute path such as a host key: `/etc/ssh/ssh_host_ed25519_key`. */
export function absolutePath(value: unknown, argument: string): string {
    const token = sshdValue(text(value, argument), argument);
    if (!token.startsWith("/")) fail(argument, `"${token}" is not an absolute path`, "give a path starting with '/'");
    const bad = firstOutside(token, PATH_CHARS);
    if (bad !== undefined || token.split("/").includes("..")) {
        fail(argument, `"${token}" contains '${bad ?? ".."}', which this module does not write into a path`,
            "use letters, digits, '/', '.', '_', '+', '@', '-' and no '..'");
    }
    return token;
}

/** An AuthorizedKeysFile entry: relative to the home directory or absolute, with %%, %h, %U, %u tokens. */
export function keysFilePath(value: unknown, argument: string): string {
    const token = sshdValue(text(value, argument), argument);
    const bad = firstOutside(token, PATH_CHARS);
    if (bad !== undefined) {
        fail(argument, `"${token}" contains '${bad}', which this module does not write into a path`,
            "use letters, digits, '/', '.', '_', '+', '@', '-' and the tokens %%, %h, %U, %u");
    }
    const badToken = /%(?:[^%hUu]|$)/.exec(token.replace(/%%/g, ""));
    if (badToken) {
        fail(argument, `"${token}" contains the unknown token "${badToken[0]}"`,
            "use only %% (a literal %), %h (home directory), %U (uid) and %u (user name) (sshd_config(5) TOKENS)");
    }
    return token;
}

/** An sshd_config(5) TIME FORMAT: seconds as a number, or `90`, `2m`, `1h30m`. */
export function time(value: unknown, argument: string, min: number, max: number): { token: string; seconds: number } {
    const fix = `use seconds from ${min} to ${max}, as a number or in sshd_config(5) TIME FORMATS such as "2m" or "1m30s"`;
    if (typeof value === "number") {
        const seconds = integerIn(value, argument, min, max, "");
        return { token: String(seconds), seconds };
    }
    const token = sshdValue(text(value, argument), argument);
    if (!/^(\d+[sSmMhHdDwW]?)+$/.test(token)) fail(argument, `"${token}" is not a time`, fix);
    const unit: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
    let seconds = 0;
    for (const [, digits, u] of token.matchAll(/(\d+)([a-zA-Z]?)/g)) seconds += Number(digits) * unit[u.toLowerCase()];
    if (seconds < min || seconds > max) fail(argument, `"${token}" is ${seconds} seconds, outside ${min} to ${max}`, fix);
    return { token, seconds };
}

/** MaxStartups: `N`, or `start:rate:full` with 1 <= start <= full and a drop rate of 1 to 100 percent. */
export function maxStartups(value: unknown, argument: string): { token: string; printed: string } {
    const fix = 'use a number of connections such as 10, or "start:rate:full" such as "10:30:100" with start <= full and rate from 1 to 100 (sshd_config(5) MaxStartups)';
    if (typeof value === "number") {
        const n = integerIn(value, argument, 1, 100000, "");
        return { token: String(n), printed: `${n}:30:${n}` };
    }
    const token = sshdValue(text(value, argument), argument);
    const m = /^(\d{1,6}):(\d{1,3}):(\d{1,6})$/.exec(token);
    if (!m) fail(argument, `"${token}" is not a number or start:rate:full`, fix);
    const [start, rate, full] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (start < 1) fail(argument, `"${token}" has start ${start}, below 1`, fix);
    if (start > full) fail(argument, `"${token}" has start ${start} greater than full ${full}`, fix);
    if (rate < 1 || rate > 100) fail(argument, `"${token}" has rate ${rate}, outside 1 to 100 percent`, fix);
    // sshd reads numbers: `010:030:0100` is printed by sshd -T as 10:30:100.
    return { token, printed: `${start}:${rate}:${full}` };
}
